#' SmoothGrad and SmoothGrad x Input
#'
#' @description
#' SmoothGrad averages the gradient over `n` noisy copies of each instance,
#' \eqn{x + \epsilon} with \eqn{\epsilon \sim N(0, \sigma^2)}, which removes much of
#' the visual noise of vanilla gradients. The noise scale is
#' `noise_level * (max(x_i) - min(x_i))` per instance and input layer (as in the
#' paper; the original package used one range for the whole batch). With
#' `times_input = TRUE` each gradient is multiplied by its noisy input.
#' The noise is drawn from a seed taken from R's generator, so `set.seed()`
#' makes results reproducible.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @template param-verbose
#' @template param-dtype
#' @param times_input (`logical(1)`)\cr Multiply the gradients by the (noisy)
#'   input. Default `FALSE`.
#' @param n (`integer(1)`)\cr Number of noisy copies per instance. Default 50.
#' @param noise_level (`numeric(1)`)\cr Standard deviation of the noise relative
#'   to each instance's value range. Default 0.1.
#' @references
#' D. Smilkov et al. (2017) *SmoothGrad: removing noise by adding noise.*
#' CoRR, abs/1706.03825
#' @family methods
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "tanh", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' set.seed(1)
#' sg <- SmoothGrad$new(conv, x, n = 20)
#' get_result(sg)
#' run_smoothgrad(conv, x, times_input = TRUE, noise_level = 0.2)
#' @export
SmoothGrad <- R6::R6Class("SmoothGrad",
  inherit = GradientBased,
  public = list(
    #' @field n Number of noisy copies per instance.
    n = NULL,
    #' @field noise_level Relative noise scale.
    noise_level = NULL,

    #' @description Compute SmoothGrad.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, times_input = FALSE, n = 50, noise_level = 0.1,
                          verbose = interactive(), dtype = "float") {
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data")
      self$n <- check_count(n, "n")
      check_number(noise_level, "noise_level", min = 0)
      self$noise_level <- noise_level
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       times_input, verbose, dtype)
      private$run(list(method = "smooth_grad", times_input = times_input, n = self$n,
                       noise_level = noise_level, seed = draw_seed()))
    }
  ),
  private = list(
    method_name = "SmoothGrad",
    print_fields = function() list(n = self$n, noise_level = self$noise_level, times_input = self$times_input)
  )
)

# A seed for the Rust generator, drawn from R's generator (so set.seed() applies).
draw_seed <- function() {
  sample.int(.Machine$integer.max, 1)
}
