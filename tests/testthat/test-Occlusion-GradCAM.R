# Occlusion and Grad-CAM on converted models: closed forms and properties
# (captum parity is in test-agnostic-parity.R).

test_that("Occlusion of single features of a linear model is w_i (x_i - baseline)", {
  w <- c(1, -2, 3)
  conv <- convert(list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
    list(type = "Dense", weight = matrix(w, 1), bias = 0.5, activation_name = "linear", input_layers = 0,
         output_layers = -1))))
  x <- matrix(c(1, 2, 3, -1, 0, 2), 2, byrow = TRUE)
  occ <- run_occlusion(conv, x, baseline = 1, dtype = "double", verbose = FALSE)
  expect_equal(unname(get_result(occ)[, , 1]), sweep(x - 1, 2, w, "*"), tolerance = 1e-12)
  expect_identical(occ$window, 1L)
  # windows of two features, stride 1: the mean of the two windows covering a feature
  occ2 <- run_occlusion(conv, x[1, , drop = FALSE], window = 2, strides = 1, baseline = 0, dtype = "double", verbose = FALSE)
  d <- w * x[1, ]
  want <- c(d[1] + d[2], ((d[1] + d[2]) + (d[2] + d[3])) / 2, d[2] + d[3])
  expect_equal(unname(get_result(occ2)[1, , 1]), want, tolerance = 1e-12)
})

test_that("Occlusion defaults, channels-last data and plots", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8), seed = 31)
  occ <- run_occlusion(conv, x, output_idx = 1:2, verbose = FALSE)
  expect_identical(occ$window, c(3L, 1L, 1L))
  expect_false(occ$ignore_last_act)
  x_cl <- aperm(x, c(1, 3, 4, 2))
  occ_cl <- run_occlusion(conv, x_cl, channels_first = FALSE, window = c(2, 2), output_idx = 1:2, verbose = FALSE)
  occ_cf <- run_occlusion(conv, x, window = c(2, 2), output_idx = 1:2, verbose = FALSE)
  expect_equal(aperm(get_result(occ_cl), c(1, 4, 2, 3, 5)), get_result(occ_cf), ignore_attr = TRUE, tolerance = 1e-6)
  expect_s4_class(plot(occ), "innsight_ggplot2")
  expect_equal(occ$preds[[1]], conv$model$forward(list(x))[[1]][, 1:2], ignore_attr = TRUE, tolerance = 1e-6)
})

test_that("Grad-CAM equals a map computed from the layer's activations and gradients", {
  # Conv2D (relu) -> Flatten -> Dense: the gradient of the logit w.r.t. the conv output
  # is the dense weight reshaped, so the map has a closed form
  set.seed(7)
  wc <- array(rnorm(2 * 1 * 3 * 3), c(2, 1, 3, 3))
  wd <- matrix(rnorm(2 * 2 * 4 * 4), 2, 32)
  conv <- convert(list(input_dim = c(1, 6, 6), input_nodes = 1, output_nodes = 3, layers = list(
    list(type = "Conv2D", weight = wc, bias = c(0.1, -0.1), activation_name = "relu", input_layers = 0, output_layers = 2),
    list(type = "Flatten", input_layers = 1, output_layers = 3),
    list(type = "Dense", weight = wd, bias = c(0, 0), activation_name = "softmax", input_layers = 2, output_layers = -1))))
  x <- array(rnorm(36), c(1, 1, 6, 6))
  cam <- run_gradcam(conv, x, output_idx = 1:2, upsample = "nearest", dtype = "double", verbose = FALSE)
  expect_identical(cam$layer, 1L)
  # conv output (2, 4, 4) by hand
  A <- array(0, c(2, 4, 4))
  for (k in 1:2) for (i in 1:4) for (j in 1:4) A[k, i, j] <- max(0, sum(wc[k, 1, , ] * x[1, 1, i:(i + 2), j:(j + 2)]) + c(0.1, -0.1)[k])
  res <- get_result(cam)
  for (o in 1:2) {
    # Flatten is channels-first row-major: index (k, i, j) -> (k - 1) * 16 + (i - 1) * 4 + j
    G <- aperm(array(wd[o, ], c(4, 4, 2)), c(3, 2, 1))
    alpha <- apply(G, 1, mean)
    map <- pmax(apply(sweep(A, 1, alpha, "*"), c(2, 3), sum), 0)
    # nearest upsampling 4 -> 6: source index floor((o - 1) * 4 / 6) + 1
    src <- floor((0:5) * 4 / 6) + 1
    expect_equal(unname(res[1, 1, , , o]), map[src, src], tolerance = 1e-10)
  }
})

test_that("Grad-CAM on signals, plots and saveRDS", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16), seed = 32)
  cam <- run_gradcam(conv, x, verbose = FALSE)
  expect_identical(dim(get_result(cam))[1:3], c(2L, 3L, 16L))
  expect_true(all(get_result(cam) >= 0))
  expect_s4_class(plot(cam), "innsight_ggplot2")
  f <- tempfile(fileext = ".rds")
  saveRDS(cam, f)
  expect_equal(get_result(readRDS(f)), get_result(cam))
})

test_that("plot_comparison() mixes the new methods with gradient methods", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(1, c(3, 8, 8), seed = 33)
  p <- plot_comparison(list(Gradient = run_grad(conv, x, verbose = FALSE),
                            Occlusion = run_occlusion(conv, x, window = c(2, 2), verbose = FALSE),
                            `Grad-CAM` = run_gradcam(conv, x, verbose = FALSE),
                            SHAP = run_shap(conv, x, x * 0, patch_size = 2, verbose = FALSE),
                            LIME = run_lime(conv, x, x * 0, patch_size = 2, n_samples = 50, verbose = FALSE)))
  expect_true(inherits(p, "ggplot") || isS4(p))
})
