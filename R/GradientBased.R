#' Super class of the gradient-based methods
#'
#' @description
#' Adds `times_input` to [`InterpretingMethod`]; the super class of [`Gradient`],
#' [`SmoothGrad`], [`IntegratedGradient`] and [`ExpectedGradient`].
#'
#' @field times_input Whether the gradients are multiplied by the input.
#' @keywords internal
GradientBased <- R6::R6Class("GradientBased",
  inherit = InterpretingMethod,
  public = list(
    times_input = NULL,

    #' @description Check and store the shared arguments and `times_input`.
    #' @param converter,data,channels_first,output_idx,output_label,ignore_last_act,times_input,verbose,dtype
    #'   See the method classes.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, times_input = FALSE, verbose = interactive(),
                          dtype = "float") {
      check_flag(times_input, call = parent.frame(2))
      self$times_input <- times_input
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       winner_takes_all = TRUE, verbose = verbose, dtype = dtype)
    }
  ),
  private = list(
    value_name = "Gradient"
  )
)

# The single-instance reference of IntegratedGradient (and DeepLift): default zeros.
prepare_x_ref <- function(x_ref, converter, channels_first, method, call) {
  dims <- converter$input_dim
  if (is.null(x_ref)) {
    return(lapply(dims, function(d) {
      shape <- if (channels_first || length(d) == 1) d else c(d[-1], d[1])
      array(0, c(1, shape))
    }))
  }
  x_ref <- prepare_data(x_ref, dims, channels_first, "x_ref", call = call)
  n <- vapply(x_ref, function(x) dim(x)[1], integer(1))
  if (any(n != 1)) {
    innsight_abort(c("For the method {method}, {.arg x_ref} must be a single instance per input layer.",
                     "x" = "You passed {max(n)} instances."), call = call)
  }
  x_ref
}
