#' Local interpretable model-agnostic explanations (LIME)
#'
#' @description
#' LIME (Ribeiro et al. 2016) explains one prediction by a weighted linear
#' surrogate model fitted to the model's outputs on perturbed copies of the
#' instance. A perturbation switches each feature (or feature group) on or off
#' with probability 1/2; features switched off take their values from a randomly
#' drawn row of `data_ref` (for images usually one baseline image). The first
#' sample is the instance itself.
#'
#' A sample with a fraction \eqn{q} of the groups switched on has the cosine
#' distance \eqn{d = 1 - \sqrt{q}} to the instance and the weight
#' \eqn{\exp(-d^2 / w^2)} with the kernel width \eqn{w} (`kernel_width`, 0.25
#' as in the `lime` image explainer). The surrogate is a ridge regression with
#' intercept and penalty `lambda` (1, as in `lime`); its coefficients are the
#' result. With `n_features = K` only the K groups with the largest absolute
#' coefficients are kept and the surrogate is refitted on them (the others get
#' 0).
#'
#' The original package wraps the `lime` package; this implementation is native
#' (see NEWS for the differences). Samples are drawn from a seed taken from R's
#' generator, so `set.seed()` makes the results reproducible.
#'
#' @template params-agnostic
#' @template param-output_idx
#' @template param-output_label
#' @param output_type (`character(1)` or `NULL`)\cr `"regression"` or
#'   `"classification"`; needed for models without built-in predictions. Both
#'   explain the selected output columns the same way.
#' @param n_samples (`integer(1)`)\cr Number of perturbed samples per instance
#'   (default 1000).
#' @param kernel_width (`numeric(1)`)\cr Width \eqn{w} of the exponential kernel
#'   (default 0.25).
#' @param lambda (`numeric(1)`)\cr Ridge penalty (default 1; 0 for ordinary
#'   weighted least squares).
#' @param n_features (`integer(1)` or `NULL`)\cr Keep only this many groups
#'   (default: all).
#' @param ... For scripts written for the original package: `n_permutations`
#'   (lime's number of samples) sets `n_samples`. Other arguments are ignored
#'   with a warning.
#' @references
#' M. T. Ribeiro et al. (2016) *"Why should I trust you?": Explaining the
#' predictions of any classifier.* KDD 2016, pp. 1135-1144.
#' @family methods
#' @examples
#' fit <- lm(Sepal.Length ~ ., data = iris[, 1:4])
#' lime <- LIME$new(fit, iris[1:3, 2:4], data_ref = iris[, 2:4],
#'   output_type = "regression", pred_fun = function(newdata, ...) predict(fit, newdata))
#' get_result(lime)
#' plot(lime)
#' @export
LIME <- R6::R6Class("LIME",
  inherit = AgnosticWrapper,
  public = list(
    #' @field n_samples,kernel_width,lambda,n_features The method's arguments.
    n_samples = NULL,
    kernel_width = NULL,
    lambda = NULL,
    n_features = NULL,

    #' @description Fit the surrogate models.
    initialize = function(model, data, data_ref = NULL, output_type = NULL, pred_fun = NULL, output_idx = NULL,
                          output_label = NULL, channels_first = TRUE, input_dim = NULL, input_names = NULL,
                          output_names = NULL, n_samples = 1000, kernel_width = 0.25, lambda = 1, n_features = NULL,
                          feature_groups = NULL, patch_size = NULL, verbose = interactive(), dtype = "float", ...) {
      call <- environment()
      extra <- list(...)
      if (!is.null(extra$n_permutations)) n_samples <- extra$n_permutations
      warn_ignored_args(extra, "n_permutations", "LIME")
      check_count(n_samples, min = 2, call = call)
      check_number(kernel_width, min = .Machine$double.eps, call = call)
      check_number(lambda, min = 0, call = call)
      if (!is.null(n_features)) check_count(n_features, call = call)
      super$initialize(model, data, data_ref, output_type, pred_fun, output_idx, output_label, channels_first,
                       input_dim, input_names, output_names, feature_groups, patch_size, verbose, dtype)
      self$n_samples <- as.integer(n_samples)
      self$kernel_width <- kernel_width
      self$lambda <- lambda
      self$n_features <- n_features
      private$run_agnostic(list(method = "lime", n_samples = self$n_samples, kernel_width = kernel_width,
                                lambda = lambda, n_features = n_features, seed = draw_seed()), call)
    }
  ),
  private = list(
    method_name = "LIME",
    value_name = "Weight",
    print_fields = function() list(samples = format(self$n_samples), kernel_width = format(self$kernel_width),
                                   lambda = format(self$lambda))
  )
)
