#' innsight: get the insights of your neural network
#'
#' Interpretation methods for neural networks with a compiled 'Rust' core. The
#' workflow has three steps:
#' 1. convert a model with [`Converter`] (or [convert()]);
#' 2. apply a method such as [`Gradient`], [`SmoothGrad`], [`IntegratedGradient`] or
#'    [`ExpectedGradient`] (or the `run_*()` helpers);
#' 3. look at the result with [get_result()] (and `print()`).
#'
#' Computations run on `getOption("innsight.threads")` threads (default: all cores).
#'
#' @keywords internal
#' @importFrom R6 R6Class
#' @importFrom rlang abort
"_PACKAGE"
