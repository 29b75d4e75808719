#' Deep Shapley Additive Explanations (DeepSHAP)
#'
#' @description
#' DeepSHAP approximates Shapley values by averaging [`DeepLift`]
#' contributions over a set of reference instances (the background data
#' `data_ref`): for every instance `x` and reference row \eqn{x'_r},
#' DeepLift gives contributions of \eqn{x - x'_r}, and the result is their
#' mean over the references. The contributions sum to the output minus the
#' mean output over the references,
#' \deqn{\sum_i C(x_i) = \frac{1}{R}\sum_{r} \left(f(x)_j - f(x'_r)_j\right),}{sum_i C(x_i) = mean_r (f(x)_j - f(x'_r)_j),}
#' which the field `decomp_goal` holds. With a single zero reference (the
#' default) DeepSHAP equals DeepLift with a zero reference.
#'
#' @details
#' At most `limit_ref` rows of `data_ref` are used: they are drawn without
#' replacement with R's generator (so `set.seed()` makes the choice
#' reproducible; the rows are shuffled even when all are used), and the drawn
#' rows are stored in the field `data_ref`. Time and memory grow with the
#' number of instances times the number of references.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @param rule_name (`character(1)`)\cr The DeepLift rule: `"rescale"`
#'   (default) or `"reveal_cancel"`.
#' @param data_ref (`array`, `data.frame`, `list` or `NULL`)\cr The reference
#'   (background) data: any number of rows shaped like `data`. Default
#'   (`NULL`): one row of zeros.
#' @param limit_ref (`integer(1)`)\cr The largest number of reference rows
#'   used (default 100).
#' @template param-winner_takes_all
#' @template param-verbose
#' @template param-dtype
#' @references
#' S. Lundberg & S. Lee (2017) *A unified approach to interpreting model
#' predictions.* NIPS 2017, pp. 4768-4777
#' @family methods
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "tanh", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' background <- matrix(rnorm(60), 20, 3)
#' set.seed(1)
#' shap <- DeepSHAP$new(conv, x, data_ref = background, limit_ref = 10)
#' get_result(shap)
#' # the contributions sum to f(x) minus the mean output over the references
#' apply(get_result(shap), c(1, 3), sum) - shap$decomp_goal[[1]]
#' run_deepshap(conv, x, rule_name = "reveal_cancel", data_ref = background)
#' @export
DeepSHAP <- R6::R6Class("DeepSHAP",
  inherit = InterpretingMethod,
  public = list(
    #' @field rule_name The DeepLift rule (`"rescale"` or `"reveal_cancel"`).
    rule_name = NULL,
    #' @field data_ref The reference rows used (list of arrays, one per input
    #'   layer), at most `limit_ref` of them.
    data_ref = NULL,
    #' @field limit_ref The largest number of reference rows used.
    limit_ref = NULL,

    #' @description Compute the contributions.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, rule_name = "rescale", data_ref = NULL, limit_ref = 100,
                          winner_takes_all = TRUE, verbose = interactive(), dtype = "float") {
      call <- parent.frame() # the frame of `$new()`: errors name the user's call
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data", call = call)
      check_choice(rule_name, deeplift_rules, "rule_name", call = call)
      self$limit_ref <- check_count(limit_ref, "limit_ref", call = call)
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       winner_takes_all, verbose, dtype)
      self$rule_name <- rule_name
      if (is.null(data_ref)) {
        data_ref <- prepare_x_ref(NULL, converter, channels_first, "DeepSHAP", call)
      }
      data_ref <- prepare_data(data_ref, converter$input_dim, channels_first, "data_ref", call = call)
      n_ref <- vapply(data_ref, function(a) dim(a)[1], integer(1))
      if (any(n_ref != n_ref[1])) {
        innsight_abort(c("{.arg data_ref} must have the same number of rows for every input layer.",
                         "x" = "Got {n_ref} rows."), kind = "data", call = call)
      }
      n_ref <- n_ref[1]
      rows <- sample.int(n_ref, min(n_ref, self$limit_ref))
      self$data_ref <- lapply(data_ref, take_rows, rows = rows)
      private$data_ref_data <- self$data_ref
      private$run(list(method = "deep_shap", rule = rule_name, winner_takes_all = winner_takes_all))
    }
  ),
  private = list(
    method_name = "DeepSHAP",
    value_name = "Contribution",
    print_fields = function() {
      n <- dim(self$data_ref[[1]])[1]
      list(rule_name = self$rule_name, winner_takes_all = self$winner_takes_all,
           data_ref = paste0(n, " row", if (n == 1) "" else "s", " (limit_ref = ", self$limit_ref, "), ",
                             fmt_ref(self$data_ref)))
    }
  )
)

# Rows `rows` of an array with the batch axis first (any rank; dimnames dropped).
take_rows <- function(a, rows) {
  # index the first axis only: reshaping to a matrix first would copy the whole
  # array for every chunk (memory growing with the data set, not the chunk)
  empty <- rep(list(quote(expr = )), length(dim(a)) - 1L)
  out <- do.call(`[`, c(list(a, rows), empty, list(drop = FALSE)))
  dimnames(out) <- NULL
  out
}
