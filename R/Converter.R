#' Converter of an artificial neural network
#'
#' @description
#' The `Converter` turns a neural network into the form the interpretation methods
#' work on. It accepts innsight's named-list model format (see *Details*); the
#' network is then evaluated by the package's compiled 'Rust' core, in single
#' (`"float"`) or double (`"double"`) precision.
#'
#' @details
#' A list model has the entries `layers` (a list of layers), `input_dim` (the input
#' shape without the batch axis, channels first, or a list of shapes for several
#' inputs), `input_nodes` and `output_nodes` (layer indices of the model's inputs
#' and outputs), and optionally `output_dim`, `input_names` and `output_names`. Each
#' layer has a `type` (`"Dense"`, `"Conv1D"`, `"Conv2D"`, `"MaxPooling1D"`,
#' `"MaxPooling2D"`, `"AveragePooling1D"`, `"AveragePooling2D"`, `"GlobalPooling"`,
#' `"BatchNorm"`, `"Flatten"`, `"Padding"`, `"Concatenate"`, `"Add"`,
#' `"Activation"`, `"Skipping"`), its graph edges `input_layers` (`0` = model input)
#' and `output_layers` (`-1` = model output), and its parameters. Dense layers need
#' `weight` (`out x in`), `bias` and `activation_name`; convolutions need `weight`
#' (`out_channels x in_channels x kernel...`), `bias`, `activation_name` and
#' optionally `stride`, `dilation` and `padding`.
#'
#' Supported activations: `linear`, `relu`, `leaky_relu`, `softplus`, `sigmoid`
#' (`logistic`), `softmax`, `tanh`, `elu`, `selu`, `gelu`, `silu` (`swish`);
#' parameters (`negative_slope`, `beta`, `alpha`) go into `activation_args`.
#'
#' A `Flatten` layer flattens in the model's own order: channels first unless it
#' has `data_format = "channels_last"` (as in Keras). The `channels_first`
#' argument of the methods only describes the layout of the data you pass.
#'
#' @field model The converted model ([`ConvertedModel`]): `converter$model$forward(x)`
#'   evaluates it. See also [predict.Converter()].
#' @field input_dim List of input shapes (channels first, no batch axis).
#' @field input_names List (per input layer) of lists (per axis) of factors.
#' @field output_dim List of output shapes.
#' @field output_names List (per output layer) of lists with one factor.
#' @field model_as_list The model as a named list, if `save_model_as_list = TRUE`.
#'
#' @examples
#' model <- list(
#'   input_dim = 2, input_nodes = 1, output_nodes = 2,
#'   layers = list(
#'     list(type = "Dense", weight = matrix(c(1, -1, 0.5, 2, 0, 1), 3, 2),
#'          bias = c(0, 0.1, -0.1), activation_name = "relu",
#'          input_layers = 0, output_layers = 2),
#'     list(type = "Dense", weight = matrix(c(1, -2, 1), 1, 3), bias = 0.5,
#'          activation_name = "sigmoid", input_layers = 1, output_layers = -1)
#'   )
#' )
#' conv <- Converter$new(model, input_names = c("a", "b"), output_names = "y")
#' conv
#' predict(conv, matrix(c(1, 2, 3, 4), 2))
#'
#' # an ONNX file (here a small residual network exported from PyTorch)
#' onnx <- Converter$new(system.file("extdata", "resnet_small.onnx", package = "innsight"))
#' dim(predict(onnx, array(rnorm(3 * 32 * 32), c(1, 3, 32, 32))))
#' @export
Converter <- R6::R6Class("Converter",
  public = list(
    model = NULL,
    input_dim = NULL,
    input_names = NULL,
    output_dim = NULL,
    output_names = NULL,
    model_as_list = NULL,

    #' @description Create a new `Converter`.
    #' @param model A named list describing the model (see *Details*), the path
    #'   of a model file written by [save_model()], the path of an ONNX file
    #'   (ending in `.onnx`), a \pkg{neuralnet} model (class `nn`), a Keras model
    #'   or a PyTorch `nn.Module` (both through \pkg{reticulate}; a module needs
    #'   `input_dim`).
    #' @param input_dim (`integer` or `list`)\cr Optional input shape(s), channels
    #'   first, checked against the model's; required for a PyTorch module (the
    #'   shape it is exported with).
    #' @param input_names (`character`, `factor` or `list`)\cr Optional names of the
    #'   input features: a vector (tabular input), a list with one vector per axis,
    #'   or a list of such lists for several input layers.
    #' @param output_names (`character`, `factor` or `list`)\cr Optional names of the
    #'   output nodes; for several output layers a list of vectors (or lists).
    #' @param dtype (`character(1)`)\cr `"float"` (default) or `"double"`. For a
    #'   model file, the default is the file's precision.
    #' @param save_model_as_list (`logical(1)`)\cr Keep the list model in the field
    #'   `model_as_list`.
    initialize = function(model, input_dim = NULL, input_names = NULL, output_names = NULL,
                          dtype = "float", save_model_as_list = FALSE) {
      if (!missing(dtype)) check_dtype(dtype)
      check_flag(save_model_as_list)
      if (missing(model)) {
        innsight_abort("Argument {.arg model} is missing, with no default.", kind = "model")
      }
      file <- if (is.character(model) && length(model) == 1) model
      model <- as_list_model(model, input_dim)
      # a model file keeps its own precision unless `dtype` is given
      if (missing(dtype)) dtype <- attr(model, "innsight_dtype") %||% dtype
      if (is_prepared_model(model)) {
        # translated and checked by the core (ONNX): built as it is
        self$model <- in_model_file(file, ConvertedModel$new(model$spec_json, model$blob, dtype))
        check_given_input_dim(input_dim, self$model$input_dim)
        norm <- list()
      } else {
        # a model file's content is checked like any list model; errors name the file
        norm <- in_model_file(file, normalise_list_model(model))
        check_given_input_dim(input_dim, norm$input_dim)
        self$model <- in_model_file(file, ConvertedModel$new(norm$spec, norm$weights, dtype,
                                                             single = isTRUE(attr(model, "innsight_single"))))
      }
      self$input_dim <- self$model$input_dim
      self$output_dim <- self$model$output_dim
      if (!is.null(norm$output_dim) && !identical(norm$output_dim, self$output_dim)) {
        innsight_abort(c("Mismatch between the calculated and the given output shape ({.field output_dim}).",
                         "x" = "Calculated: {.val {format_dims(self$output_dim)}}; given: {.val {format_dims(norm$output_dim)}}."),
                       kind = "model")
      }
      self$input_names <- if (is.null(input_names)) {
        in_model_file(file, normalise_names(model$input_names, self$input_dim, "input_names"))
      } else {
        normalise_names(input_names, self$input_dim, "input_names")
      }
      self$output_names <- if (is.null(output_names)) {
        in_model_file(file, normalise_names(model$output_names, self$output_dim, "output_names",
                                            several_vectors_ok = TRUE))
      } else {
        normalise_names(output_names, self$output_dim, "output_names", several_vectors_ok = TRUE)
      }
      if (save_model_as_list) self$model_as_list <- if (is_prepared_model(model)) prepared_as_list(model) else model
      invisible(self)
    },

    #' @description Print a summary of the converted model.
    #' @param ... Unused.
    print = function(...) {
      print_converter(self)
      invisible(self)
    }
  )
)

#' Predictions of a converted model
#'
#' Evaluates the converted model on new data.
#'
#' @param object A [`Converter`].
#' @param newdata An array, matrix or data frame with the batch axis first, or a
#'   list of them (one per input layer).
#' @param channels_first (`logical(1)`)\cr Whether `newdata` has the channel axis
#'   right after the batch axis (`TRUE`) or last (`FALSE`).
#' @param type (`character(1)`)\cr `"output"` for the model's outputs or
#'   `"preactivation"` for the output layers' values before their activation.
#' @param dtype (`character(1)` or `NULL`)\cr Precision: `"float"` or `"double"`;
#'   `NULL` (default) uses the converter's `dtype`.
#' @param ... Unused.
#' @return A `(batch, outputs)` matrix, or a list of them for several output layers.
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(1:6 / 6, 2, 3), bias = c(0, 1),
#'        activation_name = "softmax", input_layers = 0, output_layers = -1)))
#' predict(convert(model), matrix(rnorm(6), 2, 3))
#' @export
predict.Converter <- function(object, newdata, channels_first = TRUE, type = "output", dtype = NULL, ...) {
  check_no_dots(...)
  check_choice(type, c("output", "preactivation"), "type")
  out <- object$model$forward(newdata, channels_first, preactivation = type == "preactivation",
                              dtype = dtype %||% object$model$dtype(), arg = "newdata")
  out <- lapply(seq_along(out), function(k) {
    m <- out[[k]]
    dimnames(m) <- list(NULL, as.character(object$output_names[[k]][[1]]))
    m
  })
  if (length(out) == 1) out[[1]] else out
}
