#' Shortcuts for creating converters and running methods
#'
#' One-line helpers that forward to `$new()` of the corresponding class:
#' `convert()` to [`Converter`], `run_grad()` to [`Gradient`], `run_smoothgrad()`
#' to [`SmoothGrad`], `run_intgrad()` to [`IntegratedGradient`],
#' `run_expgrad()` to [`ExpectedGradient`], `run_lrp()` to [`LRP`],
#' `run_deeplift()` to [`DeepLift`], `run_deepshap()` to [`DeepSHAP`],
#' `run_cw()` to [`ConnectionWeights`], `run_occlusion()` to [`Occlusion`],
#' `run_gradcam()` to [`GradCAM`], `run_lime()` to [`LIME`] and `run_shap()` to
#' [`SHAP`].
#'
#' @param model A model (see [`Converter`]).
#' @param converter A [`Converter`].
#' @param data The data to explain (see the method classes; optional for
#'   `run_cw()`).
#' @param ... Further arguments of the class's `$new()`.
#' @return The new object.
#' @examples
#' model <- list(input_dim = 2, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(c(1, -1), 1, 2), bias = 0,
#'        activation_name = "sigmoid", input_layers = 0, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(c(1, 2, 3, 4), 2)
#' run_grad(conv, x)
#' run_intgrad(conv, x, n = 10)
#' run_lrp(conv, x, rule_name = "epsilon")
#' run_deeplift(conv, x)
#' run_deepshap(conv, x, data_ref = matrix(rnorm(20), 10, 2))
#' run_cw(conv)
#' run_occlusion(conv, x)
#' run_shap(conv, x, data_ref = matrix(rnorm(20), 10, 2))
#' @name innsight_sugar
NULL

#' @rdname innsight_sugar
#' @export
convert <- function(model, ...) {
  check_dots(Converter, ...names())
  Converter$new(model, ...)
}

#' @rdname innsight_sugar
#' @export
run_grad <- function(converter, data, ...) {
  check_dots(Gradient, ...names())
  Gradient$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_smoothgrad <- function(converter, data, ...) {
  check_dots(SmoothGrad, ...names())
  SmoothGrad$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_intgrad <- function(converter, data, ...) {
  check_dots(IntegratedGradient, ...names())
  IntegratedGradient$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_expgrad <- function(converter, data, ...) {
  check_dots(ExpectedGradient, ...names())
  ExpectedGradient$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_lrp <- function(converter, data, ...) {
  check_dots(LRP, ...names())
  LRP$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_deeplift <- function(converter, data, ...) {
  check_dots(DeepLift, ...names())
  DeepLift$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_deepshap <- function(converter, data, ...) {
  check_dots(DeepSHAP, ...names())
  DeepSHAP$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_cw <- function(converter, data = NULL, ...) {
  check_dots(ConnectionWeights, ...names())
  ConnectionWeights$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_occlusion <- function(converter, data, ...) {
  check_dots(Occlusion, ...names())
  Occlusion$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_gradcam <- function(converter, data, ...) {
  check_dots(GradCAM, ...names())
  GradCAM$new(converter, data, ...)
}

#' @rdname innsight_sugar
#' @export
run_lime <- function(model, data, data_ref = NULL, ...) {
  check_dots(LIME, ...names())
  LIME$new(model, data, data_ref, ...)
}

#' @rdname innsight_sugar
#' @param data_ref Reference data of the model-agnostic methods (see [`LIME`] and
#'   [`SHAP`]).
#' @export
run_shap <- function(model, data, data_ref = NULL, ...) {
  check_dots(SHAP, ...names())
  SHAP$new(model, data, data_ref, ...)
}

# The names in a helper's `...`, checked against the class's `$new()` before the
# call: R's own "unused argument" error has no class and does not say what the
# method takes. Unique abbreviations pass, as R's argument matching allows them.
check_dots <- function(generator, dot_names, call = parent.frame()) {
  cls <- generator$classname
  # a class without its own initialize() uses its parent's
  while (is.null(generator$public_methods$initialize) && !is.null(generator$get_inherit())) {
    generator <- generator$get_inherit()
  }
  formal <- names(formals(generator$public_methods$initialize))
  dot_names <- dot_names[!is.na(dot_names) & nzchar(dot_names)]
  if ("..." %in% formal || length(dot_names) == 0) return(invisible())
  unknown <- dot_names[is.na(pmatch(dot_names, formal, duplicates.ok = TRUE))]
  if (length(unknown) == 0) return(invisible())
  near <- formal[apply(utils::adist(unknown, formal), 1, which.min)]
  hint <- if (length(unknown) == 1 && utils::adist(unknown, near) <= 3) c("i" = "Did you mean {.arg {near}}?")
  innsight_abort(c("{.arg {unknown}} {?is not an argument/are not arguments} of {.code {cls}$new()}.", hint,
                   "i" = "Its arguments: {.arg {formal}}."),
                 call = call)
}
