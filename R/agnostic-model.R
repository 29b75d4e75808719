# The model behind a model-agnostic method (LIME, SHAP): a prediction function
# `pred_fun(newdata)` on a data frame of flattened instances, the output type and
# whatever names and shapes the model itself knows.
#
# Built in: Converter (predictions stay in the Rust core), neuralnet and Keras
# models. Anything else needs a user `pred_fun` and `output_type`.

agnostic_abort <- function(message, kind = "argument", call = parent.frame(), .envir = parent.frame()) {
  innsight_abort(message, kind = kind, call = call, .envir = .envir)
}

check_pred_fun <- function(pred_fun, call) {
  if (!is.function(pred_fun)) {
    agnostic_abort("{.arg pred_fun} must be a function, not {.obj_type_friendly {pred_fun}}.", call = call)
  }
  if (!"newdata" %in% names(formals(pred_fun))) {
    agnostic_abort(c("{.arg pred_fun} must have an argument named {.arg newdata}.",
                     "i" = "For example {.code function(newdata, ...) predict(model, newdata)}."), call = call)
  }
  pred_fun
}

check_output_type <- function(output_type, call) {
  if (is.null(output_type) || !is.character(output_type) || length(output_type) != 1 ||
      !output_type %in% c("regression", "classification")) {
    agnostic_abort("{.arg output_type} must be {.val regression} or {.val classification}.", call = call)
  }
  output_type
}

# A Converter: one input and one output layer; classification if the output's
# activation is one of softmax, sigmoid, tanh or logistic.
agnostic_from_converter <- function(conv, call) {
  if (length(conv$input_dim) != 1 || length(conv$output_dim) != 1) {
    agnostic_abort("Only models with a single input and a single output layer are supported by the model-agnostic approaches.",
                   kind = "model", call = call)
  }
  spec <- jsonlite::fromJSON(conv$model$spec(), simplifyVector = FALSE)
  last <- vapply(spec$layers[unlist(spec$output_nodes)], function(l) {
    act <- if (!is.null(l$activation_name)) l$activation_name else l$act_name
    if (is.null(act)) "linear" else as.character(act)
  }, character(1))
  list(
    converter = conv, pred_fun = NULL,
    output_type = if (all(last %in% c("softmax", "sigmoid", "tanh", "logistic"))) "classification" else "regression",
    input_dim = conv$input_dim[[1]], input_names = conv$input_names, output_names = conv$output_names
  )
}

agnostic_from_neuralnet <- function(model, call) {
  vars <- model$model.list$variables
  resp <- model$model.list$response
  list(
    converter = NULL,
    pred_fun = function(newdata, ...) {
      newdata <- as.data.frame(newdata)
      names(newdata) <- vars
      stats::predict(model, newdata)
    },
    output_type = if (isTRUE(model$linear.output)) "regression" else "classification",
    input_dim = length(vars),
    input_names = list(list(factor(vars, levels = vars))),
    output_names = list(list(factor(resp, levels = resp)))
  )
}

agnostic_from_keras <- function(model, call) {
  cfg <- model$get_config()
  last <- tryCatch({
    layers <- cfg$layers
    act <- layers[[length(layers)]]$config$activation
    if (is.null(act)) "linear" else as.character(act)
  }, error = function(e) "linear")
  list(
    converter = NULL,
    pred_fun = function(newdata, ...) {
      x <- as.matrix(newdata)
      shape <- unlist(lapply(model$inputs[[1]]$shape, function(d) if (is.null(d)) NA else as.integer(d)))[-1]
      arr <- array(x, dim = c(nrow(x), shape))
      as.matrix(model$predict(arr, verbose = 0L))
    },
    output_type = if (last %in% c("softmax", "sigmoid")) "classification" else "regression",
    input_dim = NULL, input_names = NULL, output_names = NULL
  )
}

# Dispatch on the kind of model.
agnostic_model <- function(model, pred_fun, output_type, call) {
  info <- if (inherits(model, "Converter")) {
    agnostic_from_converter(model, call)
  } else if (inherits(model, "nn")) {
    agnostic_from_neuralnet(model, call)
  } else if (is_keras_model(model)) {
    agnostic_from_keras(model, call)
  } else {
    if (is.null(pred_fun)) {
      agnostic_abort(c("{.arg pred_fun} is needed for a model of class {.cls {class(model)[1]}}.",
                       "i" = "Built-in predictions exist for {.cls Converter}, {.pkg neuralnet} and Keras models; for any other model pass {.arg pred_fun} and {.arg output_type}."),
                     call = call)
    }
    if (is.null(output_type)) {
      agnostic_abort("{.arg output_type} is needed for a model of class {.cls {class(model)[1]}} ({.val regression} or {.val classification}).",
                     call = call)
    }
    list(converter = NULL, pred_fun = NULL, output_type = NULL, input_dim = NULL, input_names = NULL, output_names = NULL)
  }
  if (!is.null(pred_fun)) {
    # a user prediction function replaces the built-in one (also for a Converter)
    info$pred_fun <- check_pred_fun(pred_fun, call)
  }
  if (!is.null(output_type)) info$output_type <- check_output_type(output_type, call)
  info
}
