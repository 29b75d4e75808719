#' Integrated Gradients
#'
#' @description
#' Integrated Gradients average the gradient along the straight path from a
#' reference `x_ref` to the instance `x` and multiply by `x - x_ref`:
#' \deqn{(x - x') \times \frac{1}{n} \sum_{k=1}^{n} \nabla f(x' + \tfrac{k}{n}(x - x')).}
#' For large `n` the attributions sum to \eqn{f(x) - f(x')} (completeness); the
#' `decomp_goal` field holds that difference.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @template param-verbose
#' @template param-dtype
#' @param x_ref (`array`, `data.frame`, `list` or `NULL`)\cr The reference,
#'   a single instance shaped like one row of `data`. Default (`NULL`): zeros.
#' @param n (`integer(1)`)\cr Number of steps along the path. Default 50.
#' @param times_input (`logical(1)`)\cr Multiply by `x - x_ref` (default `TRUE`).
#' @references
#' M. Sundararajan et al. (2017) *Axiomatic attribution for deep networks.* ICML
#' 2017, PMLR 70, pp. 3319-3328.
#' @family methods
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "tanh", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' ig <- IntegratedGradient$new(conv, x, x_ref = matrix(colMeans(x), 1), n = 100)
#' get_result(ig)
#' run_intgrad(conv, x)
#' @export
IntegratedGradient <- R6::R6Class("IntegratedGradient",
  inherit = GradientBased,
  public = list(
    #' @field n Number of path steps.
    n = NULL,
    #' @field x_ref The reference (list of arrays, one per input layer).
    x_ref = NULL,

    #' @description Compute Integrated Gradients.
    initialize = function(converter, data, x_ref = NULL, n = 50, times_input = TRUE, channels_first = TRUE,
                          output_idx = NULL, output_label = NULL, ignore_last_act = TRUE,
                          verbose = interactive(), dtype = "float") {
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data")
      self$n <- check_count(n, "n")
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       times_input, verbose, dtype)
      self$x_ref <- prepare_x_ref(x_ref, converter, channels_first, "IntegratedGradient", environment())
      private$x_ref_data <- self$x_ref
      private$run(list(method = "integrated_gradient", times_input = times_input, n = self$n))
    }
  ),
  private = list(
    method_name = "IntegratedGradient",
    print_fields = function() list(n = self$n, times_input = self$times_input, x_ref = fmt_ref(self$x_ref))
  )
)
