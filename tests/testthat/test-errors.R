# The error catalogue (spec section 7). Every bad input must raise a classed
# `innsight_error` (with a stable subclass where one is given), and no message may
# leak Rust panic text or source locations.

# expect_innsight_error() is in helper-errors.R (shared with the method test files).

mlp <- make_mlp_model()
conv <- convert(mlp)
x <- rand_data(3, 4)

test_that("Converter arguments are checked", {
  expect_innsight_error(convert(mlp, dtype = "adsf"), "argument")
  expect_innsight_error(convert(mlp, dtype = NULL), "argument")
  expect_innsight_error(convert(mlp, save_model_as_list = "No"), "argument")
  expect_innsight_error(convert(mlp, save_model_as_list = NA), "argument")
  expect_innsight_error(Converter$new(NULL), "model", "Unknown argument")
  expect_innsight_error(Converter$new(3), "model", "Unknown argument")
  expect_innsight_error(Converter$new("model"), "model")
  expect_innsight_error(convert(mlp, input_dim = 5), "model", "input_dim")
  expect_innsight_error(convert(mlp, input_dim = list(4, 3)), "model")
  expect_innsight_error(convert(mlp, input_dim = "as"), "model")
})

test_that("Converter$new() without a model is a classed error", {
  expect_innsight_error(Converter$new(), "model")
})

test_that("the list model's structure is checked", {
  expect_innsight_error(convert(list(input_dim = 4)), "model", "layers")
  expect_innsight_error(convert(list(input_dim = 4, layers = list())), "model", "layers")
  m <- mlp
  m$input_dim <- "as"
  expect_innsight_error(convert(m), "model", "input_dim")
  m$input_dim <- NULL
  expect_innsight_error(convert(m), "model", "input_dim")
  m <- mlp
  m$input_dim <- c(1, 2, 2, 1)
  expect_innsight_error(convert(m), "model", "Too many input dimensions")
  m <- mlp
  m$layers[[2]]$type <- "Dense2"
  expect_innsight_error(convert(m), "model", "Dense2")
  m <- mlp
  m$layers[[2]] <- "not a layer"
  expect_innsight_error(convert(m), "model")
  m <- mlp
  m$layers[[2]]$input_layers <- "sadf"
  expect_innsight_error(convert(m), "model", "input_layers")
  m <- mlp
  m$layers[[2]]$output_layers <- NA
  expect_innsight_error(convert(m), "model", "output_layers")
  m <- mlp
  m$input_nodes <- 5
  expect_innsight_error(convert(m), "model", "input_nodes")
  m <- mlp
  m$output_nodes <- 0
  expect_innsight_error(convert(m), "model", "output_nodes")
  m <- mlp
  m$input_nodes <- "a"
  expect_innsight_error(convert(m), "model", "input_nodes")
  m <- mlp
  m$layers[[1]]$input_layers <- c(0, 3)
  m$layers[[3]]$output_layers <- c(-1, 1)
  expect_innsight_error(convert(m), "model", "cycle")
})

test_that("layer parameters and shapes are checked, naming the layer", {
  m <- mlp
  m$layers[[2]]$weight <- rand_w(5, 7)
  expect_innsight_error(convert(m), "layer", "layer 2")
  m <- mlp
  m$layers[[2]]$bias <- c(1, 2, 3)
  expect_innsight_error(convert(m), "layer", "layer 2")
  m <- mlp
  m$layers[[2]]$dim_out <- 7
  expect_innsight_error(convert(m), "layer", "layer 2")
  m <- mlp
  m$layers[[3]]$dim_in <- 7
  expect_innsight_error(convert(m), "layer", "layer 3")
  m <- mlp
  m$layers[[1]]$activation_name <- "foo"
  expect_innsight_error(convert(m), "layer", "foo")
  m <- mlp
  m$layers[[1]]$weight <- NULL
  expect_innsight_error(convert(m), "model", "weight")
  m <- mlp
  m$layers[[1]]$weight <- "abc"
  expect_innsight_error(convert(m), "model", "weight")
  m <- mlp
  m$layers[[1]]$weight[2, 2] <- NA
  expect_innsight_error(convert(m), "model")
  m <- mlp
  m$output_dim <- 5
  expect_innsight_error(convert(m), "model", "output")
  # output not rank 1 (a conv net cut before its Flatten)
  c1 <- make_conv1d_model()
  c1$layers <- c1$layers[1:4]
  c1$layers[[4]]$output_layers <- -1
  c1$output_nodes <- 4
  expect_innsight_error(convert(c1), "model", "classification or regression")
  # conv weight of the wrong kernel rank and a pooling without kernel size
  c2 <- make_conv2d_model()
  c2$layers[[3]]$weight <- rand_w(3, 5, 2, 2)
  expect_innsight_error(convert(c2), "layer", "layer 3")
  c2 <- make_conv2d_model()
  c2$layers[[2]]$kernel_size <- NULL
  expect_innsight_error(convert(c2), "model", "kernel_size")
  c2 <- make_conv2d_model()
  c2$layers[[1]]$padding <- -1
  expect_innsight_error(convert(c2), "model", "padding")
  c2 <- make_conv2d_model()
  c2$layers[[1]]$padding <- c(1, 1, 1)
  expect_innsight_error(convert(c2), "layer", "layer 1")
  c2 <- make_conv2d_model()
  c2$layers[[2]]$kernel_size <- c(20, 20)
  expect_innsight_error(convert(c2), "layer", "layer 2")
  m <- mlp
  m$layers[[2]]$dim_out <- "a"
  expect_innsight_error(convert(m), "model", "dim_out")
  m <- mlp
  m$layers[[2]]$activation_args <- list(negative_slope = "a")
  expect_innsight_error(convert(m), "model", "activation_args")
  g <- make_graph_model()
  g$layers[[5]]$input_layers <- c(1, 3)
  expect_innsight_error(convert(g), "layer", "layer 5")
  m <- mlp
  m$layers[[2]]$input_layers <- 7
  expect_innsight_error(convert(m), "layer", "layer 2")
})

test_that("input and output names are checked", {
  expect_innsight_error(convert(mlp, input_names = c("a", "b")), "argument", "input_names")
  expect_innsight_error(convert(mlp, input_names = 1:4), "argument", "input_names")
  expect_innsight_error(convert(mlp, input_names = list(1:4)), "argument", "input_names")
  expect_innsight_error(convert(mlp, output_names = c("a", "b")), "argument", "output_names")
  expect_innsight_error(convert(mlp, output_names = 1:3), "argument", "output_names")
  expect_innsight_error(convert(make_conv1d_model(), input_names = list(c("a", "b", "c"))), "argument")
  expect_innsight_error(convert(make_graph_model(), input_names = c("a", "b", "c")), "argument")
})

test_that("method arguments are checked", {
  expect_innsight_error(run_grad(mlp, x), "argument", "Converter")
  expect_innsight_error(Gradient$new(list(), x), "argument", "Converter")
  expect_innsight_error(run_intgrad(NULL, x), "argument", "Converter")
  expect_innsight_error(run_grad(conv, x, channels_first = NULL), "argument", "channels_first")
  expect_innsight_error(run_grad(conv, x, ignore_last_act = c(1)), "argument", "ignore_last_act")
  expect_innsight_error(run_grad(conv, x, times_input = "asdf"), "argument", "times_input")
  expect_innsight_error(run_grad(conv, x, dtype = NULL), "argument", "dtype")
  expect_innsight_error(run_grad(conv, x, dtype = "adsf"), "argument", "dtype")
  expect_innsight_error(run_grad(conv, x, verbose = NA), "argument", "verbose")
  expect_innsight_error(run_smoothgrad(conv, x, n = "asdf"), "argument", "n")
  expect_innsight_error(run_smoothgrad(conv, x, n = 0), "argument", "n")
  expect_innsight_error(run_smoothgrad(conv, x, n = 2.5), "argument", "n")
  expect_innsight_error(run_smoothgrad(conv, x, noise_level = -1), "argument", "noise_level")
  expect_innsight_error(run_smoothgrad(conv, x, noise_level = "a"), "argument", "noise_level")
  expect_innsight_error(run_intgrad(conv, x, n = "asdf"), "argument", "n")
  expect_innsight_error(run_intgrad(conv, x, n = 0), "argument", "n")
  expect_innsight_error(run_intgrad(conv, x, times_input = NA), "argument", "times_input")
  expect_innsight_error(run_expgrad(conv, x, n = "asdf"), "argument", "n")
  expect_innsight_error(run_expgrad(conv, x, n = -3), "argument", "n")
  expect_innsight_error(run_smoothgrad(conv, x, n = 1e10), "argument", "n")
  expect_innsight_error(run_smoothgrad(conv, x, noise_level = Inf), "argument", "noise_level")
})

test_that("data is checked", {
  expect_innsight_error(Gradient$new(conv), "data", "missing")
  expect_innsight_error(run_grad(conv), "data", "missing")
  expect_innsight_error(SmoothGrad$new(conv), "data", "missing")
  expect_innsight_error(IntegratedGradient$new(conv), "data", "missing")
  expect_innsight_error(ExpectedGradient$new(conv), "data", "missing")
  expect_innsight_error(run_grad(conv, "abc"), "data")
  expect_innsight_error(run_grad(conv, mlp), "data")
  expect_innsight_error(run_grad(conv, array(1, c(2, 3, 4))), "data", "dimension")
  expect_innsight_error(run_grad(conv, matrix(1, 2, 5)), "data", "dimension")
  expect_innsight_error(run_grad(conv, c(1, 2, 3, 4)), "data", "batch")
  expect_innsight_error(run_grad(conv, matrix(c(NA, 1, 1, 1), 1)), "data", "NA")
  expect_innsight_error(run_grad(conv, matrix(c(NaN, 1, 1, 1), 1)), "data", "NaN")
  expect_innsight_error(run_grad(conv, matrix(c(Inf, 1, 1, 1), 1)), "data", "Inf")
  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(2, c(3, 16))
  expect_innsight_error(run_grad(c1, to_channels_last(x1)), "data", "channels_first")
  expect_innsight_error(run_grad(c1, x1, channels_first = FALSE), "data", "channels_first")
  cg <- convert(make_graph_model())
  expect_innsight_error(run_grad(cg, list(rand_data(2, 3))), "data", "input layer")
  expect_innsight_error(run_grad(cg, rand_data(2, 3)), "data")
  expect_innsight_error(run_grad(cg, list(rand_data(2, 3), rand_data(2, 5), rand_data(2, 5))), "data")
  expect_innsight_error(run_grad(cg, list(rand_data(2, 3), rand_data(3, 5))), "data")
  expect_innsight_error(run_grad(cg, list(rand_data(2, 3), rand_data(2, 4))), "data", "data\\[\\[2\\]\\]")
  expect_innsight_error(run_grad(conv, matrix(0, 0, 4)), "data", "at least one instance")
  expect_innsight_error(run_grad(conv, data.frame(a = factor(1:2), b = 1:2, c = 1:2, d = 1:2)), "data")
  expect_innsight_error(run_grad(conv, matrix(1i, 2, 4)), "data")
  expect_innsight_error(predict(conv, matrix(1, 2, 3)), "data")
  expect_innsight_error(predict(conv, x, type = "foo"), "argument", "type")
})

test_that("output_idx and output_label are checked", {
  expect_innsight_error(run_grad(conv, x, output_idx = c(1, 10)), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = list(c(1, 10))), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = list(NULL, c(1, 2))), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = 0), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = c(1, 1)), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = 1.5), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = "a"), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_idx = list(NULL)), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_label = c(1, 2)), "argument", "output_label")
  expect_innsight_error(run_grad(conv, x, output_label = c("A", "b")), "argument", "unknown")
  expect_innsight_error(run_grad(conv, x, output_idx = c(1, 2), output_label = c("Y1", "Y3")),
                        "argument", "output_label")
  expect_innsight_error(run_grad(conv, x, output_label = list("Y1", "Y2")), "argument", "output_label")
  expect_innsight_error(run_grad(conv, x, output_label = c("Y1", "Y1")), "argument", "distinct")
  expect_innsight_error(run_grad(conv, x, output_label = NA), "argument", "output_label")
  cg <- convert(make_graph_model())
  xg <- list(rand_data(2, 3), rand_data(2, 5))
  expect_innsight_error(run_grad(cg, xg, output_idx = list(1, 4)), "argument", "output layer 2")
  expect_innsight_error(run_grad(cg, xg, output_label = list(NULL, c("r1", "zz"))), "argument", "zz")
  expect_innsight_error(run_grad(cg, xg, output_idx = list(NULL, 1), output_label = list("cat")),
                        "argument")
})

test_that("references of IntegratedGradient and ExpectedGradient are checked", {
  expect_innsight_error(run_intgrad(conv, x, x_ref = rand_data(2, 4)), "argument", "single instance")
  expect_innsight_error(run_intgrad(conv, x, x_ref = "asdf"), "data", "x_ref")
  expect_innsight_error(run_intgrad(conv, x, x_ref = c(1, 2, 3, 4)), "data", "x_ref")
  expect_innsight_error(run_intgrad(conv, x, x_ref = matrix(1, 1, 5)), "data", "x_ref")
  expect_innsight_error(run_intgrad(conv, x, x_ref = matrix(NA_real_, 1, 4)), "data", "x_ref")
  expect_innsight_error(run_expgrad(conv, x, data_ref = c(1, 2, 3)), "data", "data_ref")
  expect_innsight_error(run_expgrad(conv, x, data_ref = matrix(1, 3, 5)), "data", "data_ref")
  expect_innsight_error(run_expgrad(conv, x, data_ref = "asdf"), "data", "data_ref")
  expect_innsight_error(run_expgrad(conv, x, data_ref = matrix(0, 0, 4)), "data", "data_ref")
})

test_that("get_result() types are checked", {
  g <- run_grad(conv, x, verbose = FALSE)
  expect_innsight_error(get_result(g, "adsf"), "argument", "type")
  expect_innsight_error(get_result(g, type = NULL), "argument", "type")
  expect_innsight_error(get_result(g, "torch_tensor"), "argument", "torch")
  expect_innsight_error(get_result(g, "torch.tensor"), "argument", "torch")
})

test_that("a bad innsight.threads option is an argument error, not a core failure", {
  withr::local_options(innsight.threads = -1)
  expect_innsight_error(run_grad(conv, x, verbose = FALSE), "argument", "innsight.threads")
  withr::local_options(innsight.threads = "two")
  expect_innsight_error(predict(conv, x), "argument", "innsight.threads")
})

test_that("missing graph keys give warnings and a sequential default", {
  m <- mlp
  m$input_nodes <- NULL
  expect_warning(c1 <- convert(m), "input_nodes", class = "innsight_warning")
  m <- mlp
  m$output_nodes <- NULL
  expect_warning(c2 <- convert(m), "output_nodes", class = "innsight_warning")
  m <- mlp
  m$layers[[2]]$input_layers <- NULL
  expect_warning(c3 <- convert(m), "input_layers", class = "innsight_warning")
  m <- mlp
  m$layers[[2]]$output_layers <- NULL
  expect_warning(c4 <- convert(m), "output_layers", class = "innsight_warning")
  # the defaults give the same model
  for (cc in list(c1, c2, c3, c4)) expect_identical(predict(cc, x), predict(conv, x))
  # a layer missing both keys warns twice; a model missing everything warns for each
  m <- mlp
  m$layers[[3]]$input_layers <- NULL
  m$layers[[3]]$output_layers <- NULL
  w <- character()
  withCallingHandlers(convert(m), warning = function(cnd) {
    w <<- c(w, conditionMessage(cnd))
    invokeRestart("muffleWarning")
  })
  expect_length(w, 2)
  m <- mlp
  m$input_nodes <- NULL
  m$output_nodes <- NULL
  m$layers <- lapply(m$layers, function(l) {
    l$input_layers <- NULL
    l$output_layers <- NULL
    l
  })
  n_warn <- 0
  cc <- withCallingHandlers(convert(m), warning = function(cnd) {
    n_warn <<- n_warn + 1
    invokeRestart("muffleWarning")
  })
  expect_identical(n_warn, 8)
  expect_identical(predict(cc, x), predict(conv, x))
})
