# ConnectionWeights (spec 4.8): the global method is the product of the weights
# (activations and biases ignored), computed here independently; the local method
# multiplies it by the input. Add passes the signal to every summand (decision 13).

# The same model with linear activations, zero biases and average instead of max
# pooling: its gradient is constant and equals the connection weights of a model
# whose max-pooling windows route to one element (compared only where it cannot matter).
linearise <- function(m) {
  m <- without_bias(m)
  m$layers <- lapply(m$layers, function(l) {
    if (!is.null(l$activation_name)) l$activation_name <- "linear"
    l
  })
  m
}

test_that("global ConnectionWeights of a dense model is the product of the weight matrices", {
  m <- make_mlp_model()
  conv <- convert(m, input_names = c("a", "b", "c", "d"))
  cw <- ConnectionWeights$new(conv, dtype = "double", verbose = FALSE)
  expect_s3_class(cw, "ConnectionWeights")
  expect_s3_class(cw, "InterpretingMethod")
  expect_false(cw$times_input)
  expect_false(cw$ignore_last_act)
  expect_null(cw$data)
  expect_identical(cw$preds, list(NULL))
  expect_identical(cw$decomp_goal, list(NULL))
  res <- get_result(cw)
  expect_identical(dim(res), c(1L, 4L, 3L))
  expect_identical(dimnames(res), list(NULL, c("a", "b", "c", "d"), c("Y1", "Y2", "Y3")))
  W <- lapply(m$layers, `[[`, "weight")
  expect_equal(unname(res[1, , ]), t(W[[3]] %*% W[[2]] %*% W[[1]]), tolerance = tol_exact)
  # output_idx selects the columns
  sub <- get_result(run_cw(conv, output_idx = c(3, 1), dtype = "double", verbose = FALSE))
  expect_identical(dimnames(sub)[[3]], c("Y3", "Y1"))
  expect_equal(unname(sub[1, , ]), t(W[[3]] %*% W[[2]] %*% W[[1]])[, c(3, 1)], tolerance = tol_exact)
  # float agrees
  expect_lt(rel_diff(get_result(run_cw(conv, verbose = FALSE)), res), tol_float)
})

test_that("global ConnectionWeights through BatchNorm scales by gamma / sqrt(var + eps)", {
  m <- make_bn_model()
  bn <- m$layers[[2]]
  scale <- bn$gamma / sqrt(bn$run_var + bn$eps)
  res <- get_result(run_cw(convert(m), dtype = "double", verbose = FALSE))
  expect_equal(unname(res[1, , ]), t(m$layers[[3]]$weight %*% diag(scale) %*% m$layers[[1]]$weight),
               tolerance = tol_exact)
})

test_that("data is ignored by the global method, with a message", {
  conv <- convert(make_mlp_model())
  x <- rand_data(5, 4)
  expect_message(cw <- ConnectionWeights$new(conv, x, verbose = FALSE), "ignored")
  expect_null(cw$data)
  expect_identical(dim(get_result(cw)), c(1L, 4L, 3L))
  expect_identical(get_result(cw), get_result(run_cw(conv, verbose = FALSE)))
  expect_message(run_cw(conv, x, verbose = FALSE), "ignored")
  expect_silent(run_cw(conv, verbose = FALSE))
})

test_that("local ConnectionWeights is the global result times the input", {
  conv <- convert(make_mlp_model())
  x <- rand_data(5, 4)
  glob <- get_result(run_cw(conv, dtype = "double", verbose = FALSE))
  loc <- run_cw(conv, x, times_input = TRUE, dtype = "double", verbose = FALSE)
  expect_true(loc$times_input)
  expect_identical(loc$decomp_goal, list(NULL))
  res <- get_result(loc)
  expect_identical(dim(res), c(5L, 4L, 3L))
  for (b in 1:5) expect_equal(unname(res[b, , ]), unname(glob[1, , ]) * x[b, ], tolerance = tol_exact)
})

test_that("ConnectionWeights of conv models equals the gradient of the linearised model", {
  for (mk in list(make_conv1d_model, make_conv2d_model)) {
    m <- mk()
    # max-pooling -> average pooling in both (ties of the global method do not matter then)
    m$layers <- lapply(m$layers, function(l) {
      if (identical(l$type, "MaxPooling1D")) l$type <- "AveragePooling1D"
      if (identical(l$type, "MaxPooling2D")) l$type <- "AveragePooling2D"
      l
    })
    shape <- m$input_dim
    conv <- convert(m)
    cw <- run_cw(conv, dtype = "double", verbose = FALSE)
    res <- get_result(cw)
    n_out <- m$layers[[6]]$weight
    expect_identical(dim(res), as.integer(c(1, shape, nrow(n_out))))
    grad <- get_result(run_grad(convert(linearise(m)), rand_data(1, shape), dtype = "double", verbose = FALSE))
    expect_equal(unname(res), unname(grad), tolerance = tol_exact)
    # channels last: the same values, permuted; local uses channels-last data
    x <- rand_data(2, shape)
    cl <- get_result(run_cw(conv, channels_first = FALSE, dtype = "double", verbose = FALSE))
    perm <- if (length(shape) == 2) c(1, 3, 2, 4) else c(1, 3, 4, 2, 5)
    expect_identical(dim(cl), dim(res)[perm])
    expect_equal(unname(cl), unname(aperm(res, perm)), tolerance = tol_exact)
    loc <- get_result(run_cw(conv, to_channels_last(x), channels_first = FALSE, times_input = TRUE,
                             dtype = "double", verbose = FALSE))
    expect_identical(dim(loc), c(2L, dim(cl)[-1]))
    n_feat <- prod(shape)
    S <- nrow(n_out)
    glob <- matrix(cl, n_feat, S)
    x_mat <- matrix(to_channels_last(x), 2, n_feat)
    loc3 <- array(loc, c(2, n_feat, S))
    for (s in seq_len(S)) expect_equal(loc3[, , s], sweep(x_mat, 2, glob[, s], "*"), tolerance = tol_exact)
  }
  # with max-pooling the global method still gives the full shape
  res <- get_result(run_cw(convert(make_conv2d_model()), verbose = FALSE))
  expect_identical(dim(res), c(1L, 3L, 8L, 8L, 3L))
  expect_false(anyNA(res))
})

test_that("ConnectionWeights on the graph model: Add passes the signal to every summand", {
  m <- make_graph_model()
  conv <- convert(m)
  W <- lapply(m$layers, `[[`, "weight")
  cw <- run_cw(conv, output_idx = list(1:3, 1:3), dtype = "double", verbose = FALSE)
  expect_identical(cw$preds, list(NULL, NULL))
  expect_identical(cw$decomp_goal, list(NULL, NULL))
  res <- get_result(cw)
  expect_named(res, c("Output_1", "Output_2"))
  expect_identical(dim(res$Output_1$Input_1), c(1L, 3L, 3L))
  # Output 1 = L6(L1 + L4(concat(L1, L2)))
  W4a <- W[[4]][, 1:4]
  W4b <- W[[4]][, 5:8]
  expect_equal(unname(res$Output_1$Input_1[1, , ]), t(W[[6]] %*% (diag(4) + W4a) %*% W[[1]]),
               tolerance = tol_exact)
  expect_equal(unname(res$Output_1$Input_2[1, , ]), t(W[[6]] %*% W4b %*% W[[2]]), tolerance = tol_exact)
  # Output 2 = L7(L2): input 1 is not connected
  expect_identical(res$Output_2$Input_1, NaN)
  expect_equal(unname(res$Output_2$Input_2[1, , ]), t(W[[7]] %*% W[[2]]), tolerance = tol_exact)
  # local with both inputs
  x <- list(rand_data(2, 3, seed = 1), rand_data(2, 5, seed = 2))
  loc <- get_result(run_cw(conv, x, times_input = TRUE, output_idx = list(1:3, 1:3), dtype = "double",
                           verbose = FALSE))
  expect_equal(unname(loc$Output_1$Input_2[2, , ]), unname(res$Output_1$Input_2[1, , ]) * x[[2]][2, ],
               tolerance = tol_exact)
})

test_that("get_result() data frame of the global method: one instance, no prediction or goal", {
  conv <- convert(make_mlp_model())
  cw <- run_cw(conv, dtype = "double", verbose = FALSE)
  df <- get_result(cw, "data.frame")
  expect_identical(nrow(df), 1L * 4L * 3L)
  expect_identical(levels(df$data), "data_1")
  expect_true(all(is.na(df$pred)))
  expect_true(all(is.na(df$decomp_goal)))
  expect_false(anyNA(df$decomp_sum))
  expect_equal(df$decomp_sum, unname(rep(colSums(get_result(cw)[1, , ]), each = 4)), tolerance = tol_exact)
  dfl <- get_result(run_cw(conv, rand_data(3, 4), times_input = TRUE, verbose = FALSE), "data.frame")
  expect_identical(nrow(dfl), 3L * 4L * 3L)
  expect_true(all(is.na(dfl$decomp_goal)))
})

test_that("run_cw() forwards, and print() shows global or local", {
  conv <- convert(make_mlp_model())
  a <- ConnectionWeights$new(conv, verbose = FALSE)
  b <- run_cw(conv, verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  txt <- print_text(b)
  expect_match(txt, "ConnectionWeights")
  expect_match(txt, "global")
  expect_match(txt, "shape \\(1, 4, 3\\)")
  expect_false(attr(txt, "visible"))
  expect_match(print_text(run_cw(conv, rand_data(2, 4), times_input = TRUE, verbose = FALSE)), "local")
})

test_that("ConnectionWeights arguments are checked (spec section 7, row 26)", {
  mlp <- make_mlp_model()
  conv <- convert(mlp)
  x <- rand_data(2, 4)
  expect_innsight_error(ConnectionWeights$new(conv, times_input = TRUE), "data", "data")
  expect_innsight_error(run_cw(conv, times_input = TRUE), "data", "data")
  expect_innsight_error(run_cw(conv, "abc", times_input = TRUE), "data", "data")
  expect_innsight_error(run_cw(conv, mlp, times_input = TRUE), "data")
  expect_innsight_error(run_cw(conv, matrix(1, 2, 5), times_input = TRUE), "data", "dimension")
  expect_innsight_error(ConnectionWeights$new(mlp), "argument", "Converter")
  expect_innsight_error(run_cw(mlp, x, times_input = TRUE), "argument", "Converter")
  expect_innsight_error(run_cw(conv, times_input = NA), "argument", "times_input")
  expect_innsight_error(run_cw(conv, times_input = "yes"), "argument", "times_input")
  expect_innsight_error(run_cw(conv, channels_first = NULL), "argument", "channels_first")
  expect_innsight_error(run_cw(conv, output_idx = 5), "argument", "output_idx")
  expect_innsight_error(run_cw(conv, dtype = "single"), "argument", "dtype")
  # no ignore_last_act argument (the field is FALSE)
  expect_error(ConnectionWeights$new(conv, ignore_last_act = TRUE), "unused argument")
})
