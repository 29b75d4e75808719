# imagenet_model(): the torchvision architectures. The VGGs are checked on their list
# form without weights (building them allocates 138-144 million weights); ResNet50
# (25.6 million) is also built and converted once.

test_that("the architectures have torchvision's layers and parameter counts", {
  expected <- list(vgg16 = c(22, 138357544), vgg19 = c(25, 143667240), resnet50 = c(175, 25557032))
  for (arch in names(expected)) {
    m <- imagenet_list(arch, init = "none")
    expect_length(m$layers, expected[[arch]][1])
    expect_equal(imagenet_param_count(m), expected[[arch]][2], label = paste(arch, "parameters"))
    expect_equal(m$input_dim, c(3L, 224L, 224L))
    # init = "none" leaves every parameter to the loader (ResNet's absent conv biases are zero)
    has_weight <- vapply(m$layers, function(l) !is.null(l$weight) || !is.null(l$gamma), logical(1))
    expect_false(any(has_weight))
    # every parameterised layer names its torchvision module and the shapes it expects
    par <- Filter(function(l) !is.null(l$param_shapes), m$layers)
    expect_false(anyDuplicated(vapply(par, `[[`, character(1), "torch_name")) > 0)
  }
  vgg <- imagenet_list("vgg19", init = "none")
  types <- vapply(vgg$layers, `[[`, character(1), "type")
  expect_equal(sum(types == "Conv2D"), 16)
  expect_equal(sum(types == "MaxPooling2D"), 5)
  expect_equal(vapply(vgg$layers[types == "Dense"], function(l) l$param_shapes$weight, numeric(2)),
               cbind(c(4096, 25088), c(4096, 4096), c(1000, 4096)))
  expect_equal(vgg$layers[[length(vgg$layers)]]$torch_name, "classifier.6")
  expect_equal(vgg$layers[[which(types == "Conv2D")[16]]]$torch_name, "features.34")
  # VGG16: 2 + 2 + 3 + 3 + 3 convolutions; forward MACs as commonly quoted (15.47 G)
  vgg16 <- imagenet_list("vgg16", init = "none")
  out <- list()
  s <- 224
  for (l in vgg16$layers) {
    if (l$type == "MaxPooling2D") s <- s / 2
    out[[length(out) + 1]] <- c(l$param_shapes$weight[1], s, s)
  }
  expect_equal(round(imagenet_forward_macs(vgg16, out) / 1e9, 2), 15.47)
})

test_that("random weights follow torchvision's initialisation", {
  set.seed(3)
  conv <- inet_conv(512, 256, 3, name = "features.x")
  expect_equal(dim(conv$weight), c(512, 256, 3, 3))
  expect_equal(conv$bias, numeric(512))
  expect_equal(sd(conv$weight), sqrt(2 / (512 * 9)), tolerance = 0.01) # Kaiming normal, fan_out
  dense <- inet_dense(400, 1000, "relu", "classifier.x")
  expect_equal(dim(dense$weight), c(400, 1000))
  expect_equal(sd(dense$weight), 0.01, tolerance = 0.01)
  expect_equal(dense$bias, numeric(400))
  fc <- inet_dense(1000, 2048, "softmax", "fc", kind = "torch_default")
  expect_true(all(abs(fc$weight) <= 1 / sqrt(2048)) && all(abs(fc$bias) <= 1 / sqrt(2048)))
  expect_equal(sd(fc$weight), 1 / sqrt(3 * 2048), tolerance = 0.01)
  bn <- inet_bn(8, "bn1")
  expect_equal(list(bn$gamma, bn$beta, bn$run_mean, bn$run_var, bn$eps), list(rep(1, 8), numeric(8), numeric(8), rep(1, 8), 1e-5))
  expect_null(inet_conv(4, 2, 1, name = "c", init = "none")$weight)
  expect_equal(inet_conv(4, 2, 1, name = "c", bias = FALSE, init = "none")$bias, numeric(4))
})

test_that("seeds give the same weights and leave the user's generator alone", {
  set.seed(99)
  before <- .Random.seed
  a <- inet_with_seed(5, inet_rnorm(c(4, 3), 1))
  expect_identical(.Random.seed, before)
  b <- inet_with_seed(5, inet_rnorm(c(4, 3), 1))
  expect_identical(a, b)
  expect_identical(.Random.seed, before)
  # without a seed the current stream is used
  set.seed(5)
  expect_identical(inet_with_seed(NULL, inet_rnorm(c(4, 3), 1)), a)
})

test_that("ResNet50 converts with torchvision's shapes and predicts probabilities", {
  expect_message(conv <- imagenet_model("resnet50", seed = 1), "random weights", class = "innsight_message")
  expect_s3_class(conv, "Converter")
  layers <- conv$model$layers()
  expect_length(layers, 175)
  out <- lapply(layers, `[[`, "dim_out")
  expect_equal(out[[1]], c(64L, 112L, 112L))          # conv1, stride 2, padding 3
  expect_equal(out[[4]], c(64L, 114L, 114L))          # replicate padding
  expect_equal(out[[5]], c(64L, 56L, 56L))            # max pool 3x3, stride 2
  types <- vapply(layers, `[[`, character(1), "type")
  adds <- which(types == "Add")
  expect_length(adds, 16)
  expect_equal(lapply(out[adds[c(3, 7, 13, 16)]], identity),
               list(c(256L, 56L, 56L), c(512L, 28L, 28L), c(1024L, 14L, 14L), c(2048L, 7L, 7L)))
  expect_equal(out[[175]], 1000L)
  expect_equal(conv$output_dim, list(1000L))
  expect_length(conv$output_names[[1]][[1]], 1000)
  macs <- imagenet_forward_macs(imagenet_list("resnet50", init = "none"), out)
  expect_equal(round(macs / 1e9, 2), 4.09)
  set.seed(1)
  x <- array(rnorm(2 * 3 * 224 * 224), c(2, 3, 224, 224))
  p <- predict(conv, x)
  expect_equal(dim(p), c(2L, 1000L))
  expect_equal(rowSums(p), c(1, 1), tolerance = 1e-5)
})

test_that("replicate padding before max pooling equals torch's -Inf padding", {
  # Padding(1, replicate) + MaxPool(3, stride 2) on a 1 x 7 x 7 map, against the
  # definition with -Inf padding; edges are made large so that padded copies win.
  set.seed(2)
  model <- list(input_dim = c(1, 7, 7), input_nodes = 1, output_nodes = 4, layers = list(
    list(type = "Padding", padding = c(1, 1, 1, 1), mode = "replicate", input_layers = 0, output_layers = 2),
    list(type = "MaxPooling2D", kernel_size = c(3, 3), strides = c(2, 2), input_layers = 1, output_layers = 3),
    list(type = "Flatten", input_layers = 2, output_layers = 4),
    list(type = "Dense", weight = diag(16), bias = numeric(16), activation_name = "linear",
         input_layers = 3, output_layers = -1)))
  conv <- convert(model, dtype = "double")
  x <- array(rnorm(49), c(1, 1, 7, 7))
  x[1, 1, 1, ] <- x[1, 1, 1, ] + 5
  x[1, 1, , 7] <- x[1, 1, , 7] + 5
  padded <- matrix(-Inf, 9, 9)
  padded[2:8, 2:8] <- x[1, 1, , ]
  ref <- matrix(0, 4, 4)
  arg <- matrix(0L, 4, 4)
  for (i in 1:4) for (j in 1:4) {
    win <- padded[(2 * i - 1):(2 * i + 1), (2 * j - 1):(2 * j + 1)]
    ref[i, j] <- max(win)
  }
  # Flatten is channels first, row-major: output k = (i - 1) * 4 + j
  expect_equal(unname(predict(conv, x)[1, ]), as.vector(t(ref)))
  grad <- get_result(run_grad(conv, x, output_idx = 1:16, ignore_last_act = FALSE, verbose = FALSE))
  for (k in 1:16) {
    i <- (k - 1) %/% 4 + 1
    j <- (k - 1) %% 4 + 1
    g <- grad[1, 1, , , k]
    expect_equal(sum(g), 1)
    expect_equal(x[1, 1, , ][which(g == 1)], ref[i, j])
  }
})

test_that("a weight file goes through load_imagenet_weights()", {
  ns <- asNamespace("innsight")
  seen <- NULL
  fake_loader <- function(model, arch, path, call = parent.frame()) {
    seen <<- list(arch = arch, path = path, n = length(model$layers),
                  empty = is.null(model$layers[[1]]$weight))
    # a stand-in with 1000 outputs (a real loader fills in the architecture's weights)
    list(input_dim = c(3, 224, 224), input_nodes = 1, output_nodes = 2, layers = list(
      list(type = "GlobalPooling", method = "average", input_layers = 0, output_layers = 2),
      list(type = "Dense", weight = matrix(0.1, 1000, 3), bias = numeric(1000), activation_name = "softmax",
           input_layers = 1, output_layers = -1)))
  }
  original <- get("load_imagenet_weights", envir = ns)
  unlockBinding("load_imagenet_weights", ns)
  assign("load_imagenet_weights", fake_loader, envir = ns)
  on.exit({
    assign("load_imagenet_weights", original, envir = ns)
    lockBinding("load_imagenet_weights", ns)
  })
  expect_silent(conv <- imagenet_model("resnet50", weights = "weights.safetensors", dtype = "double"))
  expect_equal(conv$output_dim, list(1000L))
  expect_equal(seen, list(arch = "resnet50", path = "weights.safetensors", n = 175L, empty = TRUE))
  expect_equal(conv$model$dtype(), "double")
})

test_that("imagenet_model() checks its arguments", {
  expect_error(imagenet_model("vgg11"), class = "innsight_error_argument")
  expect_error(imagenet_model("vgg16", weights = 1), class = "innsight_error_argument")
  expect_error(imagenet_model("vgg16", dtype = "half"), class = "innsight_error_argument")
  expect_error(imagenet_model("vgg16", seed = "a"), class = "innsight_error_argument")
})
