#' Occlusion
#'
#' @description
#' Occlusion (Zeiler & Fergus 2014) slides a window over the input, replaces the
#' part it covers by a baseline value and records how much the selected outputs
#' drop: \eqn{f(x) - f(x_{occluded})}. Every feature gets the mean drop over the
#' windows that cover it. Windows start at \eqn{0, s, 2s, \ldots} along each axis
#' (\eqn{\lceil (L - w) / s \rceil + 1} positions for length \eqn{L}, window
#' \eqn{w} and stride \eqn{s}); the last one is cut off at the border, as in
#' Captum's `Occlusion`. All forward passes run in the Rust core, in batches.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @param ignore_last_act (`logical(1)`)\cr Explain the output layer's
#'   pre-activation instead of the (default, `FALSE`) activated output, e.g. the
#'   logits instead of the class probabilities.
#' @param window (`integer` or `NULL`)\cr The window size: for images and signals
#'   one value per spatial axis (the window spans all channels), or one per axis
#'   of an instance in the layout of the data (channels included); for tables the
#'   number of consecutive features. Default: a single feature (tables), a grid of
#'   at most 16 windows per spatial axis (images and signals).
#' @param strides (`integer` or `NULL`)\cr The steps between windows, shaped like
#'   `window`. Default: `window` (windows that do not overlap).
#' @param baseline (`numeric(1)`)\cr The value of the occluded features (default
#'   0).
#' @template param-verbose
#' @template param-dtype
#' @references
#' M. D. Zeiler & R. Fergus (2014) *Visualizing and understanding convolutional
#' networks.* ECCV 2014, pp. 818-833.
#' @family methods
#' @examples
#' model <- list(input_dim = c(1, 8, 8), input_nodes = 1, output_nodes = 3, layers = list(
#'   list(type = "Conv2D", weight = array(rnorm(36), c(4, 1, 3, 3)), bias = rnorm(4),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Flatten", input_layers = 1, output_layers = 3),
#'   list(type = "Dense", weight = matrix(rnorm(2 * 144), 2, 144), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 2, output_layers = -1)))
#' conv <- convert(model)
#' occ <- run_occlusion(conv, array(rnorm(2 * 64), c(2, 1, 8, 8)), window = c(2, 2))
#' plot(occ)
#' @export
Occlusion <- R6::R6Class("Occlusion",
  inherit = InterpretingMethod,
  public = list(
    #' @field window,strides,baseline The window and strides (channels first,
    #'   one value per axis of an instance) and the baseline value.
    window = NULL,
    strides = NULL,
    baseline = NULL,

    #' @description Occlude and record.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = FALSE, window = NULL, strides = NULL, baseline = 0,
                          verbose = interactive(), dtype = "float") {
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data")
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       TRUE, verbose, dtype)
      call <- environment()
      check_number(baseline, call = call)
      if (length(converter$input_dim) != 1) {
        innsight_abort("Occlusion supports models with a single input layer.", kind = "model", call = call)
      }
      shape <- converter$input_dim[[1]]
      self$window <- occlusion_extent(window, shape, channels_first, "window", call)
      self$strides <- if (is.null(strides)) self$window else occlusion_extent(strides, shape, channels_first, "strides", call)
      self$baseline <- baseline
      private$run(list(method = "occlusion", window = I(self$window), strides = I(self$strides), baseline = baseline))
    }
  ),
  private = list(
    method_name = "Occlusion",
    value_name = "Relevance",
    print_fields = function() list(window = paste(self$window, collapse = " x "),
                                   strides = paste(self$strides, collapse = " x "),
                                   baseline = format(self$baseline))
  )
)

# A window or stride per axis of the (channels-first) instance shape.
occlusion_extent <- function(x, shape, channels_first, arg, call) {
  rank <- length(shape)
  if (is.null(x)) {
    return(as.integer(if (rank == 1) 1 else c(shape[1], ceiling(shape[-1] / 16))))
  }
  if (!is_integerish(x) || any(x < 1)) {
    innsight_abort("{.arg {arg}} must contain positive whole numbers.", call = call)
  }
  x <- as.integer(x)
  if (rank > 1 && length(x) == rank - 1) return(c(shape[1], x))
  if (length(x) == rank) {
    return(if (channels_first || rank == 1) x else c(x[rank], x[-rank]))
  }
  want <- if (rank > 1) paste(rank - 1, "(spatial axes) or", rank, "(all axes)") else "1"
  innsight_abort("{.arg {arg}} needs {want} value{?s} for inputs of shape ({paste(shape, collapse = ', ')}), not {length(x)}.",
                 call = call)
}
