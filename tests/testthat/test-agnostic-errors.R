# Bad input to the model-agnostic and perturbation methods: classed errors.

test_that("unknown models need pred_fun and output_type; pred_fun needs `newdata`", {
  fit <- lm(Sepal.Length ~ ., data = iris[, 1:4])
  x <- iris[1:2, 2:4]
  expect_innsight_error(run_shap(fit, x), "argument", "pred_fun")
  expect_innsight_error(run_lime(fit, x, pred_fun = function(newdata) predict(fit, newdata)), "argument", "output_type")
  expect_innsight_error(run_shap(fit, x, pred_fun = function(x) predict(fit, x)), "argument", "newdata")
  expect_innsight_error(run_shap(fit, x, pred_fun = "predict"), "argument", "must be a function")
  expect_innsight_error(SHAP$new(fit), "data", "missing")
  expect_innsight_error(run_lime(fit, x, output_type = "survival", pred_fun = function(newdata) 1), "argument", "output_type")
})

test_that("pred_fun returning the wrong number of rows, NA or text fails clearly", {
  fit <- lm(Sepal.Length ~ ., data = iris[, 1:4])
  x <- iris[1:2, 2:4]
  expect_innsight_error(run_shap(fit, x, pred_fun = function(newdata) predict(fit, newdata)[1]), "prediction", "row")
  expect_innsight_error(run_shap(fit, x, pred_fun = function(newdata) rep(NA_real_, nrow(newdata))), "prediction", "missing")
  expect_innsight_error(run_shap(fit, x, pred_fun = function(newdata) rep("a", nrow(newdata))), "prediction", "numeric")
  expect_innsight_error(run_shap(fit, x, pred_fun = function(newdata) stop("no model here")), "prediction", "no model here")
  # fine on the instances, wrong on the perturbed chunk
  calls <- 0
  flaky <- function(newdata) {
    calls <<- calls + 1
    if (calls > 1) predict(fit, newdata)[-1] else predict(fit, newdata)
  }
  expect_innsight_error(run_shap(fit, x, pred_fun = flaky, verbose = FALSE), "prediction", "one row per row")
})

test_that("data and data_ref of different shapes, bad data, bad groups", {
  conv <- convert(make_mlp_model())
  expect_innsight_error(run_shap(conv, rand_data(2, 4), rand_data(3, 5)), "data", "same shape")
  expect_innsight_error(run_shap(conv, rand_data(2, 5)), "data", "input shape")
  expect_innsight_error(run_shap(conv, c(1, 2, 3, 4)), "data", "batch axis")
  expect_innsight_error(run_shap(conv, matrix(NA_real_, 1, 4)), "data", "missing")
  expect_innsight_error(run_shap(conv, iris[1:2, c(1:3, 5)]), "data", "numeric")
  expect_innsight_error(run_shap(conv, rand_data(1, 4), feature_groups = 1:3), "argument", "feature_groups")
  expect_innsight_error(run_shap(conv, rand_data(1, 4), feature_groups = 1:4, patch_size = 2), "argument", "either")
  conv2 <- convert(make_conv2d_model())
  expect_innsight_error(run_shap(conv2, rand_data(1, c(3, 8, 8)), patch_size = 9), "argument", "larger")
  expect_innsight_error(run_lime(conv, rand_data(1, 4), kernel_width = 0), "argument", "kernel_width")
  expect_innsight_error(run_shap(conv, rand_data(1, 4), method = "exact"), "argument")
  expect_innsight_error(run_shap(convert(make_graph_model()), list(rand_data(1, 3), rand_data(1, 5))), "model", "single input")
})

test_that("Grad-CAM needs a convolution layer; Occlusion windows must fit", {
  conv2 <- convert(make_conv2d_model())
  x <- rand_data(1, c(3, 8, 8))
  expect_innsight_error(run_gradcam(conv2, x, layer = 99), "argument", "layer")
  expect_innsight_error(run_gradcam(conv2, x, layer = 6), "argument", "Grad-CAM needs")
  expect_innsight_error(run_gradcam(convert(make_mlp_model()), rand_data(1, 4)), "argument", "no convolution layer")
  expect_innsight_error(run_gradcam(conv2, x, upsample = "cubic"), "argument")
  expect_innsight_error(run_occlusion(conv2, x, window = c(9, 2)), "argument", "window")
  expect_innsight_error(run_occlusion(conv2, x, window = c(2, 2), strides = c(3, 3)), "argument", "strides")
  expect_innsight_error(run_occlusion(conv2, x, window = c(2, 2, 2, 2)), "argument", "window")
  expect_innsight_error(run_occlusion(conv2, x, baseline = NA), "argument", "baseline")
  expect_innsight_error(run_occlusion(convert(make_graph_model()), list(rand_data(1, 3), rand_data(1, 5))), "model", "single input")
})
