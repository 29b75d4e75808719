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
convert <- function(model, ...) Converter$new(model, ...)

#' @rdname innsight_sugar
#' @export
run_grad <- function(converter, data, ...) Gradient$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_smoothgrad <- function(converter, data, ...) SmoothGrad$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_intgrad <- function(converter, data, ...) IntegratedGradient$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_expgrad <- function(converter, data, ...) ExpectedGradient$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_lrp <- function(converter, data, ...) LRP$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_deeplift <- function(converter, data, ...) DeepLift$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_deepshap <- function(converter, data, ...) DeepSHAP$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_cw <- function(converter, data = NULL, ...) ConnectionWeights$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_occlusion <- function(converter, data, ...) Occlusion$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_gradcam <- function(converter, data, ...) GradCAM$new(converter, data, ...)

#' @rdname innsight_sugar
#' @export
run_lime <- function(model, data, data_ref = NULL, ...) LIME$new(model, data, data_ref, ...)

#' @rdname innsight_sugar
#' @param data_ref Reference data of the model-agnostic methods (see [`LIME`] and
#'   [`SHAP`]).
#' @export
run_shap <- function(model, data, data_ref = NULL, ...) SHAP$new(model, data, data_ref, ...)
