#' Grad-CAM
#'
#' @description
#' Gradient-weighted class activation mapping (Selvaraju et al. 2017) shows where
#' a convolution layer sees evidence for an output. With \eqn{A_k} the layer's
#' output channels and \eqn{\alpha_k} the spatial mean of the gradient of the
#' selected output with respect to \eqn{A_k}, the map is
#' \eqn{\mathrm{ReLU}(\sum_k \alpha_k A_k)}{ReLU(sum_k alpha_k A_k)}. It has the
#' layer's resolution and is upsampled to the input (bilinear, or linear for
#' signals, or nearest neighbour; sampled like PyTorch's `interpolate` with
#' `align_corners = FALSE`). Each input channel carries an equal share of the
#' map, so the channel sum (the default of `plot()`) shows the map itself.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @param layer (`integer(1)` or `NULL`)\cr The layer (its index in the
#'   converter's layer list, see `converter$model$layers()`). Default: the last
#'   convolution layer (its output after the layer's activation).
#' @param upsample (`character(1)`)\cr `"bilinear"` (default) or `"nearest"`.
#' @template param-verbose
#' @template param-dtype
#' @references
#' R. R. Selvaraju et al. (2017) *Grad-CAM: Visual explanations from deep
#' networks via gradient-based localization.* ICCV 2017, pp. 618-626.
#' @family methods
#' @examples
#' model <- list(input_dim = c(1, 8, 8), input_nodes = 1, output_nodes = 3, layers = list(
#'   list(type = "Conv2D", weight = array(rnorm(36), c(4, 1, 3, 3)), bias = rnorm(4),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Flatten", input_layers = 1, output_layers = 3),
#'   list(type = "Dense", weight = matrix(rnorm(2 * 144), 2, 144), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 2, output_layers = -1)))
#' cam <- run_gradcam(convert(model), array(rnorm(2 * 64), c(2, 1, 8, 8)))
#' plot(cam, output_idx = 2)
#' @export
GradCAM <- R6::R6Class("GradCAM",
  inherit = InterpretingMethod,
  public = list(
    #' @field layer,upsample The layer index and the upsampling.
    layer = NULL,
    upsample = NULL,

    #' @description Compute the maps.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, layer = NULL, upsample = "bilinear", verbose = interactive(),
                          dtype = "float") {
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data")
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       TRUE, verbose, dtype)
      call <- environment()
      check_choice(upsample, c("bilinear", "nearest"), call = call)
      self$layer <- gradcam_layer(converter, layer, call)
      self$upsample <- upsample
      private$run(list(method = "grad_cam", layer = self$layer, upsample = upsample))
    }
  ),
  private = list(
    method_name = "GradCAM",
    value_name = "Relevance",
    print_fields = function() list(layer = format(self$layer), upsample = self$upsample)
  )
)

# The layer index: given (checked) or the last convolution layer.
gradcam_layer <- function(converter, layer, call) {
  types <- vapply(converter$model$layers(), function(l) as.character(l$type), character(1))
  if (is.null(layer)) {
    conv <- which(types %in% c("Conv1D", "Conv2D"))
    if (length(conv) == 0) {
      innsight_abort("The model has no convolution layer for Grad-CAM; pass {.arg layer} to use another layer.",
                     call = call)
    }
    return(max(conv))
  }
  if (!is_integerish(layer) || length(layer) != 1 || layer < 1 || layer > length(types)) {
    innsight_abort(c("{.arg layer} must be the index of a layer, between 1 and {length(types)}.",
                     "x" = "Got {.val {layer}}."), call = call)
  }
  as.integer(layer)
}
