# SHAP: KernelSHAP (exact enumeration and paired sampling) and permutation
# sampling, against closed forms, brute-force Shapley values and efficiency.

# Brute-force Shapley values of v(S) = mean_r f(x_S, r_notS) for one instance.
brute_shapley <- function(f, x, refs) {
  p <- length(x)
  v <- function(s) mean(f(t(apply(refs, 1, function(r) ifelse(s, x, r)))))
  phi <- numeric(p)
  for (bits in 0:(2^p - 1)) {
    s <- as.logical(bitwAnd(bits, 2^(seq_len(p) - 1)))
    k <- sum(s)
    for (i in which(!s)) {
      w <- factorial(k) * factorial(p - k - 1) / factorial(p)
      with_i <- s
      with_i[i] <- TRUE
      phi[i] <- phi[i] + w * (v(with_i) - v(s))
    }
  }
  phi
}

linear_converter <- function(w, b = 0.3) {
  convert(list(input_dim = length(w), input_nodes = 1, output_nodes = 1, layers = list(
    list(type = "Dense", weight = matrix(w, 1), bias = b, activation_name = "linear", input_layers = 0,
         output_layers = -1))))
}

test_that("on a linear model every SHAP variant gives w_i (x_i - mean_ref x_i)", {
  set.seed(3)
  w <- c(1.5, -2, 0.25, 3, -1)
  conv <- linear_converter(w)
  x <- matrix(rnorm(15), 3)
  refs <- matrix(rnorm(50), 10)
  want <- sweep(sweep(x, 2, colMeans(refs)), 2, w, "*")
  exact <- run_shap(conv, x, refs, dtype = "double", verbose = FALSE)
  expect_equal(exact$n_samples, 2^5 - 2)
  expect_equal(unname(get_result(exact)[, , 1]), want, tolerance = 1e-10)
  sampled <- run_shap(conv, x, refs, n_coalitions = 12, dtype = "double", verbose = FALSE)
  expect_equal(sampled$n_samples, 12)
  expect_equal(unname(get_result(sampled)[, , 1]), want, tolerance = 1e-10)
  perm <- run_shap(conv, x, refs, method = "permutation", n_permutations = 2, dtype = "double", verbose = FALSE)
  expect_equal(unname(get_result(perm)[, , 1]), want, tolerance = 1e-10)
})

test_that("exact KernelSHAP equals brute-force Shapley values of a non-linear network", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4, seed = 7)
  refs <- rand_data(6, 4, seed = 8)
  shap <- run_shap(conv, x, refs, output_idx = 1:3, dtype = "double", verbose = FALSE)
  res <- get_result(shap)
  for (k in 1:3) {
    f <- function(rows) conv$model$forward(list(rows), dtype = "double")[[1]][, k]
    for (i in 1:2) expect_equal(unname(res[i, , k]), brute_shapley(f, x[i, ], refs), tolerance = 1e-10)
  }
})

test_that("every SHAP result meets efficiency to 1e-8, also sampled on many groups", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8), seed = 9)
  refs <- rand_data(3, c(3, 8, 8), seed = 10)
  pred <- conv$model$forward(list(x), dtype = "double")[[1]]
  ref_mean <- colMeans(conv$model$forward(list(refs), dtype = "double")[[1]])
  goal <- sweep(pred, 2, ref_mean)
  for (args in list(list(patch_size = 2, n_coalitions = 64), list(patch_size = 2, method = "permutation", n_permutations = 3),
                    list(patch_size = 4))) {
    shap <- do.call(run_shap, c(list(conv, x, refs, output_idx = 1:3, dtype = "double", verbose = FALSE), args))
    sums <- apply(get_result(shap), c(1, 5), sum)
    expect_equal(unname(sums), unname(goal), tolerance = 1e-8)
    expect_equal(unname(shap$decomp_goal[[1]]), unname(goal), tolerance = 1e-10)
    expect_equal(unname(shap$preds[[1]]), unname(pred), tolerance = 1e-10)
  }
})

test_that("sampled KernelSHAP converges to the exact values", {
  conv <- convert(make_mlp_model())
  x <- rand_data(1, 4, seed = 11)
  refs <- rand_data(5, 4, seed = 12)
  exact <- get_result(run_shap(conv, x, refs, dtype = "double", verbose = FALSE))
  set.seed(1)
  # 4 groups have only 14 coalitions: force sampling by asking for fewer
  sampled <- get_result(run_shap(conv, x, refs, n_coalitions = 12, dtype = "double", verbose = FALSE))
  expect_lt(max(abs(sampled - exact)), 1e-2 * max(abs(exact)) + 1e-3)
})

test_that("set.seed() makes sampled SHAP reproducible", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(1, c(3, 8, 8), seed = 13)
  run <- function() {
    set.seed(42)
    get_result(run_shap(conv, x, x * 0, patch_size = 2, n_coalitions = 40, verbose = FALSE))
  }
  expect_identical(run(), run())
})

test_that("SHAP explains a glm through a user pred_fun, with names from the data", {
  df <- iris[iris$Species != "setosa", ]
  df$y <- as.numeric(df$Species == "virginica")
  fit <- suppressWarnings(glm(y ~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width, data = df, family = binomial))
  pf <- function(newdata, ...) predict(fit, newdata, type = "response")
  x <- df[c(1, 51), 1:4]
  refs <- df[seq(1, 100, by = 5), 1:4]
  shap <- run_shap(fit, x, refs, pred_fun = pf, output_names = "virginica", verbose = FALSE)
  res <- get_result(shap)
  expect_identical(dimnames(res)[[2]], names(iris)[1:4])
  expect_identical(dimnames(res)[[3]], "virginica")
  expect_equal(unname(rowSums(res[, , 1])), unname(pf(x) - mean(pf(refs))), tolerance = 1e-10)
  df_res <- get_result(shap, "data.frame")
  expect_equal(nrow(df_res), 8)
  expect_equal(df_res$decomp_sum, df_res$decomp_goal, tolerance = 1e-10)
  expect_s4_class(plot(shap), "innsight_ggplot2")
  expect_s4_class(plot_global(shap), "innsight_ggplot2")
})

test_that("a Converter's built-in predictions equal the same model through pred_fun", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4, seed = 14)
  refs <- rand_data(4, 4, seed = 15)
  pf <- function(newdata) conv$model$forward(list(as.matrix(newdata)), dtype = "double")[[1]]
  a <- run_shap(conv, x, refs, output_idx = c(1, 3), dtype = "double", verbose = FALSE)
  b <- run_shap(conv, x, refs, pred_fun = pf, output_idx = c(1, 3), dtype = "double", verbose = FALSE)
  expect_equal(get_result(a), get_result(b), tolerance = 1e-12)
  expect_equal(a$preds, b$preds, tolerance = 1e-12)
  expect_identical(dim(a$preds[[1]]), c(3L, 2L))
})

test_that("pred_fun only ever sees a chunk of rows, never the whole data set", {
  # the predictions of the instances come from the run's chunks: the constructor
  # predicts one instance only (it used to predict all of them at once, memory
  # growing with the data set)
  conv <- convert(make_mlp_model())
  x <- rand_data(60, 4, seed = 21)
  refs <- rand_data(3, 4, seed = 22)
  seen <- integer(0)
  pf <- function(newdata) {
    seen <<- c(seen, nrow(newdata))
    conv$model$forward(list(as.matrix(newdata)), dtype = "double")[[1]]
  }
  withr::local_options(innsight.agnostic_chunk_bytes = 8 * 4 * 10)
  s <- run_shap(conv, x, refs, pred_fun = pf, output_idx = c(2, 3), n_coalitions = 8, dtype = "double",
                verbose = FALSE)
  expect_lte(max(seen), 10)
  expect_identical(seen[1], 1L)
  expect_equal(s$preds[[1]], pf(x)[, c(2, 3)], tolerance = 1e-12, ignore_attr = TRUE)
})

test_that("the original's `nsim` selects permutation sampling; unknown arguments warn", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4, seed = 16)
  s <- run_shap(conv, x, nsim = 4, verbose = FALSE)
  expect_identical(s$method, "permutation")
  expect_identical(s$n_samples, 4)
  expect_warning(run_shap(conv, x, foo = 1, verbose = FALSE), class = "innsight_warning")
})

test_that("SHAP results survive saveRDS()", {
  conv <- convert(make_mlp_model())
  s <- run_shap(conv, rand_data(2, 4, seed = 17), verbose = FALSE)
  f <- tempfile(fileext = ".rds")
  saveRDS(s, f)
  s2 <- readRDS(f)
  expect_equal(get_result(s2), get_result(s))
  expect_s4_class(plot(s2), "innsight_ggplot2")
})
