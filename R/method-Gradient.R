#' Vanilla Gradient and Gradient x Input
#'
#' @description
#' The gradient of the model output with respect to the input,
#' \eqn{\partial f(x)_j / \partial x_i}, for every selected output node `j`: how
#' sensitive the prediction is to each input feature. With `times_input = TRUE` the
#' gradient is multiplied by the input (Gradient x Input), which decomposes the
#' output of linear models exactly.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @template param-verbose
#' @template param-dtype
#' @param times_input (`logical(1)`)\cr Multiply the gradients by the input
#'   (Gradient x Input). Default `FALSE`.
#' @references
#' K. Simonyan et al. (2014) *Deep inside convolutional networks: Visualising image
#' classification models and saliency maps.* ICLR 2014, Workshop Proceedings.
#' @family methods
#' @examples
#' # a small model in innsight's list format: 3 inputs, 4 hidden units, 2 outputs
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' grad <- Gradient$new(conv, x)
#' get_result(grad)
#' # Gradient x Input, with the helper
#' run_grad(conv, x, times_input = TRUE)
#' @export
Gradient <- R6::R6Class("Gradient",
  inherit = GradientBased,
  public = list(
    #' @description Compute the gradients.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, times_input = FALSE, verbose = interactive(),
                          dtype = "float") {
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data")
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       times_input, verbose, dtype)
      private$run(list(method = "gradient", times_input = times_input))
    }
  ),
  private = list(
    method_name = "Gradient",
    print_fields = function() list(times_input = if (self$times_input) "TRUE (Gradient x Input)" else "FALSE (Vanilla Gradient)")
  )
)
