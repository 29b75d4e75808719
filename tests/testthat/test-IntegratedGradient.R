test_that("IntegratedGradient defaults: zero reference, n = 50, times_input = TRUE", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8))
  ig <- run_intgrad(conv, x, verbose = FALSE)
  expect_s3_class(ig, "IntegratedGradient")
  expect_identical(ig$n, 50L)
  expect_true(ig$times_input)
  expect_length(ig$x_ref, 1)
  expect_identical(dim(ig$x_ref[[1]]), c(1L, 3L, 8L, 8L))
  expect_true(all(ig$x_ref[[1]] == 0))
  expect_identical(dim(get_result(ig)), c(2L, 3L, 8L, 8L, 3L))
  # channels last: zero reference in the caller's layout, result in that layout
  ig_cl <- run_intgrad(conv, to_channels_last(x), channels_first = FALSE, verbose = FALSE)
  expect_identical(dim(get_result(ig_cl)), c(2L, 8L, 8L, 3L, 3L))
  expect_lt(rel_diff(get_result(ig_cl), aperm(get_result(ig), c(1, 3, 4, 2, 5))), tol_float)
})

test_that("IntegratedGradient completeness: attributions sum to f(x) - f(x_ref) (n = 2000)", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  x_ref <- rand_data(1, 4, seed = 9)
  for (ila in c(TRUE, FALSE)) {
    type <- if (ila) "preactivation" else "output"
    ig <- run_intgrad(conv, x, x_ref = x_ref, n = 2000, ignore_last_act = ila, dtype = "double",
                      verbose = FALSE)
    goal <- predict(conv, x, type = type, dtype = "double") -
      predict(conv, x_ref, type = type, dtype = "double")[rep(1, 3), ]
    expect_equal(unname(ig$decomp_goal[[1]]), unname(goal), tolerance = tol_exact)
    sums <- apply(get_result(ig), c(1, 3), sum)
    expect_lt(rel_diff(sums, goal), tol_complete)
  }
})

test_that("IntegratedGradient completeness holds for the Conv1D model", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  ig <- run_intgrad(conv, x, n = 2000, dtype = "double", verbose = FALSE)
  goal <- predict(conv, x, type = "preactivation", dtype = "double") -
    predict(conv, array(0, c(1, 3, 16)), type = "preactivation", dtype = "double")[c(1, 1), ]
  expect_lt(rel_diff(apply(get_result(ig), c(1, 4), sum), goal), tol_complete)
})

test_that("IntegratedGradient completeness sums over all input layers of the graph model", {
  conv <- convert(make_graph_model())
  x <- list(rand_data(2, 3, seed = 1), rand_data(2, 5, seed = 2))
  ig <- run_intgrad(conv, x, n = 2000, output_idx = list(c(1, 2), c(3, 1)), dtype = "double",
                    verbose = FALSE)
  res <- get_result(ig)
  expect_named(res, c("Output_1", "Output_2"))
  total1 <- apply(res$Output_1$Input_1, c(1, 3), sum) + apply(res$Output_1$Input_2, c(1, 3), sum)
  expect_lt(rel_diff(total1, ig$decomp_goal[[1]]), tol_complete)
  expect_identical(res$Output_2$Input_1, NaN)
  total2 <- apply(res$Output_2$Input_2, c(1, 3), sum)
  expect_lt(rel_diff(total2, ig$decomp_goal[[2]]), tol_complete)
})

test_that("IntegratedGradient of a linear model is W (x - x_ref) for any n", {
  m <- make_one_layer_model("linear")
  conv <- convert(m)
  x <- rand_data(3, 4)
  x_ref <- matrix(c(0.5, -1, 2, 0), 1)
  for (n in c(1, 7)) {
    res <- get_result(run_intgrad(conv, x, x_ref = x_ref, n = n, dtype = "double", verbose = FALSE))
    for (b in 1:3) expect_equal(unname(res[b, , ]), t(m$W) * (x[b, ] - x_ref[1, ]), tolerance = tol_exact)
  }
})

test_that("IntegratedGradient uses the right Riemann sum: n = 1 is the gradient at x", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  x_ref <- rand_data(1, 4, seed = 3)
  ig <- get_result(run_intgrad(conv, x, x_ref = x_ref, n = 1, dtype = "double", verbose = FALSE))
  g <- get_result(run_grad(conv, x, dtype = "double", verbose = FALSE))
  expect_equal(ig, g * array(sweep(x, 2, x_ref[1, ]), dim(g)), tolerance = tol_exact)
})

test_that("times_input = FALSE gives the averaged gradient; times (x - x_ref) gives the default", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  x_ref <- rand_data(1, c(3, 16), seed = 4)
  a <- run_intgrad(conv, x, x_ref = x_ref, n = 20, times_input = FALSE, dtype = "double", verbose = FALSE)
  b <- run_intgrad(conv, x, x_ref = x_ref, n = 20, dtype = "double", verbose = FALSE)
  expect_false(a$times_input)
  diff <- array(x - x_ref[rep(1, 2), , ], dim(x))
  expect_equal(get_result(a) * array(diff, dim(get_result(a))), get_result(b), tolerance = tol_exact)
  # a channels-last x_ref is accepted together with channels-last data
  c <- run_intgrad(conv, to_channels_last(x), x_ref = to_channels_last(x_ref), n = 20,
                   channels_first = FALSE, dtype = "double", verbose = FALSE)
  expect_equal(unname(get_result(c)), unname(aperm(get_result(b), c(1, 3, 2, 4))), tolerance = tol_exact)
})

test_that("IntegratedGradient float and double agree", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  f <- run_intgrad(conv, x, n = 30, verbose = FALSE)
  d <- run_intgrad(conv, x, n = 30, dtype = "double", verbose = FALSE)
  expect_lt(rel_diff(get_result(f), get_result(d)), tol_float)
  expect_lt(rel_diff(f$decomp_goal[[1]], d$decomp_goal[[1]]), tol_float)
})

test_that("run_intgrad() forwards, and print() shows n, times_input and the reference", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  a <- IntegratedGradient$new(conv, x, n = 10, verbose = FALSE)
  b <- run_intgrad(conv, x, n = 10, verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  txt <- print_text(b)
  expect_match(txt, "IntegratedGradient")
  expect_match(txt, "x_ref")
  expect_match(txt, "zeros")
  expect_match(txt, "10")
  txt2 <- print_text(run_intgrad(conv, x, x_ref = matrix(1:4, 1), n = 3, verbose = FALSE))
  expect_match(txt2, "2.5", fixed = TRUE)
  expect_false(grepl("zeros", txt2))
})
