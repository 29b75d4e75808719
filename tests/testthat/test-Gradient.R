test_that("Gradient of a one-layer dense model is the weight row (ignore_last_act = TRUE)", {
  m <- make_one_layer_model("softmax")
  conv <- convert(m)
  x <- rand_data(5, 4)
  g <- run_grad(conv, x, dtype = "double", verbose = FALSE)
  res <- get_result(g)
  expect_identical(dim(res), c(5L, 4L, 3L))
  for (b in 1:5) expect_equal(unname(res[b, , ]), t(m$W), tolerance = tol_exact)
})

test_that("Gradient through softmax (ignore_last_act = FALSE) is the analytic softmax Jacobian", {
  m <- make_one_layer_model("softmax")
  conv <- convert(m)
  x <- rand_data(4, 4)
  g <- run_grad(conv, x, ignore_last_act = FALSE, dtype = "double", verbose = FALSE)
  res <- get_result(g)
  for (b in 1:4) {
    p <- softmax(as.vector(m$W %*% x[b, ]) + m$b)
    # d p_j / d x_i = p_j * (W[j, i] - sum_k p_k W[k, i])
    J <- p * sweep(m$W, 2, colSums(p * m$W))
    expect_equal(unname(res[b, , ]), t(J), tolerance = tol_exact)
  }
  # the Jacobian rows of a softmax sum to zero over the classes
  expect_equal(apply(res, c(1, 2), sum), matrix(0, 4, 4, dimnames = list(NULL, paste0("X", 1:4))),
               tolerance = tol_exact)
})

test_that("Gradient with sigmoid output and ignore_last_act = FALSE is p(1-p)W", {
  m <- make_one_layer_model("sigmoid")
  x <- rand_data(3, 4)
  res <- get_result(run_grad(convert(m), x, ignore_last_act = FALSE, dtype = "double", verbose = FALSE))
  for (b in 1:3) {
    p <- 1 / (1 + exp(-(as.vector(m$W %*% x[b, ]) + m$b)))
    expect_equal(unname(res[b, , ]), t(p * (1 - p) * m$W), tolerance = tol_exact)
  }
})

test_that("Gradient equals central finite differences of predict() for the MLP", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  for (ila in c(TRUE, FALSE)) {
    res <- get_result(run_grad(conv, x, ignore_last_act = ila, dtype = "double", verbose = FALSE))
    type <- if (ila) "preactivation" else "output"
    for (b in 1:3) for (j in 1:3) {
      fd <- fd_gradient(conv, x[b, , drop = FALSE], j, type = type)
      expect_equal(unname(res[b, , j]), as.vector(fd), tolerance = tol_fd)
    }
  }
})

test_that("Gradient equals finite differences for the Conv1D model, in both layouts", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  res <- get_result(run_grad(conv, x, dtype = "double", verbose = FALSE))
  expect_identical(dim(res), c(2L, 3L, 16L, 2L))
  for (b in 1:2) for (j in 1:2) {
    fd <- fd_gradient(conv, array(instance(x, b), c(1, 3, 16)), j)
    expect_equal(unname(res[b, , , j]), unname(fd), tolerance = tol_fd)
  }
  res_cl <- get_result(run_grad(conv, to_channels_last(x), channels_first = FALSE, dtype = "double",
                                verbose = FALSE))
  expect_identical(dim(res_cl), c(2L, 16L, 3L, 2L))
  expect_equal(unname(res_cl), unname(aperm(res, c(1, 3, 2, 4))), tolerance = tol_exact)
})

test_that("Gradient equals finite differences for the Conv2D model (softmax output too)", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8))
  for (ila in c(TRUE, FALSE)) {
    res <- get_result(run_grad(conv, x, ignore_last_act = ila, dtype = "double", verbose = FALSE))
    expect_identical(dim(res), c(2L, 3L, 8L, 8L, 3L))
    type <- if (ila) "preactivation" else "output"
    for (j in c(1, 3)) {
      fd <- fd_gradient(conv, array(instance(x, 2), c(1, 3, 8, 8)), j, type = type)
      expect_equal(unname(res[2, , , , j]), unname(fd), tolerance = tol_fd)
    }
  }
  res_cl <- get_result(run_grad(conv, to_channels_last(x), channels_first = FALSE, dtype = "double",
                                verbose = FALSE))
  expect_identical(dim(res_cl), c(2L, 8L, 8L, 3L, 3L))
  res_cf <- get_result(run_grad(conv, x, dtype = "double", verbose = FALSE))
  expect_equal(unname(res_cl), unname(aperm(res_cf, c(1, 3, 4, 2, 5))), tolerance = tol_exact)
})

test_that("Gradient of the graph model equals finite differences for each input layer", {
  m <- make_graph_model()
  conv <- convert(m)
  x1 <- rand_data(2, 3, seed = 1)
  x2 <- rand_data(2, 5, seed = 2)
  g <- run_grad(conv, list(x1, x2), output_idx = list(1:3, 1:3), dtype = "double", verbose = FALSE)
  res <- get_result(g)
  h <- 1e-5
  f <- function(a, b, k, j) predict(conv, list(a, b), type = "preactivation", dtype = "double")[[k]][, j]
  for (k in 1:2) for (j in 1:3) {
    for (i in 1:3) {
      e <- matrix(0, 2, 3)
      e[, i] <- h
      fd <- (f(x1 + e, x2, k, j) - f(x1 - e, x2, k, j)) / (2 * h)
      if (k == 1) expect_equal(unname(res$Output_1$Input_1[, i, j]), fd, tolerance = tol_fd)
      else expect_equal(fd, c(0, 0), tolerance = tol_fd)
    }
    for (i in 1:5) {
      e <- matrix(0, 2, 5)
      e[, i] <- h
      fd <- (f(x1, x2 + e, k, j) - f(x1, x2 - e, k, j)) / (2 * h)
      expect_equal(unname(res[[k]]$Input_2[, i, j]), fd, tolerance = tol_fd)
    }
  }
  # input 1 does not reach output 2
  expect_identical(res$Output_2$Input_1, NaN)
})

test_that("times_input = TRUE multiplies the gradient by the input", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(3, c(3, 16))
  g <- get_result(run_grad(conv, x, dtype = "double", verbose = FALSE))
  gx <- get_result(run_grad(conv, x, times_input = TRUE, dtype = "double", verbose = FALSE))
  expect_equal(gx, g * array(x, dim(g)), tolerance = tol_exact)

  m <- make_one_layer_model("linear")
  xm <- rand_data(4, 4)
  gm <- run_grad(convert(m), xm, times_input = TRUE, dtype = "double", verbose = FALSE)
  expect_true(gm$times_input)
  # Gradient x Input decomposes a linear model: sum = W x = z - b
  expect_equal(unname(apply(get_result(gm), c(1, 3), sum)), sweep(gm$decomp_goal[[1]], 2, m$b),
               tolerance = tol_exact)
})

test_that("preds and decomp_goal hold the model output and the explained value", {
  conv <- convert(make_mlp_model())
  x <- rand_data(4, 4)
  g <- run_grad(conv, x, output_idx = c(3, 1), dtype = "double", verbose = FALSE)
  out <- predict(conv, x, dtype = "double")
  pre <- predict(conv, x, type = "preactivation", dtype = "double")
  expect_equal(unname(g$preds[[1]]), unname(out[, c(3, 1)]), tolerance = tol_exact)
  expect_equal(unname(g$decomp_goal[[1]]), unname(pre[, c(3, 1)]), tolerance = tol_exact)
  g2 <- run_grad(conv, x, output_idx = 2, ignore_last_act = FALSE, dtype = "double", verbose = FALSE)
  expect_equal(as.vector(g2$decomp_goal[[1]]), unname(out[, 2]), tolerance = tol_exact)
})

test_that("output_idx order, output_label and the default selection", {
  conv <- convert(make_mlp_model(), output_names = c("a", "b", "c"))
  x <- rand_data(2, 4)
  all3 <- get_result(run_grad(conv, x, output_idx = 1:3, verbose = FALSE))
  r31 <- get_result(run_grad(conv, x, output_idx = c(3, 1), verbose = FALSE))
  expect_identical(dimnames(r31)[[3]], c("c", "a"))
  expect_identical(r31[, , 1], all3[, , 3])
  expect_identical(r31[, , 2], all3[, , 1])
  rl <- run_grad(conv, x, output_label = c("c", "a"), verbose = FALSE)
  expect_identical(get_result(rl), r31)
  expect_identical(rl$output_idx, list(c(3L, 1L)))
  expect_identical(as.character(rl$output_label[[1]]), c("c", "a"))
  # labels as factor, and both arguments together (same set, index order wins)
  expect_identical(get_result(run_grad(conv, x, output_label = factor("b"), verbose = FALSE)),
                   all3[, , 2, drop = FALSE])
  both <- run_grad(conv, x, output_idx = c(1, 3), output_label = c("c", "a"), verbose = FALSE)
  expect_identical(dimnames(get_result(both))[[3]], c("a", "c"))
  # default: the first min(10, O) nodes of output layer 1
  expect_identical(run_grad(conv, x, verbose = FALSE)$output_idx, list(1:3))
  big <- make_one_layer_model("linear")
  big$layers[[1]]$weight <- rand_w(12, 4)
  big$layers[[1]]$bias <- rep(0, 12)
  gb <- run_grad(convert(big), x, verbose = FALSE)
  expect_identical(gb$output_idx, list(1:10))
  expect_identical(dim(get_result(gb)), c(2L, 4L, 10L))
})

test_that("float and double results agree", {
  for (mk in list(make_mlp_model, make_conv1d_model, make_conv2d_model)) {
    m <- mk()
    conv <- convert(m)
    x <- rand_data(2, m$input_dim)
    gf <- run_grad(conv, x, verbose = FALSE)
    gd <- run_grad(conv, x, dtype = "double", verbose = FALSE)
    expect_identical(gf$dtype, "float")
    expect_identical(gd$dtype, "double")
    expect_lt(rel_diff(get_result(gf), get_result(gd)), tol_float)
    expect_lt(rel_diff(gf$preds[[1]], gd$preds[[1]]), tol_float)
  }
})

test_that("a method's dtype does not mutate the Converter", {
  m <- make_mlp_model()
  conv <- convert(m)
  x <- rand_data(3, 4)
  before <- predict(conv, x)
  fields <- list(conv$input_dim, conv$input_names, conv$output_dim, conv$output_names)
  g <- run_grad(conv, x, dtype = "double", verbose = FALSE)
  expect_identical(predict(conv, x), before)
  expect_identical(conv$model$handle()$dtype(), "float")
  expect_identical(list(conv$input_dim, conv$input_names, conv$output_dim, conv$output_names), fields)
  # a float run afterwards gives the same result as on a fresh converter
  g1 <- run_grad(conv, x, verbose = FALSE)
  g2 <- run_grad(convert(m), x, verbose = FALSE)
  expect_identical(get_result(g1), get_result(g2))
})

test_that("run_grad() forwards to Gradient$new() and data frames are accepted", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  a <- Gradient$new(conv, x, times_input = TRUE, verbose = FALSE)
  b <- run_grad(conv, x, times_input = TRUE, verbose = FALSE)
  expect_s3_class(b, "Gradient")
  expect_s3_class(b, "InterpretingMethod")
  expect_identical(get_result(a), get_result(b))
  d <- run_grad(conv, as.data.frame(x), times_input = TRUE, verbose = FALSE)
  expect_identical(unname(get_result(d)), unname(get_result(a)))
  expect_true(a$channels_first)
  expect_true(a$ignore_last_act)
  expect_identical(a$converter, conv)
})

test_that("verbose = TRUE reports progress without changing the result", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  quiet <- run_grad(conv, x, verbose = FALSE)
  expect_no_error(suppressMessages(loud <- run_grad(conv, x, verbose = TRUE)))
  expect_identical(get_result(loud), get_result(quiet))
})

test_that("print() of a Gradient shows the method, its options and the result summary", {
  conv <- convert(make_graph_model())
  g <- run_grad(conv, list(rand_data(2, 3), rand_data(2, 5)), output_idx = list(c(1, 3), 2),
                times_input = TRUE, verbose = FALSE)
  txt <- print_text(g)
  expect_match(txt, "Gradient")
  expect_match(txt, "times_input")
  expect_match(txt, "cat, fish", fixed = TRUE)
  expect_match(txt, "(2, 3, 2)", fixed = TRUE)
  expect_match(txt, "not connected")
  expect_match(txt, "float")
  expect_false(attr(txt, "visible"))
})
