# Keras models through reticulate. Everything but the first test needs a Python with
# keras (RETICULATE_PYTHON; `make test-keras` creates one); without it they skip.
# Parity: our forward pass (float) against Keras' predict, max |ours - keras| /
# max |keras| below 1e-5.

test_that("is_keras_model() recognises only Keras models", {
  expect_false(innsight:::is_keras_model(list(layers = list())))
  expect_false(innsight:::is_keras_model(structure(list(), class = "nn")))
  expect_false(innsight:::is_keras_model(NULL))
  fake <- structure(list(), class = c("keras.src.models.sequential.Sequential", "python.builtin.object"))
  expect_true(innsight:::is_keras_model(fake))
  fake2 <- structure(list(), class = c("keras.engine.training.Model", "python.builtin.object"))
  expect_true(innsight:::is_keras_model(fake2))
  fake3 <- structure(list(), class = c("tf_keras.src.engine.functional.Functional", "python.builtin.object"))
  expect_true(innsight:::is_keras_model(fake3))
  expect_false(innsight:::is_keras_model(structure(list(), class = "keras.engine.training.Model")))
})

test_that("Keras 3 Sequential dense models convert (activations, Dropout, merged Activation)", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(1L)
  L <- keras$layers
  m <- keras$Sequential(list(
    keras$Input(shape = list(6L)),
    L$Dense(8L), L$Activation("tanh"),            # merged into the Dense layer
    L$Dropout(0.3),
    L$Dense(7L, activation = "elu"), L$LeakyReLU(negative_slope = 0.1),
    L$Dense(7L, activation = "selu"), L$ReLU(),
    L$Dense(6L, activation = "gelu"), L$BatchNormalization(),
    L$Dense(6L, activation = "swish"), L$Dense(5L, activation = "softplus"),
    L$Dense(5L, activation = "sigmoid"), L$Dense(4L, activation = "leaky_relu"),
    L$Dense(3L), L$Softmax()
  ))
  randomise_batchnorm(m)
  expect_true(innsight:::is_keras_model(m))
  x <- with_seed(1, matrix(rnorm(5 * 6, sd = 2), 5, 6))
  conv <- expect_keras_parity(m, x, "Keras 3 Sequential (dense)")
  types <- vapply(conv$model$layers(), function(l) l$type, "")
  # InputLayer -> Skipping; Dropout removed; Activation(tanh) and Softmax merged into
  # their (linear) Dense layers, LeakyReLU and ReLU follow non-linear layers: kept
  expect_equal(types, c("Skipping", rep("Dense", 2), "Activation", "Dense", "Activation", "Dense", "BatchNorm",
                        rep("Dense", 5)))
  expect_equal(conv$output_dim, list(3L))
})

test_that("Conv1D models: same/valid/causal padding, strides, dilation, pooling, global pooling", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(2L)
  L <- keras$layers
  m <- keras$Sequential(list(
    keras$Input(shape = list(23L, 3L)),
    L$Conv1D(5L, 4L, padding = "same", strides = 2L, activation = "relu"),
    L$ZeroPadding1D(list(1L, 2L)),
    L$Conv1D(4L, 3L, padding = "causal", dilation_rate = 2L),
    L$BatchNormalization(),
    L$MaxPooling1D(3L, strides = 2L, padding = "same"),
    L$Conv1D(4L, 2L, padding = "same"),
    L$AveragePooling1D(2L),
    L$Flatten(),
    L$Dense(3L)
  ))
  randomise_batchnorm(m)
  x <- with_seed(2, array(rnorm(4 * 23 * 3), c(4, 23, 3)))
  expect_keras_parity(m, x, "Conv1D Sequential")

  m2 <- keras$Sequential(list(
    keras$Input(shape = list(10L, 2L)),
    L$Conv1D(3L, 3L), L$GlobalAveragePooling1D(), L$Dense(2L)
  ))
  x2 <- with_seed(3, array(rnorm(3 * 10 * 2), c(3, 10, 2)))
  expect_keras_parity(m2, x2, "Conv1D + GlobalAveragePooling1D")
  m3 <- keras$Sequential(list(
    keras$Input(shape = list(10L, 2L)),
    L$Conv1D(3L, 3L), L$GlobalMaxPooling1D(), L$Dense(2L, activation = "softmax")
  ))
  expect_keras_parity(m3, x2, "Conv1D + GlobalMaxPooling1D")
})

test_that("functional Conv2D graph with Add and Concatenate (channels-last axes) converts", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(3L)
  L <- keras$layers
  inp <- keras$Input(shape = list(15L, 12L, 3L), name = "image")
  a <- L$Conv2D(6L, 3L, padding = "same", strides = 2L, name = "a")(inp)     # odd size, stride 2
  b <- L$Conv2D(6L, list(4L, 2L), padding = "same", strides = 2L, activation = "relu", name = "b")(inp)
  s <- L$Add(name = "sum")(list(a, b))
  s <- L$BatchNormalization(name = "bn")(s)
  s <- L$Activation("relu", name = "act")(s)                                 # stand-alone (after BN)
  cc <- L$Concatenate(name = "cat_channels")(list(s, a))                     # axis -1: channels
  h <- L$Concatenate(axis = 1L, name = "cat_rows")(list(cc, cc))             # axis 1: image rows
  h <- L$ZeroPadding2D(list(list(1L, 0L), list(2L, 1L)))(h)
  h <- L$Conv2D(5L, 3L, dilation_rate = 2L, name = "dil")(h)
  h <- L$MaxPooling2D(3L, strides = 2L, padding = "same", name = "pool")(h)
  h <- L$AveragePooling2D(2L, name = "avg")(h)
  f <- L$Flatten()(h)
  g <- L$GlobalMaxPooling2D()(cc)
  o1 <- L$Dense(4L, activation = "softmax", name = "probs")(L$Concatenate()(list(f, g)))
  o2 <- L$Dense(2L, name = "second")(L$GlobalAveragePooling2D()(s))
  m <- keras$Model(inp, list(o1, o2))
  randomise_batchnorm(m)
  x <- with_seed(4, array(rnorm(3 * 15 * 12 * 3), c(3, 15, 12, 3)))
  conv <- expect_keras_parity(m, x, "functional Conv2D, Add/Concatenate")
  expect_equal(conv$input_dim, list(c(3L, 15L, 12L)))
  expect_equal(conv$output_dim, list(4L, 2L))

  # the methods work on it, in the caller's (channels-last) layout
  grad <- run_grad(conv, x[1:2, , , , drop = FALSE], channels_first = FALSE, output_idx = list(1:2, 1))
  res <- get_result(grad)
  expect_equal(dim(res[[1]]), c(2L, 15L, 12L, 3L, 2L))
  expect_equal(dim(res[[2]]), c(2L, 15L, 12L, 3L, 1L))
  # and the propagation methods (through the replicate padding of the pooling too)
  for (res in list(run_lrp(conv, x[1:2, , , , drop = FALSE], channels_first = FALSE, output_idx = list(1:2)),
                   run_deeplift(conv, x[1:2, , , , drop = FALSE], channels_first = FALSE, output_idx = list(1:2)))) {
    a <- get_result(res)
    expect_equal(dim(a), c(2L, 15L, 12L, 3L, 2L))
    expect_true(all(is.finite(a)))
  }
})

test_that("layers without bias, scale or centre, and the hyper-parameters of activation layers", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(9L)
  L <- keras$layers
  m <- keras$Sequential(list(
    keras$Input(shape = list(9L, 9L, 2L)),
    L$Conv2D(3L, 2L, strides = list(2L, 1L), use_bias = FALSE),
    L$BatchNormalization(center = FALSE, epsilon = 0.01),
    L$ReLU(negative_slope = 0.05),
    L$BatchNormalization(scale = FALSE),
    L$GlobalAveragePooling2D(),
    L$Dense(4L, use_bias = FALSE),
    L$LeakyReLU(negative_slope = 0.25)
  ))
  randomise_batchnorm(m)
  x <- with_seed(13, array(rnorm(3 * 9 * 9 * 2), c(3, 9, 9, 2)))
  conv <- expect_keras_parity(m, x, "no bias / scale / centre")
  # LeakyReLU after a linear Dense: merged, with its slope
  expect_equal(conv$model$layers()[[length(conv$model$layers())]]$type, "Dense")
  # Python objects that are not models are not taken for Keras models
  expect_false(innsight:::is_keras_model(L$Dense(2L)))
  expect_innsight_error(Converter$new(L$Dense(2L)), "model")
})

test_that("several inputs and flat concatenation", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(4L)
  L <- keras$layers
  i1 <- keras$Input(shape = list(4L), name = "tab")
  i2 <- keras$Input(shape = list(8L, 8L, 2L), name = "img")
  h2 <- L$GlobalAveragePooling2D()(L$Conv2D(3L, 3L, activation = "relu")(i2))
  h <- L$Concatenate()(list(L$Dense(5L, activation = "relu")(i1), h2, i1))
  out <- L$Dense(2L)(h)
  m <- keras$Model(list(i1, i2), out)
  x <- with_seed(5, list(matrix(rnorm(3 * 4), 3, 4), array(rnorm(3 * 8 * 8 * 2), c(3, 8, 8, 2))))
  conv <- expect_keras_parity(m, x, "two inputs, flat Concatenate")
  expect_equal(conv$input_dim, list(4L, c(2L, 8L, 8L)))
})

test_that("nested Sequential and functional sub-models are inlined", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(5L)
  L <- keras$layers
  block <- keras$Sequential(list(L$Conv2D(4L, 3L, padding = "same", activation = "relu"), L$MaxPooling2D()),
                            name = "block")
  j <- keras$Input(shape = list(8L, 8L, 4L))
  inner_f <- keras$Model(j, L$Add()(list(j, L$Conv2D(4L, 1L)(j))), name = "residual")
  head <- keras$Sequential(list(L$Flatten(), L$Dense(6L), L$Activation("relu"), L$Dense(3L)), name = "head")
  inp <- keras$Input(shape = list(16L, 16L, 3L))
  m <- keras$Model(inp, head(inner_f(block(inp))))
  x <- with_seed(6, array(rnorm(2 * 16 * 16 * 3), c(2, 16, 16, 3)))
  expect_keras_parity(m, x, "nested Sequential/functional")
})

test_that("Keras 3 Sequential built without an Input layer converts", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(6L)
  L <- keras$layers
  m <- keras$Sequential(list(L$Dense(4L, activation = "relu"), L$Dense(2L, activation = "softmax")))
  m$build(list(NULL, 3L))
  x <- with_seed(7, matrix(rnorm(6), 2, 3))
  expect_keras_parity(m, x, "Sequential built with build()")
  unbuilt <- keras$Sequential(list(L$Dense(4L)))
  expect_innsight_error(Converter$new(unbuilt), "model")
})

test_that("a channels_first model converts (checked against its channels-last twin)", {
  skip_if_not(keras_available())
  keras <- keras_module()
  keras$utils$set_random_seed(7L)
  L <- keras$layers
  make <- function(fmt, shape, axis) {
    keras$Sequential(list(
      keras$Input(shape = shape),
      L$Conv2D(4L, 3L, padding = "same", strides = 2L, data_format = fmt),
      L$BatchNormalization(axis = axis),
      L$MaxPooling2D(2L, data_format = fmt),
      L$Flatten(data_format = fmt),
      L$Dense(3L)
    ))
  }
  cf <- make("channels_first", list(2L, 9L, 8L), 1L)
  cl <- make("channels_last", list(9L, 8L, 2L), -1L)
  randomise_batchnorm(cf)
  cl$set_weights(cf$get_weights())
  x <- with_seed(8, array(rnorm(2 * 2 * 9 * 8), c(2, 2, 9, 8)))
  # TensorFlow cannot run NCHW convolutions on the CPU: compare with the twin
  expect_keras_parity(cf, x, "channels_first model", channels_first = TRUE, x_keras = aperm(x, c(1, 3, 4, 2)),
                      ref_model = cl)
})

test_that("errors: unsupported layers, shared layers, inexact pooling, bad activations", {
  skip_if_not(keras_available())
  keras <- keras_module()
  L <- keras$layers
  m <- keras$Sequential(list(keras$Input(shape = list(4L)), L$Dense(3L), L$Reshape(list(3L, 1L), name = "my_reshape")))
  e <- expect_innsight_error(Converter$new(m), "layer", regexp = "my_reshape")
  expect_match(conditionMessage(e), "Reshape")
  expect_s3_class(e, "innsight_error_keras")

  inp <- keras$Input(shape = list(5L))
  shared <- L$Dense(5L, name = "shared_dense")
  m2 <- keras$Model(inp, shared(shared(inp)))
  e <- expect_innsight_error(Converter$new(m2), "model", regexp = "shared_dense")
  expect_match(conditionMessage(e), "Shared layers")

  m3 <- keras$Sequential(list(keras$Input(shape = list(5L, 5L, 1L)),
                              L$AveragePooling2D(2L, padding = "same", name = "avg_same")))
  expect_innsight_error(Converter$new(m3), "layer", regexp = "avg_same")
  # ... but it is fine when no padding is needed
  m4 <- keras$Sequential(list(keras$Input(shape = list(6L, 6L, 2L)), L$AveragePooling2D(2L, padding = "same"),
                              L$Flatten(), L$Dense(2L)))
  expect_keras_parity(m4, with_seed(9, array(rnorm(2 * 72), c(2, 6, 6, 2))), "AveragePooling2D same (no padding needed)")

  m5 <- keras$Sequential(list(keras$Input(shape = list(4L)), L$Dense(3L, activation = "relu6", name = "d6")))
  expect_innsight_error(Converter$new(m5), "layer", regexp = "relu6")
  m6 <- keras$Sequential(list(keras$Input(shape = list(4L)), L$Dense(3L), L$ReLU(max_value = 6, name = "capped")))
  expect_innsight_error(Converter$new(m6), "layer", regexp = "capped")
  m7 <- keras$Sequential(list(keras$Input(shape = list(6L, 2L)), L$Dense(3L, name = "dense_on_seq")))
  expect_innsight_error(Converter$new(m7), "layer", regexp = "dense_on_seq")
  m8 <- keras$Sequential(list(keras$Input(shape = list(6L, 6L, 2L)), L$BatchNormalization(axis = 1L, name = "bn_rows")))
  expect_innsight_error(Converter$new(m8), "layer", regexp = "bn_rows")
})

test_that("Keras 2 (tf_keras) functional and Sequential models convert", {
  skip_if_not(tf_keras_available())
  tfk <- keras_module("tf_keras")
  tfk$utils$set_random_seed(8L)
  L <- tfk$layers
  inp <- tfk$Input(shape = list(12L, 10L, 3L))
  a <- L$Conv2D(4L, 3L, padding = "same", strides = 2L)(inp)
  b <- L$Conv2D(4L, 3L, padding = "same", strides = 2L, activation = "relu")(inp)
  h <- L$Concatenate()(list(L$Add()(list(a, b)), a))
  h <- L$BatchNormalization()(h)
  h <- L$LeakyReLU(alpha = 0.2)(h)
  h <- L$MaxPooling2D(3L, strides = 2L, padding = "same")(h)
  out <- L$Dense(3L, activation = "softmax")(L$Flatten()(h))
  m <- tfk$Model(inp, out)
  expect_true(any(grepl("engine", class(m))))
  randomise_batchnorm(m)
  x <- with_seed(10, array(rnorm(2 * 12 * 10 * 3), c(2, 12, 10, 3)))
  expect_keras_parity(m, x, "Keras 2 functional")

  s <- tfk$Sequential(list(L$Dense(5L, input_shape = list(4L)), L$Activation("relu"), L$Dropout(0.5), L$Dense(2L)))
  expect_keras_parity(s, with_seed(11, matrix(rnorm(8), 2, 4)), "Keras 2 Sequential")
})

# The architectures of the article, with random weights (weights = NULL, fixed seed).
test_that("keras.applications VGG16, VGG19 and ResNet50 convert and match predict()", {
  skip_if_not(keras_available())
  skip_on_cran()
  keras <- keras_module()
  x <- with_seed(12, array(runif(2 * 224 * 224 * 3, 0, 255) - 120, c(2, 224, 224, 3)))
  for (arch in c("VGG16", "VGG19", "ResNet50")) {
    keras$utils$set_random_seed(42L)
    m <- keras$applications[[arch]](weights = NULL)
    if (arch == "ResNet50") randomise_batchnorm(m)
    conv <- expect_keras_parity(m, x, paste(arch, "(224 x 224, random weights)"))
    expect_equal(conv$output_dim, list(1000L))
    rm(conv, m)
    gc(verbose = FALSE)
  }
})
