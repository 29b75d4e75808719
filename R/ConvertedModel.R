#' Converted model
#'
#' @description
#' The executable model inside a [`Converter`] (field `model`). It keeps the model
#' description and the weights (one raw vector, single precision in a float
#' converter when that loses nothing; the only copy R holds) and builds the Rust graph on demand in the requested
#' precision, so it survives `saveRDS()`/`readRDS()`: a lost handle is rebuilt from
#' the stored description the next time it is needed.
#'
#' @field input_dim,output_dim Input and output shapes (channels first, no batch axis).
#' @keywords internal
ConvertedModel <- R6::R6Class("ConvertedModel",
  public = list(
    input_dim = NULL,
    output_dim = NULL,

    #' @description Create from a normalised model (internal).
    #' @param spec Model description: a list (written as JSON for the core) or
    #'   the JSON itself.
    #' @param weights Named list of weight arrays, or a weight blob (raw vector)
    #'   as the core writes it.
    #' @param dtype `"float"` or `"double"`: the default precision of the
    #'   computations.
    #' @param single Whether the weights are single-precision values by definition
    #'   (stored as such by a float converter even where that rounds them).
    initialize = function(spec, weights, dtype = "float", single = FALSE) {
      private$spec_json <- if (is.character(spec)) spec else to_json(spec)
      private$blob <- if (is.raw(weights)) weights else weights_to_blob(weights, dtype, single)
      private$default_dtype <- dtype
      h <- self$handle(dtype)
      self$input_dim <- lapply(h$input_dims(), as.integer)
      self$output_dim <- lapply(h$output_dims(), as.integer)
    },

    #' @description The Rust graph for a precision (internal).
    #' @param dtype `"float"` or `"double"`.
    handle = function(dtype = private$default_dtype) {
      h <- private$handles[[dtype]]
      if (!handle_alive(h)) {
        h <- rust_call(Model$new(private$spec_json, private$blob, dtype))
        private$handles[[dtype]] <- h
      }
      h
    },

    #' @description Forward pass.
    #' @param x Data: an array (or a list of arrays, one per input layer) with the
    #'   batch axis first.
    #' @param channels_first Whether `x` has channels first.
    #' @param preactivation Return the last layers' pre-activations instead.
    #' @param dtype Precision.
    #' @param arg Name of `x` in error messages.
    #' @return A list with one `(batch, outputs)` matrix per output layer.
    forward = function(x, channels_first = TRUE, preactivation = FALSE, dtype = private$default_dtype, arg = "x") {
      call <- parent.frame()
      check_flag(channels_first, call = call)
      check_flag(preactivation, call = call)
      check_dtype(dtype, call = call)
      x <- prepare_data(x, self$input_dim, channels_first, arg, call = call)
      rust_call(self$handle(dtype)$forward(x, channels_first, preactivation, innsight_threads()))
    },

    #' @description The converter's precision.
    #' @return `"float"` or `"double"`.
    dtype = function() private$default_dtype,

    #' @description Per-layer summary (type, class, shapes).
    layers = function() {
      self$handle()$layers()
    },

    #' @description The weights (internal): a named list of arrays
    #'   (`layers.<i>.<name>`) in the stored precision.
    get_weights = function() {
      rust_call(weights_from_blob(private$blob))
    },

    #' @description The stored description as JSON (internal).
    spec = function() {
      private$spec_json
    }
  ),
  private = list(
    spec_json = NULL,
    # the weights as a safetensors byte vector (weights_blob())
    blob = NULL,
    default_dtype = "float",
    handles = list()
  )
)
