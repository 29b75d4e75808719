#' Shapley values (KernelSHAP and permutation sampling)
#'
#' @description
#' Shapley values \eqn{\phi_i} of the features (or feature groups) for any model:
#' the average change of the prediction when feature \eqn{i} joins a coalition of
#' the others, where features outside the coalition take their values from the
#' reference data `data_ref` (the value of a coalition is the mean prediction over
#' the reference rows). They satisfy efficiency,
#' \eqn{\sum_i \phi_i = f(x) - \frac{1}{R}\sum_r f(x'_r)}{sum_i phi_i = f(x) - mean_r f(x'_r)},
#' which the field `decomp_goal` holds.
#'
#' * `method = "kernel"` (default): KernelSHAP (Lundberg & Lee 2017), a weighted
#'   regression over coalitions with the efficiency constraint imposed exactly.
#'   With at most `n_coalitions` possible coalitions (\eqn{2^p - 2} for
#'   \eqn{p} groups, i.e. up to 11 groups by default) all of them are enumerated
#'   and the result is the exact Shapley value; otherwise `n_coalitions`
#'   coalitions are drawn from the Shapley kernel in complementary pairs.
#' * `method = "permutation"`: `n_permutations` random orders of the groups
#'   (each with its reverse); efficiency holds exactly for every sample.
#'
#' The model is evaluated on `n_coalitions` (or `n_permutations` times the number
#' of groups) perturbed copies of every instance, times the number of reference
#' rows: keep `data_ref` small (a few dozen rows, or one baseline for images).
#' Coalitions are drawn from a seed taken from R's generator, so `set.seed()`
#' makes the results reproducible. Images and signals are explained over patches
#' (`patch_size`) or your own `feature_groups`.
#'
#' @template params-agnostic
#' @template param-output_idx
#' @template param-output_label
#' @param method (`character(1)`)\cr `"kernel"` (default) or `"permutation"`.
#' @param n_coalitions (`integer(1)` or `NULL`)\cr KernelSHAP's number of
#'   coalitions. Default (`NULL`): `2048 + 2 p` for `p` groups, so at most 11
#'   groups are solved exactly. With paired sampling, the error of the sampled
#'   values shrinks like `1 / sqrt(n_coalitions)`.
#' @param n_permutations (`integer(1)`)\cr Number of permutations for
#'   `method = "permutation"` (default 10, rounded up to an even number).
#' @param ... For scripts written for the original package: `nsim` (fastshap's
#'   number of Monte-Carlo permutations) selects `method = "permutation"` with
#'   `n_permutations = nsim`. Other arguments are ignored with a warning.
#' @references
#' S. Lundberg & S. Lee (2017) *A unified approach to interpreting model
#' predictions.* NIPS 2017, pp. 4768-4777.
#'
#' E. Štrumbelj & I. Kononenko (2014) *Explaining prediction models and
#' individual predictions with feature contributions.* Knowledge and Information
#' Systems 41, pp. 647-665.
#'
#' I. Covert & S. Lee (2021) *Improving KernelSHAP: Practical Shapley value
#' estimation using linear regression.* AISTATS 2021.
#' @family methods
#' @examples
#' # any model with a prediction function: a logistic regression on iris
#' df <- iris[iris$Species != "setosa", ]
#' df$y <- as.numeric(df$Species == "virginica")
#' fit <- glm(y ~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width,
#'            data = df, family = binomial)
#' x <- df[c(1, 60), 1:4]
#' shap <- SHAP$new(fit, x, data_ref = df[sample(nrow(df), 20), 1:4],
#'   pred_fun = function(newdata, ...) predict(fit, newdata, type = "response"))
#' get_result(shap)
#' # the values add up to the prediction minus the mean reference prediction
#' rowSums(get_result(shap)[, , 1]) - shap$decomp_goal[[1]][, 1]
#' @export
SHAP <- R6::R6Class("SHAP",
  inherit = AgnosticWrapper,
  public = list(
    #' @field method `"kernel"` or `"permutation"`.
    method = NULL,
    #' @field n_samples Coalitions (KernelSHAP) or permutations used.
    n_samples = NULL,

    #' @description Compute the Shapley values.
    initialize = function(model, data, data_ref = NULL, pred_fun = NULL, output_idx = NULL, output_label = NULL,
                          channels_first = TRUE, input_dim = NULL, input_names = NULL, output_names = NULL,
                          method = "kernel", n_coalitions = NULL, n_permutations = 10, feature_groups = NULL,
                          patch_size = NULL, verbose = interactive(), dtype = "float", ...) {
      call <- environment()
      extra <- list(...)
      if (!is.null(extra$nsim)) {
        check_count(extra$nsim, "nsim", call = call)
        method <- "permutation"
        n_permutations <- extra$nsim
      }
      warn_ignored_args(extra, "nsim", "SHAP")
      check_choice(method, c("kernel", "permutation"), call = call)
      check_count(n_permutations, call = call)
      if (!is.null(n_coalitions)) check_count(n_coalitions, min = 2, call = call)
      super$initialize(model, data, data_ref, "regression", pred_fun, output_idx, output_label, channels_first,
                       input_dim, input_names, output_names, feature_groups, patch_size, verbose, dtype)
      p <- max(private$groups)
      self$method <- method
      spec <- if (method == "kernel") {
        n_coalitions <- if (is.null(n_coalitions)) 2048 + 2 * p else n_coalitions
        self$n_samples <- if (p <= 24 && 2^p - 2 <= n_coalitions) 2^p - 2 else 2 * ceiling(n_coalitions / 2)
        list(method = "kernel_shap", n_coalitions = n_coalitions, seed = draw_seed())
      } else {
        self$n_samples <- 2 * ceiling(n_permutations / 2)
        list(method = "permutation_shap", n_permutations = n_permutations, seed = draw_seed())
      }
      private$run_agnostic(spec, call)
    }
  ),
  private = list(
    method_name = "SHAP",
    value_name = "Shapley Value",
    print_fields = function() list(method = self$method, samples = format(self$n_samples))
  )
)

# Arguments of the original's `...` (forwarded to lime/fastshap there) that have
# no meaning here.
warn_ignored_args <- function(extra, known, what) {
  unknown <- setdiff(names(extra), known)
  if (length(unknown) > 0 || (length(extra) > 0 && is.null(names(extra)))) {
    innsight_warn("{what}: ignoring argument{?s} {.arg {unknown}} (no such option in this implementation).")
  }
}
