# LIME: a weighted ridge surrogate on perturbed copies of the instance.

test_that("LIME recovers a linear model's effects on a table without penalty", {
  set.seed(5)
  w <- c(2, -1, 0.5, 0)
  conv <- convert(list(input_dim = 4, input_nodes = 1, output_nodes = 1, layers = list(
    list(type = "Dense", weight = matrix(w, 1), bias = 1, activation_name = "linear", input_layers = 0,
         output_layers = -1))))
  x <- matrix(c(1, 2, 3, 4), 1)
  ref <- matrix(0, 1, 4)
  lime <- run_lime(conv, x, ref, lambda = 0, n_samples = 200, dtype = "double", verbose = FALSE)
  # switching feature i on adds w_i (x_i - ref_i): the surrogate is exact
  expect_equal(unname(get_result(lime)[1, , 1]), w * x[1, ], tolerance = 1e-10)
  expect_null(lime$decomp_goal[[1]])
  expect_equal(unname(lime$preds[[1]]), matrix(sum(w * x) + 1), tolerance = 1e-10)
})

test_that("n_features keeps the largest effects and zeros the rest", {
  set.seed(6)
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4, seed = 21)
  lime <- run_lime(conv, x, rand_data(20, 4, seed = 22), n_features = 2, output_idx = 1:2, verbose = FALSE)
  res <- get_result(lime)
  expect_true(all(apply(res != 0, c(1, 3), sum) == 2))
})

test_that("LIME explains an lm on iris, and is reproducible with set.seed()", {
  fit <- lm(Sepal.Length ~ ., data = iris[, 1:4])
  pf <- function(newdata, ...) predict(fit, newdata)
  run <- function() {
    set.seed(9)
    run_lime(fit, iris[1:3, 2:4], iris[, 2:4], output_type = "regression", pred_fun = pf, verbose = FALSE)
  }
  a <- run()
  expect_identical(get_result(a), get_result(run()))
  expect_identical(dimnames(get_result(a))[[2]], names(iris)[2:4])
  expect_s3_class(a$converter, "innsight_agnostic_wrapper")
  expect_identical(a$converter$output_type, "regression")
  expect_s4_class(plot(a), "innsight_ggplot2")
  # the original's lime argument name for the number of samples
  expect_identical(run_lime(fit, iris[1, 2:4], iris[, 2:4], output_type = "regression", pred_fun = pf,
                            n_permutations = 50, verbose = FALSE)$n_samples, 50L)
})

test_that("LIME and SHAP explain a 3-channel image over patches", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(1, c(3, 8, 8), seed = 23)
  lime <- run_lime(conv, x, x * 0, patch_size = 4, n_samples = 64, verbose = FALSE)
  res <- get_result(lime)
  expect_identical(dim(res), c(1L, 3L, 8L, 8L, 3L))
  # 4 patches of 4 x 4 pixels x 3 channels: constant within a patch
  expect_length(unique(round(as.vector(res[1, , , , 1]), 12)), 4)
  # channels last: the same data transposed give the same values transposed
  x_cl <- aperm(x, c(1, 3, 4, 2))
  set.seed(1)
  a <- run_shap(conv, x, x * 0, patch_size = 4, verbose = FALSE)
  set.seed(1)
  b <- run_shap(conv, x_cl, x_cl * 0, channels_first = FALSE, patch_size = 4, verbose = FALSE)
  expect_equal(aperm(get_result(b), c(1, 4, 2, 3, 5)), get_result(a), ignore_attr = TRUE, tolerance = 1e-6)
})

test_that("feature_groups: superpixels given as labels", {
  conv <- convert(make_mlp_model())
  x <- rand_data(1, 4, seed = 24)
  shap <- run_shap(conv, x, x * 0, feature_groups = c("a", "b", "a", "b"), dtype = "double", verbose = FALSE)
  res <- get_result(shap)
  expect_equal(res[1, 1, ], res[1, 3, ])
  expect_equal(res[1, 2, ], res[1, 4, ])
  expect_equal(sum(res[1, , 1]), unname(shap$decomp_goal[[1]][1, 1]), tolerance = 1e-10)
})

test_that("neuralnet fits have built-in predictions", {
  skip_if_not_installed("neuralnet")
  set.seed(2)
  df <- data.frame(a = runif(60), b = runif(60), c = runif(60))
  df$y <- 0.5 * df$a - 0.3 * df$b * df$c
  nn <- neuralnet::neuralnet(y ~ a + b + c, df, hidden = 2, threshold = 0.05, stepmax = 1e5)
  shap <- run_shap(nn, df[1:2, 1:3], df[1:20, 1:3], verbose = FALSE)
  expect_identical(shap$converter$output_type, "regression")
  expect_identical(dimnames(get_result(shap))[[2]], c("a", "b", "c"))
  expect_identical(dimnames(get_result(shap))[[3]], "y")
  pred <- predict(nn, df[1:2, 1:3])
  goal <- pred[, 1] - mean(predict(nn, df[1:20, 1:3]))
  expect_equal(unname(rowSums(get_result(shap)[, , 1])), unname(goal), tolerance = 1e-10)
})
