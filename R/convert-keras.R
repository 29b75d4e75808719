# Keras models (through reticulate) -> innsight's list format.
#
# Works for Keras 3 (`keras.src.*` classes) and Keras 2 (`keras.engine.*`,
# `keras.src.engine.*`, `tf_keras.src.engine.*`). The structure is read from the
# model's serialised config (`get_config()`, the same documented format Keras saves
# models in), the weights from each layer's `get_weights()`. Four steps:
#
# 1. keras_graph(): one model config -> its layers with their inbound layer
#    references, inputs and outputs (Sequential configs become chains).
# 2. keras_expand(): nested Sequential/functional sub-models are inlined, which
#    gives one flat list of "nodes" (a Keras layer each) with the ids of their inputs.
# 3. keras_shapes(): shape inference in Keras' own layout (needed for "same"
#    padding, axis mapping and the checks).
# 4. keras_translate(): nodes -> list-format layers, in the core's channels-first
#    layout: kernels permuted, channel axes and Concatenate axes mapped, Flatten
#    marked with the model's flattening order, "same" padding made explicit, and an
#    activation layer merged into a preceding linear Dense/Conv layer.

#' Converting Keras models
#'
#' @description
#' [`Converter`] accepts Keras models (objects made through \pkg{reticulate},
#' e.g. by the \pkg{keras} or \pkg{keras3} R packages or `reticulate::import("keras")`):
#' Keras 3 and Keras 2 (`tf.keras`, `tf_keras`), Sequential and functional models.
#' The model is read once, through its configuration and weights; afterwards the
#' converter needs neither Python nor Keras.
#'
#' @details
#' **Layers.** `InputLayer`, `Dense`, `Conv1D`, `Conv2D`, `MaxPooling1D/2D`,
#' `AveragePooling1D/2D`, `GlobalAveragePooling1D/2D`, `GlobalMaxPooling1D/2D`,
#' `BatchNormalization` (on the channel axis), `Flatten`, `ZeroPadding1D/2D`, `Add`,
#' `Concatenate`, `Activation`, `ReLU` (also leaky; no `max_value`/`threshold`),
#' `LeakyReLU`, `Softmax` (channel axis), and `Dropout`, `SpatialDropout1D/2D`,
#' `AlphaDropout`, `GaussianDropout` and `GaussianNoise`, which do nothing at
#' prediction time and are left out. Activations: `linear`, `relu`, `leaky_relu`,
#' `sigmoid`, `softmax`, `tanh`, `softplus`, `elu`, `selu`, `gelu` (exact) and
#' `silu`/`swish`. Any other layer or activation is an error of class
#' `innsight_error_keras` that names the layer and its class. Nested Sequential and
#' functional sub-models are inlined; a layer (or sub-model) that is called more
#' than once (shared weights) is an error.
#'
#' **Layout.** Keras images are channels last, innsight computes channels first:
#' `input_dim` and `output_dim` are given channels first, convolution kernels are
#' permuted, `Flatten` keeps Keras' flattening order and `Concatenate` axes are
#' mapped to the same axis of the channels-first layout. Pass data to the methods
#' and to [predict()][predict.Converter] in Keras' layout with `channels_first =
#' FALSE`. Models with `data_format = "channels_first"` layers are converted too
#' (mixing both is an error).
#'
#' **Padding.** `"valid"` and `"same"` (TensorFlow's rule: the smaller half of an
#' odd total padding goes before, the larger after), and `"causal"` for `Conv1D`,
#' become explicit (possibly asymmetric) paddings. A max-pooling layer with `"same"`
#' padding gets a `Padding` layer that repeats the edge values, which gives exactly
#' Keras' result (every window that reaches into the padding holds the edge value it
#' repeats). Keras leaves padded positions out of border averages, which a padding
#' layer cannot reproduce, so an average-pooling layer with `"same"` padding is an
#' error when it actually pads.
#'
#' **Activations as layers.** An `Activation`, `ReLU`, `LeakyReLU` or `Softmax` layer
#' that directly follows a `Dense` or convolution layer without activation, and is
#' that layer's only consumer, is merged into it (as innsight always did, so that
#' e.g. LRP treats them as one layer); otherwise it stays a layer of its own.
#'
#' @name keras_models
#' @seealso [`Converter`], [load_images()], [imagenet_preprocess()]
#' @examplesIf nzchar(Sys.getenv("RETICULATE_PYTHON")) && requireNamespace("reticulate", quietly = TRUE) && reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' inp <- keras$Input(shape = list(8L, 8L, 3L))
#' h <- keras$layers$Conv2D(4L, 3L, padding = "same", activation = "relu")(inp)
#' h <- keras$layers$MaxPooling2D()(h)
#' out <- keras$layers$Dense(2L, activation = "softmax")(keras$layers$Flatten()(h))
#' model <- keras$Model(inp, out)
#' conv <- Converter$new(model)
#' x <- array(runif(2 * 8 * 8 * 3), c(2, 8, 8, 3))
#' predict(conv, x, channels_first = FALSE)
#' model$predict(x, verbose = 0L)
NULL

# Class names of Keras models (Keras 3, Keras 2 in its various module paths).
keras_model_class_re <- paste0(
  "^(tf_keras|keras|tensorflow\\.python\\.keras|tensorflow\\.keras)(\\.src)?\\.",
  "(engine\\.(training|functional|sequential)|models\\.(model|functional|sequential))\\.",
  "(Model|Functional|Sequential)$"
)

#' Whether an object is a Keras model
#'
#' Duck typing on reticulate objects: a Keras 3 or Keras 2 model class, or any
#' Python object with the attributes `layers`, `get_config` and `get_weights`.
#' @param model Any R object.
#' @return `TRUE` or `FALSE`.
#' @noRd
is_keras_model <- function(model) {
  if (!inherits(model, "python.builtin.object")) return(FALSE)
  if (any(grepl(keras_model_class_re, class(model)))) return(TRUE)
  if (!requireNamespace("reticulate", quietly = TRUE)) return(FALSE)
  isTRUE(tryCatch(
    all(vapply(c("layers", "get_config", "get_weights"), function(a) reticulate::py_has_attr(model, a), logical(1))),
    error = function(e) FALSE
  ))
}

# An error about a Keras model: classes innsight_error_keras + innsight_error_<kind>.
keras_abort <- function(message, kind = "model", call = parent.frame(), .envir = parent.frame()) {
  cli::cli_abort(message, class = c("innsight_error_keras", paste0("innsight_error_", kind), "innsight_error"),
                 call = call, .envir = .envir)
}

# Python values (if a model was made with convert = FALSE) -> R values.
keras_r <- function(x) {
  if (inherits(x, "python.builtin.object")) reticulate::py_to_r(x) else x
}

# A config entry (list of ints, int, or NULL) -> integer vector.
keras_ints <- function(x) {
  if (is.null(x)) return(NULL)
  as.integer(unlist(x))
}

# A shape from a config (`list(NULL, 8L, 8L, 3L)`) without the batch axis.
keras_shape_from_config <- function(batch_shape, what, call) {
  s <- lapply(batch_shape, function(d) if (is.null(d)) NA_integer_ else as.integer(d))
  s <- unlist(s[-1])
  if (length(s) == 0 || anyNA(s)) {
    keras_abort(c("The input shape of {what} is not fully known.",
                  "i" = "Give the model an input with a fixed shape, e.g. {.code keras$Input(shape = c(32, 32, 3))}."),
                call = call)
  }
  s
}

# ---- 1. One model config -> layers with inbound references --------------------------

# A reference to one output tensor of a layer: list(name, tensor).
keras_ref <- function(name, tensor = 0L) list(name = as.character(name), tensor = as.integer(tensor))

# Triples [name, node_index, tensor_index] (one, or a list of them) -> references.
keras_triples <- function(x) {
  if (length(x) == 0) return(list())
  if (is.character(x[[1]])) x <- list(x)
  lapply(x, function(t) keras_ref(t[[1]], t[[3]]))
}

# All keras tensors in a Keras 3 node's `args`, in order.
keras3_tensor_refs <- function(x) {
  if (!is.list(x)) return(list())
  if (identical(x$class_name, "__keras_tensor__")) {
    h <- x$config$keras_history
    return(list(keras_ref(h[[1]], h[[3]])))
  }
  do.call(c, c(list(list()), lapply(unname(x), keras3_tensor_refs)))
}

# The inbound references of one layer of a functional config.
keras_inbound <- function(entry, name, call) {
  nodes <- entry$inbound_nodes
  if (length(nodes) == 0) return(list())
  if (length(nodes) > 1) {
    keras_abort(c("Layer {.val {name}} ({.cls {entry$class_name}}) is called {length(nodes)} times in the model.",
                  "x" = "Shared layers (the same weights applied to several inputs) are not supported."),
                call = call)
  }
  node <- nodes[[1]]
  if (is.list(node) && !is.null(names(node)) && "args" %in% names(node)) {
    return(keras3_tensor_refs(node$args))            # Keras 3: list(args = ..., kwargs = ...)
  }
  lapply(node, function(t) keras_ref(t[[1]], t[[3]]))  # Keras 2: list of [name, node, tensor, kwargs]
}

keras_entry_name <- function(entry) {
  as.character(entry$name %||% entry$config$name)
}

# A model config -> list(layers = list(list(name, class_name, config, inbound, entry)),
# inputs = names of the input layers, outputs = references, input_shapes).
keras_graph <- function(config, class_name, name, live, call) {
  entries <- config$layers
  if (is.null(entries) && is.null(names(config))) entries <- config  # very old Sequential configs
  if (length(entries) == 0) {
    keras_abort("The Keras model {.val {name}} has no layers.", call = call)
  }
  if (identical(class_name, "Sequential") || is.null(config$input_layers)) {
    layers <- list()
    prev <- NULL
    inputs <- character()
    for (k in seq_along(entries)) {
      e <- entries[[k]]
      nm <- keras_entry_name(e)
      if (identical(e$class_name, "InputLayer")) {
        if (k != 1) keras_abort("The Sequential model {.val {name}} has an InputLayer in position {k}.", call = call)
        inputs <- nm
        layers[[length(layers) + 1]] <- list(name = nm, class_name = e$class_name, config = e$config, inbound = list())
        prev <- nm
        next
      }
      if (is.null(prev)) {
        # no InputLayer in the config: make one from the first layer's declared shape
        nm_in <- paste0(name, "_input")
        shape <- e$config$batch_input_shape %||% e$config$batch_shape %||% config$build_input_shape
        if (is.null(shape)) {
          shape <- tryCatch(keras_r(live$input_shape), error = function(err) NULL)
        }
        if (is.null(shape)) {
          keras_abort(c("The Sequential model {.val {name}} has no known input shape.",
                        "i" = "Build it first, e.g. with an {.code Input()} layer or by calling it on data."),
                      call = call)
        }
        layers[[1]] <- list(name = nm_in, class_name = "InputLayer",
                            config = list(name = nm_in, batch_shape = shape), inbound = list())
        inputs <- nm_in
        prev <- nm_in
      }
      layers[[length(layers) + 1]] <- list(name = nm, class_name = e$class_name, config = e$config,
                                           inbound = list(keras_ref(prev)))
      prev <- nm
    }
    return(list(layers = layers, inputs = inputs, outputs = list(keras_ref(prev))))
  }
  layers <- lapply(entries, function(e) {
    nm <- keras_entry_name(e)
    list(name = nm, class_name = e$class_name, config = e$config, inbound = keras_inbound(e, nm, call))
  })
  list(layers = layers,
       inputs = vapply(keras_triples(config$input_layers), `[[`, "", "name"),
       outputs = keras_triples(config$output_layers))
}

# ---- 2. Inline nested models into one flat node list ----------------------------------

keras_model_classes <- c("Sequential", "Functional", "Model")

keras_is_submodel <- function(layer) {
  layer$class_name %in% keras_model_classes || !is.null(layer$config$layers)
}

# Expand the graph `g` (of the live model `live`) into the node store `st`.
# `bind`: NULL for the top-level model, else the node ids its inputs connect to.
# Returns the node ids of the graph's outputs.
keras_expand <- function(g, live, prefix, bind, st, call) {
  resolved <- list()  # local layer name -> node ids of its output tensors
  ref_id <- function(ref) {
    ids <- resolved[[ref$name]]
    if (is.null(ids) || ref$tensor + 1 > length(ids)) {
      keras_abort("Layer {.val {ref$name}} is referenced but could not be resolved in the model's graph.",
                  kind = "internal", call = call)
    }
    ids[[ref$tensor + 1]]
  }
  pending <- g$layers
  while (length(pending) > 0) {
    ready <- vapply(pending, function(l) all(vapply(l$inbound, function(r) !is.null(resolved[[r$name]]), logical(1))),
                    logical(1))
    if (!any(ready)) {
      keras_abort("The model's graph could not be ordered (unresolved inputs of {.val {pending[[1]]$name}}).",
                  kind = "internal", call = call)
    }
    for (l in pending[ready]) {
      in_ids <- vapply(l$inbound, ref_id, "")
      if (identical(l$class_name, "InputLayer")) {
        if (is.null(bind)) {
          id <- keras_add_node(st, paste0(prefix, l$name), l, in_ids, NULL)
          st$inputs <- c(st$inputs, id)
          resolved[[l$name]] <- id
        } else {
          k <- match(l$name, g$inputs)
          if (is.na(k) || k > length(bind)) {
            keras_abort("Input {.val {l$name}} of a nested model has no connection.", kind = "internal", call = call)
          }
          resolved[[l$name]] <- bind[[k]]
        }
      } else if (keras_is_submodel(l)) {
        sub_live <- live$get_layer(l$name)
        sub <- keras_graph(l$config, l$class_name, l$name, sub_live, call)
        if (length(sub$inputs) != length(in_ids)) {
          keras_abort("The nested model {.val {l$name}} has {length(sub$inputs)} input(s) but receives {length(in_ids)}.",
                      call = call)
        }
        resolved[[l$name]] <- keras_expand(sub, sub_live, paste0(prefix, l$name, "/"), as.list(in_ids), st, call)
      } else {
        resolved[[l$name]] <- keras_add_node(st, paste0(prefix, l$name), l, in_ids, live)
      }
    }
    pending <- pending[!ready]
  }
  if (!is.null(bind) && length(g$inputs) == 0) {
    keras_abort("A nested model has no inputs.", kind = "internal", call = call)
  }
  vapply(g$outputs, ref_id, "")
}

keras_add_node <- function(st, id, layer, in_ids, live) {
  st$nodes[[id]] <- list(id = id, name = layer$name, class_name = layer$class_name,
                         config = layer$config, inputs = unname(in_ids), live = live)
  id
}

# ---- 3. Shapes (Keras layout, no batch axis) -------------------------------------------

keras_tuple <- function(x, n, what, layer, call) {
  v <- keras_ints(x)
  if (length(v) == 1) v <- rep(v, n)
  if (length(v) != n) {
    keras_abort("Layer {.val {layer}}: {.field {what}} must have {n} value{?s}, got {length(v)}.", call = call)
  }
  v
}

# TensorFlow's "same" rule: output ceil(n / s); total padding max(k_eff - s, 0) if
# n %% s == 0 else max(k_eff - n %% s, 0); the smaller half goes first.
keras_same_pad <- function(n, k_eff, s) {
  total <- ifelse(n %% s == 0, pmax(k_eff - s, 0), pmax(k_eff - n %% s, 0))
  before <- total %/% 2
  rbind(before = before, after = total - before)
}

# Per-axis padding (2 x d matrix) of a conv/pool with the given geometry.
keras_padding <- function(padding, n, k_eff, s, layer, call) {
  switch(padding,
    valid = rbind(before = rep(0, length(n)), after = rep(0, length(n))),
    same = keras_same_pad(n, k_eff, s),
    causal = rbind(before = k_eff - 1, after = rep(0, length(n))),
    keras_abort("Layer {.val {layer}}: padding {.val {padding}} is not supported (only {.val valid} and {.val same}).",
                kind = "layer", call = call)
  )
}

# Spatial axes and channel axis of a Keras-layout shape.
keras_split <- function(shape, channels_last) {
  r <- length(shape)
  if (channels_last) list(spatial = shape[-r], channels = shape[r])
  else list(spatial = shape[-1], channels = shape[1])
}

keras_join <- function(spatial, channels, channels_last) {
  if (channels_last) c(spatial, channels) else c(channels, spatial)
}

# ---- 4. Nodes -> list-format layers ------------------------------------------------------

keras_identity_classes <- c("Dropout", "SpatialDropout1D", "SpatialDropout2D", "AlphaDropout",
                            "GaussianDropout", "GaussianNoise")
keras_activation_classes <- c("Activation", "ReLU", "LeakyReLU", "Softmax")

keras_supported_classes <- c(
  "InputLayer", "Dense", "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
  "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
  "GlobalMaxPooling2D", "BatchNormalization", "Flatten", "ZeroPadding1D", "ZeroPadding2D", "Add",
  "Concatenate", keras_activation_classes, keras_identity_classes
)

# Keras aliases of class names (Keras 2 and 3 spellings) -> the canonical name.
keras_class_aliases <- c(
  Convolution1D = "Conv1D", Convolution2D = "Conv2D", MaxPool1D = "MaxPooling1D", MaxPool2D = "MaxPooling2D",
  AvgPool1D = "AveragePooling1D", AvgPool2D = "AveragePooling2D", GlobalAvgPool1D = "GlobalAveragePooling1D",
  GlobalAvgPool2D = "GlobalAveragePooling2D", GlobalMaxPool1D = "GlobalMaxPooling1D",
  GlobalMaxPool2D = "GlobalMaxPooling2D"
)

keras_canonical_class <- function(cls) {
  if (cls %in% names(keras_class_aliases)) keras_class_aliases[[cls]] else cls
}

# A Keras activation (string or serialised dict) -> list(name, args) in innsight's terms.
keras_activation <- function(act, layer, call) {
  if (is.null(act)) return(list(name = "linear", args = NULL))
  if (is.list(act)) act <- act$config$name %||% act$config %||% act$class_name
  act <- as.character(act)[1]
  map <- c(linear = "linear", relu = "relu", sigmoid = "sigmoid", softmax = "softmax", tanh = "tanh",
           softplus = "softplus", elu = "elu", selu = "selu", gelu = "gelu", silu = "silu", swish = "silu",
           leaky_relu = "leaky_relu")
  if (!act %in% names(map)) {
    keras_abort(c("Layer {.val {layer}}: the activation {.val {act}} is not supported.",
                  "i" = "Supported: {.val {names(map)}}."), kind = "layer", call = call)
  }
  # keras' leaky_relu activation function has slope 0.2
  args <- if (act == "leaky_relu") list(negative_slope = 0.2) else NULL
  list(name = map[[act]], args = args)
}

# The activation of a ReLU / LeakyReLU / Softmax / Activation layer.
keras_activation_layer <- function(node, in_shape, channels_last, call) {
  cfg <- node$config
  switch(node$class_name,
    Activation = keras_activation(cfg$activation, node$name, call),
    ReLU = {
      slope <- cfg$negative_slope %||% 0
      if (!is.null(cfg$max_value) || !isTRUE(all.equal(cfg$threshold %||% 0, 0))) {
        keras_abort(c("Layer {.val {node$name}} ({.cls ReLU}): {.field max_value} and {.field threshold} are not supported.",
                      "i" = "Only the plain (or leaky) ReLU can be converted."), kind = "layer", call = call)
      }
      if (slope == 0) list(name = "relu", args = NULL)
      else list(name = "leaky_relu", args = list(negative_slope = slope))
    },
    LeakyReLU = list(name = "leaky_relu", args = list(negative_slope = cfg$negative_slope %||% cfg$alpha %||% 0.3)),
    Softmax = {
      r <- length(in_shape)
      ax <- keras_ints(cfg$axis %||% -1L)
      ax <- ifelse(ax < 0, r + 1 + ax, ax)
      chan <- if (channels_last || r == 1) r else 1
      if (length(ax) != 1 || ax != chan) {
        keras_abort("Layer {.val {node$name}} ({.cls Softmax}): only a softmax over the channel axis is supported.",
                    kind = "layer", call = call)
      }
      list(name = "softmax", args = NULL)
    }
  )
}

# The model-wide data format (channels_last unless its layers say otherwise).
keras_data_format <- function(nodes, call) {
  fmt <- function(classes) {
    v <- unlist(lapply(nodes, function(n) if (n$class_name %in% classes) n$config$data_format))
    unique(v[!is.na(v)])
  }
  spatial <- fmt(c("Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
                   "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
                   "ZeroPadding2D"))
  if (length(spatial) > 1) {
    keras_abort("The model mixes {.val channels_first} and {.val channels_last} layers; this is not supported.",
                call = call)
  }
  if (length(spatial) == 0) spatial <- fmt("Flatten")
  if (length(spatial) != 1) "channels_last" else spatial
}

# Channels-first shape for the core.
keras_to_internal <- function(shape, channels_last) {
  r <- length(shape)
  if (channels_last && r > 1) c(shape[r], shape[-r]) else shape
}

# The weights of a node's layer as R double arrays. `perm` (0-based) permutes the
# first weight (the kernel) on the Python side: a transposed numpy view converts to
# R's column-major order without a strided copy, which matters for VGG's 100M-entry
# dense kernel.
keras_weights <- function(node, call, perm = NULL) {
  get <- reticulate::py_eval(
    "lambda layer, perm: [w.transpose(perm) if (i == 0 and perm is not None) else w for i, w in enumerate(layer.get_weights())]"
  )
  w <- tryCatch(keras_r(get(node$live$get_layer(node$name), if (!is.null(perm)) as.list(as.integer(perm)))),
                error = function(e) {
    keras_abort("Could not read the weights of layer {.val {node$name}}: {conditionMessage(e)}", call = call)
  })
  lapply(w, function(a) {
    a <- as.array(a)
    if (storage.mode(a) != "double") storage.mode(a) <- "double"
    a
  })
}

# Conversion of one node. Returns list(layers = list of list-format layers (their
# `input_layers` given as node ids or "prev" for the previous new layer), out_shape),
# or list(alias = <node id>, out_shape) for identity layers.
keras_node_layers <- function(node, in_shapes, cl, call) {
  cls <- node$class_name
  cfg <- node$config
  nm <- node$name
  x <- if (length(in_shapes) > 0) in_shapes[[1]]
  one_input <- function() {
    if (length(in_shapes) != 1) {
      keras_abort("Layer {.val {nm}} ({.cls {cls}}) has {length(in_shapes)} inputs; one was expected.", call = call)
    }
  }
  need_rank <- function(ranks, what) {
    if (!length(x) %in% ranks) {
      keras_abort("Layer {.val {nm}} ({.cls {cls}}) expects {what} input, but its input has shape ({paste(x, collapse = ', ')}).",
                  kind = "layer", call = call)
    }
  }
  fmt_ok <- function() {
    f <- cfg$data_format
    if (!is.null(f) && !identical(f == "channels_last", cl)) {
      keras_abort("Layer {.val {nm}} has {.field data_format} {.val {f}}, unlike the rest of the model.", call = call)
    }
  }
  if (cls %in% keras_identity_classes) {
    one_input()
    return(list(alias = node$inputs[[1]], out_shape = x))
  }
  switch(cls,
    InputLayer = {
      shape <- keras_shape_from_config(cfg$batch_shape %||% cfg$batch_input_shape, paste0("input ", nm), call)
      list(layers = list(list(type = "Skipping")), out_shape = shape, input_shape = shape)
    },
    Dense = {
      one_input()
      need_rank(1, "a flat (rank 1)")
      w <- keras_weights(node, call, perm = c(1, 0))
      units <- as.integer(cfg$units)
      act <- keras_activation(cfg$activation, nm, call)
      layer <- list(type = "Dense", weight = w[[1]],
                    bias = if (isFALSE(cfg$use_bias)) rep(0, units) else as.vector(w[[2]]),
                    activation_name = act$name)
      if (!is.null(act$args)) layer$activation_args <- act$args
      list(layers = list(layer), out_shape = units)
    },
    Conv1D = , Conv2D = {
      one_input()
      fmt_ok()
      d <- if (cls == "Conv1D") 1L else 2L
      need_rank(d + 1, paste0("a rank-", d + 1))
      if (!is.null(cfg$groups) && cfg$groups != 1) {
        keras_abort("Layer {.val {nm}} ({.cls {cls}}): grouped convolutions ({.field groups} = {cfg$groups}) are not supported.",
                    kind = "layer", call = call)
      }
      sp <- keras_split(x, cl)
      k <- keras_tuple(cfg$kernel_size, d, "kernel_size", nm, call)
      s <- keras_tuple(cfg$strides %||% 1L, d, "strides", nm, call)
      dil <- keras_tuple(cfg$dilation_rate %||% 1L, d, "dilation_rate", nm, call)
      if (any(s > 1) && any(dil > 1)) {
        keras_abort("Layer {.val {nm}}: strides > 1 together with dilation_rate > 1 is not supported.", kind = "layer", call = call)
      }
      k_eff <- (k - 1) * dil + 1
      pad <- keras_padding(cfg$padding %||% "valid", sp$spatial, k_eff, s, nm, call)
      out_sp <- (sp$spatial + colSums(pad) - k_eff) %/% s + 1
      # Keras kernels are (k..., in, out); the core wants (out, in, k...)
      w <- keras_weights(node, call, perm = if (d == 1) c(2, 1, 0) else c(3, 2, 0, 1))
      weight <- w[[1]]
      filters <- dim(weight)[1]
      act <- keras_activation(cfg$activation, nm, call)
      layer <- list(type = cls, weight = weight,
                    bias = if (isFALSE(cfg$use_bias)) rep(0, filters) else as.vector(w[[2]]),
                    activation_name = act$name, stride = s, dilation = dil)
      if (!is.null(act$args)) layer$activation_args <- act$args
      # list format: Conv1D (left, right); Conv2D (left, right, top, bottom)
      if (any(pad > 0)) layer$padding <- if (d == 1) pad[, 1] else c(pad[, 2], pad[, 1])
      list(layers = list(layer), out_shape = keras_join(out_sp, filters, cl))
    },
    MaxPooling1D = , MaxPooling2D = , AveragePooling1D = , AveragePooling2D = {
      one_input()
      fmt_ok()
      d <- if (grepl("1D$", cls)) 1L else 2L
      need_rank(d + 1, paste0("a rank-", d + 1))
      sp <- keras_split(x, cl)
      k <- keras_tuple(cfg$pool_size, d, "pool_size", nm, call)
      s <- keras_tuple(cfg$strides %||% cfg$pool_size, d, "strides", nm, call)
      padding <- cfg$padding %||% "valid"
      if (!padding %in% c("valid", "same")) {
        keras_abort("Layer {.val {nm}}: padding {.val {padding}} is not supported.", kind = "layer", call = call)
      }
      pad <- keras_padding(padding, sp$spatial, k, s, nm, call)
      out_sp <- (sp$spatial + colSums(pad) - k) %/% s + 1
      layers <- list()
      if (any(pad > 0)) {
        if (startsWith(cls, "Average")) {
          keras_abort(c("Layer {.val {nm}} ({.cls {cls}}): average pooling with padding {.val same} is not supported for this input size.",
                        "x" = "Keras leaves the padded positions out of the averages at the borders; a padding layer cannot reproduce that."),
                      kind = "layer", call = call)
        }
        # Max pooling: repeating the edge values is exact, since every window that
        # reaches into the padding also holds the edge value it copies.
        layers[[1]] <- list(type = "Padding", padding = if (d == 1) pad[, 1] else c(pad[, 2], pad[, 1]),
                            mode = "replicate", value = 0)
      }
      layers[[length(layers) + 1]] <- list(type = cls, kernel_size = k, strides = s)
      list(layers = layers, out_shape = keras_join(out_sp, keras_split(x, cl)$channels, cl))
    },
    GlobalAveragePooling1D = , GlobalAveragePooling2D = , GlobalMaxPooling1D = , GlobalMaxPooling2D = {
      one_input()
      fmt_ok()
      d <- if (grepl("1D$", cls)) 1L else 2L
      need_rank(d + 1, paste0("a rank-", d + 1))
      if (isTRUE(cfg$keepdims)) {
        keras_abort("Layer {.val {nm}} ({.cls {cls}}): {.code keepdims = TRUE} is not supported.", kind = "layer", call = call)
      }
      method <- if (grepl("Max", cls)) "max" else "average"
      list(layers = list(list(type = "GlobalPooling", method = method)), out_shape = keras_split(x, cl)$channels)
    },
    BatchNormalization = {
      one_input()
      r <- length(x)
      ax <- keras_ints(cfg$axis %||% -1L)
      ax <- ifelse(ax < 0, r + 1 + ax, ax)
      chan <- if (cl || r == 1) r else 1
      if (length(ax) != 1 || ax != chan) {
        keras_abort(c("Layer {.val {nm}} ({.cls BatchNormalization}): normalising axis {.val {keras_ints(cfg$axis)}} is not supported.",
                      "i" = "Only the channel axis can be normalised."), kind = "layer", call = call)
      }
      if (isTRUE(cfg$renorm)) {
        keras_abort("Layer {.val {nm}} ({.cls BatchNormalization}): batch renormalisation is not supported.",
                    kind = "layer", call = call)
      }
      w <- keras_weights(node, call)
      nf <- x[chan]
      k <- 1
      gamma <- if (isFALSE(cfg$scale)) rep(1, nf) else { k <- k + 1; as.vector(w[[k - 1]]) }
      beta <- if (isFALSE(cfg$center)) rep(0, nf) else { k <- k + 1; as.vector(w[[k - 1]]) }
      layer <- list(type = "BatchNorm", num_features = nf, eps = cfg$epsilon %||% 1e-3, gamma = gamma, beta = beta,
                    run_mean = as.vector(w[[k]]), run_var = as.vector(w[[k + 1]]))
      list(layers = list(layer), out_shape = x)
    },
    Flatten = {
      one_input()
      # Keras flattens channels last: a channels_first Flatten moves the channels
      # to the end before flattening, a channels_last one flattens as the data lie.
      f <- cfg$data_format %||% "channels_last"
      order <- if (f == "channels_first" && !cl) "channels_last"
               else if (f == "channels_last" && cl) "channels_last"
               else if (f == "channels_last" && !cl) "channels_first"
               else NULL
      if (is.null(order) && length(x) > 1) {
        keras_abort("Layer {.val {nm}} ({.cls Flatten}): {.field data_format} {.val channels_first} in a channels-last model is not supported.",
                    kind = "layer", call = call)
      }
      list(layers = list(list(type = "Flatten", data_format = order %||% "channels_last")), out_shape = prod(x))
    },
    ZeroPadding1D = {
      one_input()
      need_rank(2, "a rank-2")
      p <- keras_tuple(cfg$padding, 2, "padding", nm, call)
      sp <- keras_split(x, cl)
      list(layers = list(list(type = "Padding", padding = p, mode = "constant", value = 0)),
           out_shape = keras_join(sp$spatial + sum(p), sp$channels, cl))
    },
    ZeroPadding2D = {
      one_input()
      fmt_ok()
      need_rank(3, "a rank-3")
      p <- cfg$padding
      p <- if (length(p) == 2 && all(lengths(p) == 2)) {
        matrix(keras_ints(p), 2)  # columns: height (top, bottom), width (left, right)
      } else {
        matrix(rep(keras_tuple(p, 2, "padding", nm, call), each = 2), 2)
      }
      sp <- keras_split(x, cl)
      list(layers = list(list(type = "Padding", padding = c(p[, 2], p[, 1]), mode = "constant", value = 0)),
           out_shape = keras_join(sp$spatial + colSums(p), sp$channels, cl))
    },
    Add = {
      if (!all(vapply(in_shapes, identical, logical(1), x))) {
        keras_abort("Layer {.val {nm}} ({.cls Add}): inputs of different shapes (broadcasting) are not supported.",
                    kind = "layer", call = call)
      }
      list(layers = list(list(type = "Add")), out_shape = x)
    },
    Concatenate = {
      r <- length(x)
      ax <- keras_ints(cfg$axis %||% -1L)
      ax <- if (ax < 0) r + 1 + ax else ax  # 1..r, the batch axis not counted
      if (ax < 1 || ax > r || any(lengths(in_shapes) != r)) {
        keras_abort("Layer {.val {nm}} ({.cls Concatenate}): axis {.val {cfg$axis}} does not fit inputs of rank {r}.",
                    kind = "layer", call = call)
      }
      out <- x
      out[ax] <- sum(vapply(in_shapes, `[`, 0, ax))
      # position in the core's channels-first layout (batch axis counted as 1)
      internal <- if (cl && r > 1) (if (ax == r) 1 else ax + 1) else ax
      list(layers = list(list(type = "Concatenate", axis = internal + 1)), out_shape = out)
    },
    ReLU = , LeakyReLU = , Softmax = , Activation = {
      one_input()
      act <- keras_activation_layer(node, x, cl, call)
      if (act$name == "softmax" && !cl && length(x) > 1 && cls == "Activation") {
        keras_abort("Layer {.val {nm}}: a softmax activation on channels-first data is not supported.", kind = "layer", call = call)
      }
      layer <- list(type = "Activation", act_name = act$name)
      if (!is.null(act$args)) layer$activation_args <- act$args
      list(layers = list(layer), out_shape = x, activation = act)
    },
    keras_abort(c("Layer {.val {nm}} of class {.cls {cls}} is not supported.",
                  "i" = "Supported Keras layers: {.cls {keras_supported_classes}}."),
                kind = "layer", call = call)
  )
}

# Keras model -> innsight's list format.
keras_to_list <- function(model, call = parent.frame()) {
  if (!requireNamespace("reticulate", quietly = TRUE)) {
    keras_abort("Converting a Keras model needs the package {.pkg reticulate}.", call = call)
  }
  config <- tryCatch(keras_r(model$get_config()), error = function(e) {
    keras_abort(c("Could not read the Keras model's configuration.", "x" = conditionMessage(e)), call = call)
  })
  cls_name <- if (any(grepl("Sequential$", class(model)))) "Sequential" else "Functional"
  name <- config$name %||% "model"
  g <- keras_graph(config, cls_name, name, model, call)
  st <- new.env(parent = emptyenv())
  st$nodes <- list()
  st$inputs <- character()
  outputs <- keras_expand(g, model, "", NULL, st, call)
  st$inputs <- st$inputs[order(match(st$inputs, g$inputs))]  # the model's input order
  nodes <- st$nodes
  for (id in names(nodes)) nodes[[id]]$class_name <- keras_canonical_class(nodes[[id]]$class_name)
  cl <- keras_data_format(nodes, call) == "channels_last"

  # consumers of each node (for the activation merge)
  n_consumers <- table(factor(unlist(lapply(nodes, `[[`, "inputs")), levels = names(nodes)))

  layers <- list()
  node_out <- list()     # node id -> index of the list layer holding its output
  node_shape <- list()   # node id -> Keras-layout shape
  input_dim <- list()
  for (id in names(nodes)) {
    node <- nodes[[id]]
    in_shapes <- lapply(node$inputs, function(i) node_shape[[i]])
    conv <- keras_node_layers(node, in_shapes, cl, call)
    node_shape[[id]] <- as.integer(conv$out_shape)
    if (!is.null(conv$alias)) {
      node_out[[id]] <- node_out[[conv$alias]]
      next
    }
    if (!is.null(conv$activation)) {
      # merge into a preceding linear Dense/Conv layer used by nothing else
      src <- node$inputs[[1]]
      j <- node_out[[src]]
      prev <- layers[[j]]
      if (prev$type %in% c("Dense", "Conv1D", "Conv2D") && prev$activation_name == "linear" &&
          n_consumers[[src]] == 1 && !src %in% outputs && nodes[[src]]$class_name %in% c("Dense", "Conv1D", "Conv2D")) {
        layers[[j]]$activation_name <- conv$activation$name
        if (!is.null(conv$activation$args)) layers[[j]]$activation_args <- conv$activation$args
        layers[[j]]$dim_out <- keras_to_internal(node_shape[[id]], cl)
        node_out[[id]] <- j
        next
      }
    }
    if (!is.null(conv$input_shape)) input_dim[[id]] <- keras_to_internal(conv$input_shape, cl)
    prev_idx <- vapply(node$inputs, function(i) node_out[[i]], 0)
    for (k in seq_along(conv$layers)) {
      l <- conv$layers[[k]]
      l$input_layers <- if (k == 1) (if (length(prev_idx) == 0) 0 else prev_idx) else length(layers)
      layers[[length(layers) + 1]] <- l
    }
    layers[[length(layers)]]$dim_out <- keras_to_internal(node_shape[[id]], cl)
    node_out[[id]] <- length(layers)
  }
  input_nodes <- vapply(st$inputs, function(i) node_out[[i]], 0)
  output_nodes <- vapply(outputs, function(i) node_out[[i]], 0)
  for (i in seq_along(layers)) {
    consumers <- which(vapply(layers, function(l) i %in% l$input_layers, logical(1)))
    layers[[i]]$output_layers <- c(consumers, if (i %in% output_nodes) -1)
    if (!is.null(layers[[i]]$dim_out)) layers[[i]]$dim_out <- as.integer(layers[[i]]$dim_out)
  }
  list(
    input_dim = unname(lapply(st$inputs, function(i) input_dim[[i]])),
    input_nodes = unname(input_nodes),
    output_nodes = unname(output_nodes),
    output_dim = unname(lapply(outputs, function(i) keras_to_internal(node_shape[[i]], cl))),
    layers = layers
  )
}
