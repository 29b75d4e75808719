test_that("SmoothGrad result shapes, fields and dimnames", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(3, c(3, 16))
  sg <- run_smoothgrad(conv, x, n = 5, verbose = FALSE)
  expect_s3_class(sg, "SmoothGrad")
  expect_identical(sg$n, 5L)
  expect_identical(sg$noise_level, 0.1)
  expect_false(sg$times_input)
  res <- get_result(sg)
  expect_identical(dim(res), c(3L, 3L, 16L, 2L))
  expect_identical(dimnames(res)[[2]], paste0("C", 1:3))
  sg_cl <- run_smoothgrad(conv, to_channels_last(x), channels_first = FALSE, n = 5, verbose = FALSE)
  expect_identical(dim(get_result(sg_cl)), c(3L, 16L, 3L, 2L))
  expect_identical(dimnames(get_result(sg_cl))[[3]], paste0("C", 1:3))
})

test_that("SmoothGrad with noise_level = 0 equals Gradient (and Gradient x Input)", {
  conv <- convert(make_mlp_model())
  x <- rand_data(4, 4)
  for (ti in c(FALSE, TRUE)) {
    sg <- run_smoothgrad(conv, x, n = 7, noise_level = 0, times_input = ti, dtype = "double", verbose = FALSE)
    g <- run_grad(conv, x, times_input = ti, dtype = "double", verbose = FALSE)
    expect_equal(get_result(sg), get_result(g), tolerance = tol_exact)
    expect_equal(sg$decomp_goal, g$decomp_goal, tolerance = tol_exact)
    expect_equal(sg$preds, g$preds, tolerance = tol_exact)
  }
})

test_that("SmoothGrad is reproducible under set.seed() and changes with the seed", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8))
  set.seed(42)
  a <- get_result(run_smoothgrad(conv, x, n = 4, verbose = FALSE))
  set.seed(42)
  b <- get_result(run_smoothgrad(conv, x, n = 4, verbose = FALSE))
  set.seed(43)
  c <- get_result(run_smoothgrad(conv, x, n = 4, verbose = FALSE))
  expect_identical(a, b)
  expect_gt(max(abs(a - c)), 1e-6)
  # and the noise moves the result away from the plain gradient
  g <- get_result(run_grad(conv, x, verbose = FALSE))
  expect_gt(max(abs(a - g)), 1e-6)
})

test_that("SmoothGrad of a linear model is its weights, whatever the noise", {
  m <- make_one_layer_model("linear")
  conv <- convert(m)
  x <- rand_data(3, 4)
  res <- get_result(run_smoothgrad(conv, x, n = 20, noise_level = 2, dtype = "double", verbose = FALSE))
  for (b in 1:3) expect_equal(unname(res[b, , ]), t(m$W), tolerance = tol_exact)
})

test_that("SmoothGrad x Input averages gradient times the noisy input", {
  m <- make_one_layer_model("linear")
  conv <- convert(m)
  n <- 2000
  x <- rand_data(2, 4)
  set.seed(5)
  res <- get_result(run_smoothgrad(conv, x, n = n, noise_level = 0.1, times_input = TRUE,
                                   dtype = "double", verbose = FALSE))
  for (b in 1:2) {
    sigma <- 0.1 * diff(range(x[b, ]))
    # mean noise over n draws is N(0, sigma^2 / n): allow 5 standard errors
    bound <- 5 * sigma / sqrt(n) * max(abs(m$W))
    expect_lt(max(abs(res[b, , ] - x[b, ] * t(m$W))), bound)
    expect_gt(max(abs(res[b, , ] - x[b, ] * t(m$W))), 0)
  }
})

test_that("SmoothGrad noise is scaled per instance (decision 16)", {
  m <- make_one_layer_model("linear")
  conv <- convert(m)
  x <- rbind(c(-1000, 0, 500, 1000), c(0.001, 0.002, 0, -0.001))
  set.seed(9)
  res <- get_result(run_smoothgrad(conv, x, n = 50, noise_level = 0.1, times_input = TRUE,
                                   dtype = "double", verbose = FALSE))
  # instance 2 has range 0.003, so its noise sd is 3e-4; one batch-wide range
  # (2000) would give a deviation of order 200 / sqrt(50)
  dev2 <- max(abs(res[2, , ] - x[2, ] * t(m$W)))
  expect_lt(dev2, 1e-3)
  dev1 <- max(abs(res[1, , ] - x[1, ] * t(m$W)))
  expect_gt(dev1, 1)
})

test_that("SmoothGrad float and double agree with noise_level = 0", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  f <- get_result(run_smoothgrad(conv, x, n = 3, noise_level = 0, verbose = FALSE))
  d <- get_result(run_smoothgrad(conv, x, n = 3, noise_level = 0, dtype = "double", verbose = FALSE))
  expect_lt(rel_diff(f, d), tol_float)
})

test_that("run_smoothgrad() equals SmoothGrad$new() and print() shows n and noise_level", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  set.seed(1)
  a <- SmoothGrad$new(conv, x, n = 6, noise_level = 0.3, verbose = FALSE)
  set.seed(1)
  b <- run_smoothgrad(conv, x, n = 6, noise_level = 0.3, verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  txt <- print_text(b)
  expect_match(txt, "SmoothGrad")
  expect_match(txt, "noise_level")
  expect_match(txt, "0.3", fixed = TRUE)
  expect_match(txt, "(2, 4, 3)", fixed = TRUE)
})
