# Validate innsight's named-list model format and split it into what the Rust core
# needs: a JSON description without weights, and a flat named list of weight arrays
# ("layers.<i>.<name>"). Structural checks that need shapes (shape inference, cycles)
# happen in Rust, which names the offending layer.

# The layer types of the list format and, per type, the weight entries it carries
# (required ones first) and the hyper-parameters that are passed through.
list_layer_types <- list(
  Dense = list(weights = c("weight", "bias"), required = c("weight", "bias", "activation_name"),
               params = c("activation_name", "activation_args")),
  Conv1D = list(weights = c("weight", "bias"), required = c("weight", "bias", "activation_name"),
                params = c("activation_name", "activation_args", "stride", "dilation", "padding", "groups")),
  Conv2D = list(weights = c("weight", "bias"), required = c("weight", "bias", "activation_name"),
                params = c("activation_name", "activation_args", "stride", "dilation", "padding", "groups")),
  MaxPooling1D = list(required = "kernel_size", params = c("kernel_size", "strides")),
  MaxPooling2D = list(required = "kernel_size", params = c("kernel_size", "strides")),
  AveragePooling1D = list(required = "kernel_size", params = c("kernel_size", "strides")),
  AveragePooling2D = list(required = "kernel_size", params = c("kernel_size", "strides")),
  GlobalPooling = list(required = "method", params = "method"),
  BatchNorm = list(weights = c("gamma", "beta", "run_mean", "run_var"),
                   required = c("num_features", "gamma", "eps", "run_mean", "run_var"),
                   params = c("num_features", "eps")),
  Flatten = list(params = c("start_dim", "end_dim", "data_format")),
  Padding = list(required = "padding", params = c("padding", "mode", "value")),
  Concatenate = list(required = "axis", params = "axis"),
  Add = list(),
  Activation = list(required = "act_name", params = c("act_name", "activation_args")),
  Skipping = list(),
  Multiply = list(),
  Reshape = list(required = "shape", params = "shape")
)

# Hyper-parameters that are vectors in the list format (kept as JSON arrays).
vector_params <- c("stride", "dilation", "padding", "kernel_size", "strides", "shape")

as_dim_list <- function(x, arg, call) {
  if (is.null(x)) return(NULL)
  if (!is.list(x)) x <- list(x)
  ok <- length(x) > 0 && all(vapply(x, function(d) is_integerish(d) && length(d) >= 1 && all(d >= 1), logical(1)))
  if (!ok) {
    innsight_abort("{.arg {arg}} must be a vector of positive whole numbers or a list of such vectors (one per input layer).",
                   kind = "model", call = call)
  }
  lapply(x, as.integer)
}

check_node_ids <- function(x, arg, n_layers, call) {
  if (!is_integerish(x) || length(x) == 0 || any(x < 1) || any(x > n_layers)) {
    innsight_abort("{.arg {arg}} must contain layer indices between 1 and {n_layers}.", kind = "model", call = call)
  }
  as.integer(x)
}

# Convert an array-like weight to a plain double array.
as_weight <- function(x, what, call) {
  # a double array is passed on as it is (no copy of large weights), and so is a
  # weight drawn while writing the blob (imagenet_model()'s random weights)
  if (inherits(x, "innsight_draw")) return(x)
  if (is.double(x) && (is.array(x) || is.null(attributes(x)))) return(x)
  if (is.data.frame(x)) x <- as.matrix(x)
  x <- tryCatch(as.array(x), error = function(e) NULL)
  if (is.null(x) || !(is.numeric(x) || is.logical(x))) {
    innsight_abort("{.field {what}} must be a numeric array.", kind = "model", call = call)
  }
  storage.mode(x) <- "double"
  x
}

normalise_layer <- function(layer, i, n_layers, call) {
  where <- paste0("layers[[", i, "]]")
  if (!is.list(layer)) {
    innsight_abort("{.field {where}} must be a list describing one layer.", kind = "model", call = call)
  }
  type <- layer$type
  if (!is.character(type) || length(type) != 1 || !type %in% names(list_layer_types)) {
    innsight_abort(c("{.field {where}$type} must be one of {.or {.val {names(list_layer_types)}}}.",
                     "x" = "Got {.val {format(type)}}."), kind = "model", call = call)
  }
  info <- list_layer_types[[type]]
  # decision 2: `dim` is accepted as an alias of Concatenate's `axis`
  if (type == "Concatenate" && is.null(layer$axis) && !is.null(layer$dim)) layer$axis <- layer$dim
  missing <- setdiff(info$required, names(layer))
  if (length(missing) > 0) {
    innsight_abort("Layer {i} ({type}) lacks the required entr{?y/ies} {.field {missing}}.", kind = "model", call = call)
  }
  if (is.null(layer$input_layers)) {
    innsight_warn("Layer {i} ({type}) has no {.field input_layers}; assuming the previous layer ({i - 1}).")
    layer$input_layers <- i - 1
  }
  if (is.null(layer$output_layers)) {
    innsight_warn("Layer {i} ({type}) has no {.field output_layers}; assuming {if (i == n_layers) 'a model output (-1)' else paste0('the next layer (', i + 1, ')')}.")
    layer$output_layers <- if (i == n_layers) -1 else i + 1
  }
  for (key in c("input_layers", "output_layers")) {
    v <- unlist(layer[[key]])
    if (!is_integerish(v) || length(v) == 0) {
      innsight_abort("{.field {where}${key}} must be a vector of layer indices.", kind = "model", call = call)
    }
    layer[[key]] <- as.integer(v)
  }
  spec <- list(type = type, input_layers = I(layer$input_layers), output_layers = I(layer$output_layers))
  for (p in intersect(info$params, names(layer))) {
    v <- layer[[p]]
    if (p %in% c("activation_name", "act_name", "method", "mode", "data_format")) {
      if (!is.character(v) || length(v) != 1) {
        innsight_abort("{.field {where}${p}} must be a single string.", kind = "model", call = call)
      }
    } else if (p == "activation_args") {
      ok <- is.list(v) && (length(v) == 0 || (!is.null(names(v)) && all(vapply(v, function(a) {
        is.numeric(a) && length(a) == 1 && is.finite(a)
      }, logical(1)))))
      if (!ok) {
        innsight_abort("{.field {where}$activation_args} must be a named list of single numbers.",
                       kind = "model", call = call)
      }
    } else if (p %in% vector_params) {
      if (!is_integerish(v) || length(v) == 0 || any(v < 0)) {
        innsight_abort("{.field {where}${p}} must be a vector of non-negative whole numbers.", kind = "model", call = call)
      }
    } else if (!is.null(v) && !is.numeric(v)) {
      innsight_abort("{.field {where}${p}} must be numeric.", kind = "model", call = call)
    }
    spec[[p]] <- if (p %in% vector_params) I(as.numeric(v)) else v
  }
  for (d in c("dim_in", "dim_out")) {
    if (!is.null(layer[[d]])) {
      v <- layer[[d]]
      shapes <- if (is.list(v)) v else list(v)
      if (!all(vapply(shapes, function(s) is_integerish(s) && length(s) >= 1 && all(s >= 1), logical(1)))) {
        innsight_abort("{.field {where}${d}} must be a shape (positive whole numbers) or a list of shapes.",
                       kind = "model", call = call)
      }
      spec[[d]] <- if (is.list(v)) lapply(v, function(s) I(as.integer(s))) else I(as.integer(v))
    }
  }
  weights <- list()
  for (w in intersect(info$weights, names(layer))) {
    weights[[paste0("layers.", i, ".", w)]] <- as_weight(layer[[w]], paste0(where, "$", w), call)
  }
  list(spec = spec, weights = weights)
}

# Returns list(spec = <list for JSON>, weights = <named list>, input_dim = <list>)
normalise_list_model <- function(model, input_dim = NULL, call = parent.frame()) {
  if (is.null(model$layers) || !is.list(model$layers) || length(model$layers) == 0) {
    innsight_abort("A list model needs a non-empty list {.field layers}.", kind = "model", call = call)
  }
  layers <- unname(model$layers)
  n <- length(layers)
  in_dim <- as_dim_list(model$input_dim, "model$input_dim", call)
  if (is.null(in_dim)) {
    innsight_abort("A list model needs {.field input_dim}: the input shape(s) without the batch axis, channels first.",
                   kind = "model", call = call)
  }
  check_given_input_dim(input_dim, in_dim, call)
  if (any(lengths(in_dim) > 3)) {
    innsight_abort("Too many input dimensions: only tabular (F), signal (C, L) and image (C, H, W) inputs are supported.",
                   kind = "model", call = call)
  }
  if (is.null(model$input_nodes)) {
    innsight_warn("The model has no {.field input_nodes}; assuming the first layer receives the input.")
    model$input_nodes <- 1L
  }
  if (is.null(model$output_nodes)) {
    innsight_warn("The model has no {.field output_nodes}; assuming the last layer is the output.")
    model$output_nodes <- n
  }
  input_nodes <- check_node_ids(unlist(model$input_nodes), "model$input_nodes", n, call)
  output_nodes <- check_node_ids(unlist(model$output_nodes), "model$output_nodes", n, call)
  parts <- lapply(seq_len(n), function(i) normalise_layer(layers[[i]], i, n, call))
  spec <- list(
    input_dim = lapply(in_dim, I),
    input_nodes = I(input_nodes),
    output_nodes = I(output_nodes),
    layers = lapply(parts, `[[`, "spec")
  )
  weights <- do.call(c, c(list(list()), lapply(parts, `[[`, "weights")))
  list(spec = spec, weights = weights, input_dim = in_dim,
       output_dim = as_dim_list(model$output_dim, "model$output_dim", call))
}

# `input_dim` given to the Converter is only cross-checked against the model's.
check_given_input_dim <- function(input_dim, in_dim, call = parent.frame()) {
  given <- as_dim_list(input_dim, "input_dim", call)
  if (!is.null(given) && !identical(given, in_dim)) {
    innsight_abort(c("{.arg input_dim} does not match the model's {.field input_dim}.",
                     "x" = "Given: {.val {format_dims(given)}}; model: {.val {format_dims(in_dim)}}."),
                   kind = "model", call = call)
  }
  invisible(given)
}

format_dims <- function(dims) {
  vapply(dims, function(d) paste0("(", paste(d, collapse = ", "), ")"), character(1))
}
