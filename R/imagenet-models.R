#' ImageNet architectures: VGG16, VGG19 and ResNet50
#'
#' @description
#' Builds one of the classic ImageNet classifiers exactly as `torchvision`
#' defines it and returns a ready [`Converter`]. The input is one RGB image of
#' shape `(3, 224, 224)` (channels first); the output is a softmax over the
#' 1000 ImageNet classes.
#'
#' * `"vgg16"`, `"vgg19"`: 13 or 16 convolutions (3x3, padding 1, ReLU) in five
#'   blocks, each block closed by a 2x2 max pooling; then the classifier
#'   25088 -> 4096 -> 4096 -> 1000 (ReLU between; dropout is the identity at
#'   inference and is left out). 138,357,544 and 143,667,240 parameters.
#' * `"resnet50"`: the 7x7 stem (stride 2, padding 3), batch normalisation,
#'   ReLU and a 3x3 max pooling (stride 2, padding 1); four stages of 3, 4, 6
#'   and 3 bottleneck blocks (1x1, 3x3, 1x1 convolutions, each followed by
#'   batch normalisation; the stride sits on the 3x3 convolution as in
#'   torchvision's "v1.5"; a 1x1 projection with batch normalisation on the
#'   shortcut of each stage's first block); global average pooling and a dense
#'   layer 2048 -> 1000. Batch normalisation runs in inference mode (running
#'   statistics, `eps = 1e-5`). 25,557,032 parameters.
#'
#' With `weights = NULL` the weights are random, drawn as torchvision
#' initialises these models: convolutions from a normal distribution with
#' standard deviation \eqn{\sqrt{2 / fan_{out}}}{sqrt(2 / fan_out)} (Kaiming/He,
#' "fan_out" mode) and zero biases; VGG's dense layers from
#' \eqn{N(0, 0.01^2)}{N(0, 0.01^2)} with zero biases; ResNet's dense layer
#' uniform on \eqn{\pm 1/\sqrt{2048}}{+-1/sqrt(2048)}; batch normalisation with
#' scale 1, shift 0, running mean 0 and running variance 1. Such a model shows
#' what the methods do on the architecture (and how long they take), but its
#' explanations carry no ImageNet knowledge.
#'
#' @param arch (`character(1)`)\cr The architecture: `"vgg16"`, `"vgg19"` or
#'   `"resnet50"`.
#' @param weights (`character(1)` or `NULL`)\cr Path to a weight file for the
#'   architecture, or `NULL` (default) for random weights.
#' @param dtype (`character(1)`)\cr Precision of the converted model, `"float"`
#'   (default) or `"double"`.
#' @param seed (`numeric(1)` or `NULL`)\cr Seed for the random weights. The
#'   weights are drawn with R's random number generator; with a seed the
#'   user's generator state is restored afterwards, so `seed` does not disturb
#'   other random draws. `NULL` (default) draws from the current state. Like
#'   torchvision's float32 parameters, random weights are single-precision
#'   values in a float converter (rounded once when drawn).
#' @return A [`Converter`]. The output names are the ImageNet class names
#'   when the package provides them, otherwise the default names.
#' @examples
#' # ResNet50 with random weights (25.6 million parameters, a few seconds)
#' conv <- imagenet_model("resnet50", seed = 42)
#' length(conv$model$layers())
#' x <- array(rnorm(3 * 224 * 224), c(1, 3, 224, 224))
#' p <- predict(conv, x)
#' head(sort(p[1, ], decreasing = TRUE), 3)
#' \donttest{
#' # VGG19: 143.7 million parameters, a few GB of memory
#' vgg <- imagenet_model("vgg19", seed = 42)
#' grad <- run_grad(vgg, x, output_idx = which.max(predict(vgg, x)))
#' dim(get_result(grad))
#' }
#' @export
imagenet_model <- function(arch = c("vgg16", "vgg19", "resnet50"), weights = NULL, dtype = "float", seed = NULL) {
  call <- environment()
  arch <- imagenet_arch(arch, call = call)
  check_dtype(dtype, call = call)
  if (!is.null(seed) && (length(seed) != 1 || !is_integerish(seed))) {
    innsight_abort("{.arg seed} must be a single whole number or {.code NULL}, not {.obj_type_friendly {seed}}.",
                   call = call)
  }
  if (is.null(weights)) {
    cli::cli_inform(c("i" = "{.fn imagenet_model} ({arch}): random weights: explanations show the architecture, not ImageNet knowledge."),
                    class = "innsight_message")
    # The weights are drawn while converting, chunk by chunk straight into the
    # converter's weight blob (init = "lazy"): no tensor exists whole as R doubles.
    # Drawn like torchvision's float32 parameters, a float converter stores them in
    # single precision.
    labels <- imagenet_output_names()
    return(inet_with_seed(seed, {
      model <- imagenet_list(arch, init = "lazy")
      attr(model, "innsight_single") <- TRUE
      Converter$new(model, output_names = labels, dtype = dtype)
    }))
  } else {
    if (!is.character(weights) || length(weights) != 1 || is.na(weights)) {
      innsight_abort("{.arg weights} must be the path of a weight file or {.code NULL}, not {.obj_type_friendly {weights}}.",
                     call = call)
    }
    model <- load_imagenet_weights(imagenet_list(arch, init = "none"), arch, weights, call = call)
  }
  labels <- imagenet_output_names()
  # The list is not kept (`save_model_as_list = FALSE`): the converter holds the
  # weights once, and `model` goes out of scope on return.
  Converter$new(model, output_names = labels, dtype = dtype)
}

imagenet_arch <- function(arch, call = parent.frame()) {
  choices <- c("vgg16", "vgg19", "resnet50")
  if (identical(arch, choices)) arch <- choices[1]
  check_choice(arch, choices, "arch", call = call)
  arch
}

# Evaluate `expr` with `set.seed(seed)` and restore the user's generator state
# (including a missing `.Random.seed`) afterwards; `seed = NULL` evaluates as is.
inet_with_seed <- function(seed, expr) {
  if (is.null(seed)) return(expr)
  genv <- globalenv()
  old <- get0(".Random.seed", envir = genv, inherits = FALSE)
  on.exit({
    if (is.null(old)) {
      if (exists(".Random.seed", envir = genv, inherits = FALSE)) rm(".Random.seed", envir = genv)
    } else {
      assign(".Random.seed", old, envir = genv)
    }
  }, add = TRUE)
  set.seed(seed)
  expr
}

# The 1000 class names from `imagenet_labels()` when the package has it (it is
# provided separately); NULL (the default names) otherwise.
imagenet_output_names <- function() {
  labels_fun <- get0("imagenet_labels", envir = topenv(environment(imagenet_output_names)),
                     mode = "function", inherits = FALSE)
  if (is.null(labels_fun)) return(NULL)
  labels <- tryCatch(labels_fun(), error = function(e) NULL)
  if (is.data.frame(labels)) labels <- labels[[ncol(labels)]]
  if ((is.character(labels) || is.factor(labels)) && length(labels) == 1000 && !anyDuplicated(labels)) {
    return(as.character(labels))
  }
  NULL
}

# ---------------------------------------------------------------------------
# The architectures as innsight list models.
#
# `imagenet_list(arch, init)` returns the list model. Every layer with parameters
# also carries (ignored by the converter):
#   * `torch_name`: the module's name in torchvision's state dict ("features.0",
#     "layer1.0.conv2", "layer2.0.downsample.1", "fc", ...);
#   * `torch_params`: named character vector, list entry -> state-dict suffix
#     (e.g. c(gamma = "weight", beta = "bias", run_mean = "running_mean",
#     run_var = "running_var")). ResNet's convolutions have no bias in torchvision:
#     their `bias` is not listed there and is zero;
#   * `param_shapes`: the expected shape of every parameter entry.
# With `init = "random"` the parameters are drawn as torchvision initialises them;
# with `init = "none"` the parameter entries are left out (a weight loader fills
# them in, checking `param_shapes`); `init = "lazy"` gives the random parameters as
# draws (`inet_draw()`), drawn in the same order when the converter writes its
# weight blob (`weights_to_blob()`), so the weights equal those of "random".
imagenet_list <- function(arch, init = c("random", "none", "lazy")) {
  init <- match.arg(init)
  switch(arch,
    vgg16 = inet_vgg(c(2, 2, 3, 3, 3), init),
    vgg19 = inet_vgg(c(2, 2, 4, 4, 4), init),
    resnet50 = inet_resnet(c(3, 4, 6, 3), init),
    stop("unknown architecture ", arch)
  )
}

# A small graph builder: `add()` appends a layer fed by the layers `from` (0 = the
# model input) and returns its index; `finish()` fills in `output_layers` from the
# recorded edges and returns the list model.
inet_graph <- function() {
  layers <- list()
  add <- function(layer, from) {
    # force both first: `from` is often a call that adds layers itself
    from <- as.integer(from)
    force(layer)
    i <- length(layers) + 1L
    layer$input_layers <- from
    layers[[i]] <<- layer
    i
  }
  finish <- function(input_dim) {
    n <- length(layers)
    outs <- rep(list(integer(0)), n)
    for (i in seq_len(n)) {
      for (j in layers[[i]]$input_layers) if (j > 0) outs[[j]] <- c(outs[[j]], i)
    }
    for (i in seq_len(n)) layers[[i]]$output_layers <<- if (length(outs[[i]])) outs[[i]] else -1L
    list(input_dim = input_dim, input_nodes = 1L, output_nodes = n, layers = layers)
  }
  list(add = add, finish = finish)
}

# Random arrays with the dimensions set in place (no copy of the values), or with
# `lazy`, the recipe for drawing them later (`inet_draw()`).
inet_rnorm <- function(dims, sd, lazy = FALSE) {
  if (lazy) return(inet_draw(dims, "normal", sd = sd))
  x <- stats::rnorm(prod(dims), sd = sd)
  dim(x) <- dims
  x
}

inet_runif <- function(dims, bound, lazy = FALSE) {
  if (lazy) return(inet_draw(dims, "uniform", bound = bound))
  x <- stats::runif(prod(dims), -bound, bound)
  if (length(dims) > 1) dim(x) <- dims
  x
}

# A weight drawn when the blob is written: `dims`, the distribution and its
# parameter. `draw_values()` draws `n` values of it, in R's column-major order.
inet_draw <- function(dims, dist, sd = NULL, bound = NULL) {
  structure(list(dims = as.integer(dims), dist = dist, sd = sd, bound = bound), class = "innsight_draw")
}

draw_values <- function(d, n) {
  switch(d$dist,
    normal = stats::rnorm(n, sd = d$sd),
    uniform = stats::runif(n, -d$bound, d$bound)
  )
}

# A convolution (torchvision init: Kaiming normal, fan_out, ReLU gain; zero bias).
inet_conv <- function(c_out, c_in, k, stride = 1, padding = 0, act = "linear", name, bias = TRUE,
                       init = "random") {
  shape <- c(c_out, c_in, k, k)
  layer <- list(type = "Conv2D", stride = c(stride, stride), padding = padding, activation_name = act,
                torch_name = name,
                torch_params = if (bias) c(weight = "weight", bias = "bias") else c(weight = "weight"),
                param_shapes = list(weight = shape, bias = c_out))
  if (init != "none") {
    layer$weight <- inet_rnorm(shape, sd = sqrt(2 / (c_out * k * k)), lazy = init == "lazy")
    layer$bias <- numeric(c_out)
  } else if (!bias) {
    layer$bias <- numeric(c_out) # nothing to load: torchvision's convolution has no bias
  }
  layer
}

inet_dense <- function(n_out, n_in, act, name, init = "random", kind = c("vgg", "torch_default")) {
  kind <- match.arg(kind)
  layer <- list(type = "Dense", activation_name = act, torch_name = name,
                torch_params = c(weight = "weight", bias = "bias"),
                param_shapes = list(weight = c(n_out, n_in), bias = n_out))
  if (init != "none") {
    lazy <- init == "lazy"
    if (kind == "vgg") {
      layer$weight <- inet_rnorm(c(n_out, n_in), sd = 0.01, lazy = lazy)
      layer$bias <- numeric(n_out)
    } else {
      # nn.Linear's own init: Kaiming uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
      layer$weight <- inet_runif(c(n_out, n_in), 1 / sqrt(n_in), lazy = lazy)
      layer$bias <- inet_runif(n_out, 1 / sqrt(n_in), lazy = lazy)
    }
  }
  layer
}

inet_bn <- function(c, name, init = "random") {
  layer <- list(type = "BatchNorm", num_features = c, eps = 1e-5, torch_name = name,
                torch_params = c(gamma = "weight", beta = "bias", run_mean = "running_mean", run_var = "running_var"),
                param_shapes = list(gamma = c, beta = c, run_mean = c, run_var = c))
  if (init != "none") {
    layer$gamma <- rep(1, c)
    layer$beta <- numeric(c)
    layer$run_mean <- numeric(c)
    layer$run_var <- rep(1, c)
  }
  layer
}

# torchvision's VGG ("D" = VGG16: 2, 2, 3, 3, 3 convolutions per block; "E" = VGG19:
# 2, 2, 4, 4, 4). torchvision's AdaptiveAvgPool2d((7, 7)) is the identity on the
# 512 x 7 x 7 maps of a 224 x 224 input and is left out. `widths`, `hidden`,
# `n_classes` and `input_dim` make the same layout in small (the test fixtures).
inet_vgg <- function(convs_per_block, init, widths = c(64, 128, 256, 512, 512), hidden = 4096,
                     n_classes = 1000, input_dim = c(3L, 224L, 224L)) {
  g <- inet_graph()
  prev <- 0L
  c_in <- input_dim[1]
  idx <- 0L # position in torchvision's `features` Sequential
  for (b in seq_along(convs_per_block)) {
    c_out <- widths[b]
    for (r in seq_len(convs_per_block[b])) {
      prev <- g$add(inet_conv(c_out, c_in, 3, padding = 1, act = "relu", name = paste0("features.", idx),
                               init = init), prev)
      idx <- idx + 2L # Conv2d, ReLU
      c_in <- c_out
    }
    prev <- g$add(list(type = "MaxPooling2D", kernel_size = c(2, 2), strides = c(2, 2)), prev)
    idx <- idx + 1L
  }
  prev <- g$add(list(type = "Flatten"), prev) # channels first, as torch.flatten(x, 1)
  n_flat <- c_in * prod(input_dim[-1] %/% 2^length(convs_per_block))
  prev <- g$add(inet_dense(hidden, n_flat, "relu", "classifier.0", init), prev)
  prev <- g$add(inet_dense(hidden, hidden, "relu", "classifier.3", init), prev)
  g$add(inet_dense(n_classes, hidden, "softmax", "classifier.6", init), prev)
  g$finish(as.integer(input_dim))
}

# torchvision's ResNet50 (Bottleneck blocks, expansion 4, stride on the 3x3 conv);
# the other arguments make the same layout in small (the test fixtures).
inet_resnet <- function(blocks, init, widths = 64 * 2^(seq_along(blocks) - 1), n_classes = 1000,
                        input_dim = c(3L, 224L, 224L)) {
  g <- inet_graph()
  relu <- function(from) g$add(list(type = "Activation", act_name = "relu"), from)
  conv_bn <- function(from, c_out, c_in, k, stride, padding, conv_name, bn_name) {
    i <- g$add(inet_conv(c_out, c_in, k, stride, padding, name = conv_name, bias = FALSE, init = init), from)
    g$add(inet_bn(c_out, bn_name, init), i)
  }
  x <- relu(conv_bn(0L, 64, 3, 7, 2, 3, "conv1", "bn1"))
  # torchvision: MaxPool2d(3, stride 2, padding 1), whose padding is -Inf (it never
  # wins). innsight's pooling has no padding, so a Padding layer comes first. Its
  # mode is "replicate", not a constant: every window that reaches into the border
  # also contains the border pixel it copies (padding 1 < kernel 3), so the copies
  # never change a window's maximum; the outputs equal torch's. Backwards, a copy that
  # wins a tie passes its gradient (or relevance) to the padding layer, which adds it
  # back onto the pixel it copied, so gradients match torch's too. A constant would
  # have to be below every activation (-Inf, which the list format cannot carry;
  # 0 only works after the ReLU and fails for arbitrary inputs to the layer).
  x <- g$add(list(type = "Padding", padding = c(1, 1, 1, 1), mode = "replicate"), x)
  x <- g$add(list(type = "MaxPooling2D", kernel_size = c(3, 3), strides = c(2, 2)), x)
  c_in <- 64
  for (s in seq_along(blocks)) {
    width <- widths[s]
    c_out <- width * 4
    for (b in seq_len(blocks[s])) {
      stride <- if (s > 1 && b == 1) 2 else 1
      pre <- paste0("layer", s, ".", b - 1, ".")
      y <- relu(conv_bn(x, width, c_in, 1, 1, 0, paste0(pre, "conv1"), paste0(pre, "bn1")))
      y <- relu(conv_bn(y, width, width, 3, stride, 1, paste0(pre, "conv2"), paste0(pre, "bn2")))
      y <- conv_bn(y, c_out, width, 1, 1, 0, paste0(pre, "conv3"), paste0(pre, "bn3"))
      shortcut <- if (b == 1) {
        conv_bn(x, c_out, c_in, 1, stride, 0, paste0(pre, "downsample.0"), paste0(pre, "downsample.1"))
      } else {
        x
      }
      x <- relu(g$add(list(type = "Add"), c(y, shortcut)))
      c_in <- c_out
    }
  }
  x <- g$add(list(type = "GlobalPooling", method = "average"), x)
  g$add(inet_dense(n_classes, c_in, "softmax", "fc", init, kind = "torch_default"), x)
  g$finish(as.integer(input_dim))
}

# Number of trainable parameters as torchvision counts them (weights, biases, batch
# normalisation scale and shift; not the running statistics, not ResNet's absent
# convolution biases).
imagenet_param_count <- function(model) {
  sum(vapply(model$layers, function(l) {
    p <- l$torch_params
    p <- names(p)[p %in% c("weight", "bias")]
    sum(vapply(l$param_shapes[p], prod, numeric(1)))
  }, numeric(1)))
}

# Multiply-accumulate operations of one forward pass of one image through the
# convolutions and dense layers (`out_dims`: each layer's output shape, e.g. from
# `converter$model$layers()`).
imagenet_forward_macs <- function(model, out_dims) {
  sum(vapply(seq_along(model$layers), function(i) {
    l <- model$layers[[i]]
    switch(l$type,
      Conv2D = prod(l$param_shapes$weight) * prod(out_dims[[i]][-1]),
      Dense = prod(l$param_shapes$weight),
      0
    )
  }, numeric(1)))
}
