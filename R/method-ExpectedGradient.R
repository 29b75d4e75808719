#' Expected Gradients
#'
#' @description
#' Expected Gradients average Integrated Gradients over references drawn from a
#' data set: for each instance, `n` pairs of a reference row \eqn{x'} (drawn with
#' replacement from `data_ref`) and a path point \eqn{\alpha \sim U(0, 1)} give
#' \deqn{\frac{1}{n}\sum (x - x') \odot \nabla f(x' + \alpha (x - x')).}
#' The attributions sum approximately to \eqn{f(x) - E[f(x')]} (`decomp_goal`).
#' Draws use R's generator, so `set.seed()` makes results reproducible.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @template param-verbose
#' @template param-dtype
#' @param data_ref (`array`, `data.frame`, `list` or `NULL`)\cr Reference
#'   data (any number of rows, shaped like `data`). Default (`NULL`): one row of zeros.
#' @param n (`integer(1)`)\cr Number of samples per instance. Default 50.
#' @references
#' G. Erion et al. (2021) *Improving performance of deep learning models with
#' axiomatic attribution priors and expected gradients.* Nature Machine
#' Intelligence 3, pp. 620-631.
#' @family methods
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "tanh", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' set.seed(42)
#' eg <- ExpectedGradient$new(conv, x, data_ref = matrix(rnorm(30), 10, 3), n = 30)
#' get_result(eg)
#' run_expgrad(conv, x)
#' @export
ExpectedGradient <- R6::R6Class("ExpectedGradient",
  inherit = GradientBased,
  public = list(
    #' @field n Number of samples per instance.
    n = NULL,
    #' @field data_ref The reference data (list of arrays, one per input layer).
    data_ref = NULL,

    #' @description Compute Expected Gradients.
    initialize = function(converter, data, data_ref = NULL, n = 50, channels_first = TRUE,
                          output_idx = NULL, output_label = NULL, ignore_last_act = TRUE,
                          verbose = interactive(), dtype = "float") {
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data")
      self$n <- check_count(n, "n")
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       times_input = TRUE, verbose = verbose, dtype = dtype)
      if (is.null(data_ref)) {
        data_ref <- prepare_x_ref(NULL, converter, channels_first, "ExpectedGradient", environment())
      }
      self$data_ref <- prepare_data(data_ref, converter$input_dim, channels_first, "data_ref", call = environment())
      private$data_ref_data <- self$data_ref
      B <- dim(self$data[[1]])[1]
      n_ref <- dim(self$data_ref[[1]])[1]
      ref_index <- sample.int(n_ref, B * self$n, replace = TRUE)
      alpha <- stats::runif(B * self$n)
      private$run(list(method = "expected_gradient", n = self$n, ref_index = I(ref_index), alpha = I(alpha)),
                  per_row = list(fields = c("ref_index", "alpha"), n = self$n))
    }
  ),
  private = list(
    method_name = "ExpectedGradient",
    value_name = "Relevance",
    print_fields = function() list(n = self$n, data_ref = fmt_ref(self$data_ref))
  )
)
