#' innsight: get the insights of your neural network
#'
#' Interpretation methods for neural networks with a compiled 'Rust' core. The
#' workflow has three steps:
#' 1. convert a model with [`Converter`] (or [convert()]);
#' 2. apply a method (or the matching `run_*()` helper, see [innsight_sugar]):
#'    * gradient-based: [`Gradient`] (also Gradient x Input), [`SmoothGrad`],
#'      [`IntegratedGradient`], [`ExpectedGradient`];
#'    * relevance and contribution propagation: [`LRP`] (with rules per layer
#'      class and the presets of zennit), [`DeepLift`], [`DeepSHAP`];
#'    * weight-based: [`ConnectionWeights`] (global or local);
#' 3. look at the result with [get_result()] (and `print()`), or draw it with
#'    [plot()][innsight_plot], [plot_global()] and [plot_comparison()].
#'
#' Computations run on `getOption("innsight.threads")` threads (default: all cores).
#'
#' @keywords internal
#' @importFrom R6 R6Class
#' @importFrom rlang abort
"_PACKAGE"
