# DeepLift: shapes, summation to delta (spec 4.6: both rules, double, 1e-8), the
# rescale and reveal-cancel formulas on the dense MLP recomputed in plain R, and the
# argument checks (spec section 7, rows 23 and 24).

tol_delta <- 1e-8

# DeepLift multipliers of a sequential dense model, recomputed in plain R for one
# instance `x` and reference `x_ref`, for output node `j` (spec 4.6). The last layer
# is linear when `ila` (ignore_last_act). Returns the contributions (one per input).
ref_deeplift_dense <- function(layers, x, x_ref, j, rule = "rescale", ila = TRUE) {
  n <- length(layers)
  acts <- lapply(seq_len(n), function(l) {
    if (l == n && ila) identity else act_fun(layers[[l]]$activation_name)
  })
  # forward passes: the input of every layer
  ins <- list(x)
  ins_ref <- list(x_ref)
  for (l in seq_len(n - 1)) {
    ins[[l + 1]] <- acts[[l]](as.vector(layers[[l]]$weight %*% ins[[l]]) + layers[[l]]$bias)
    ins_ref[[l + 1]] <- acts[[l]](as.vector(layers[[l]]$weight %*% ins_ref[[l]]) + layers[[l]]$bias)
  }
  out_dim <- nrow(layers[[n]]$weight)
  m <- as.numeric(seq_len(out_dim) == j)
  for (l in rev(seq_len(n))) {
    W <- layers[[l]]$weight
    f <- acts[[l]]
    dx <- ins[[l]] - ins_ref[[l]]
    z <- as.vector(W %*% ins[[l]]) + layers[[l]]$bias
    zr <- as.vector(W %*% ins_ref[[l]]) + layers[[l]]$bias
    if (rule == "rescale") {
      slope <- ifelse(z == zr, 1, (f(z) - f(zr)) / (z - zr))
      if (l == n && !ila) slope <- ifelse(seq_along(z) == j, slope, 0)
      m <- as.vector(t(W) %*% (m * slope))
    } else {
      Wp <- pmax(W, 0)
      Wn <- pmin(W, 0)
      Dp <- as.vector(Wp %*% pmax(dx, 0) + Wn %*% pmin(dx, 0))
      Dn <- as.vector(Wn %*% pmax(dx, 0) + Wp %*% pmin(dx, 0))
      dyp <- 0.5 * (f(zr + Dp) - f(zr)) + 0.5 * (f(z) - f(zr + Dn))
      dyn <- 0.5 * (f(zr + Dn) - f(zr)) + 0.5 * (f(z) - f(zr + Dp))
      mp <- m * ifelse(Dp == 0, 0, dyp / Dp)
      mn <- m * ifelse(Dn == 0, 0, dyn / Dn)
      m <- as.vector(t(Wp) %*% mp) * (dx > 0) + as.vector(t(Wn) %*% mp) * (dx < 0) +
        as.vector(t(Wp) %*% mn) * (dx < 0) + as.vector(t(Wn) %*% mn) * (dx > 0) +
        as.vector(t(W) %*% (0.5 * (mp + mn))) * (dx == 0)
    }
  }
  m * (x - x_ref)
}

test_that("DeepLift defaults, fields and result shapes (dense, conv1d, conv2d; both layouts)", {
  conv <- convert(make_mlp_model())
  x <- rand_data(4, 4)
  dl <- DeepLift$new(conv, x, verbose = FALSE)
  expect_s3_class(dl, "DeepLift")
  expect_s3_class(dl, "InterpretingMethod")
  expect_identical(dl$rule_name, "rescale")
  expect_true(dl$winner_takes_all)
  expect_length(dl$x_ref, 1)
  expect_identical(dim(dl$x_ref[[1]]), c(1L, 4L))
  expect_true(all(dl$x_ref[[1]] == 0))
  expect_identical(dim(get_result(dl)), c(4L, 4L, 3L))
  expect_equal(unname(dl$preds[[1]]), unname(predict(conv, x)), tolerance = tol_float)

  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(2, c(3, 16))
  r1 <- get_result(run_deeplift(c1, x1, verbose = FALSE))
  expect_identical(dim(r1), c(2L, 3L, 16L, 2L))
  d1l <- run_deeplift(c1, to_channels_last(x1), channels_first = FALSE, verbose = FALSE)
  expect_identical(dim(d1l$x_ref[[1]]), c(1L, 16L, 3L))
  expect_identical(dim(get_result(d1l)), c(2L, 16L, 3L, 2L))
  expect_equal(unname(get_result(d1l)), unname(aperm(r1, c(1, 3, 2, 4))), tolerance = tol_float)

  c2 <- convert(make_conv2d_model())
  x2 <- rand_data(2, c(3, 8, 8))
  for (rule in c("rescale", "reveal_cancel")) {
    r2 <- get_result(run_deeplift(c2, x2, rule_name = rule, verbose = FALSE))
    expect_identical(dim(r2), c(2L, 3L, 8L, 8L, 3L))
    r2l <- get_result(run_deeplift(c2, to_channels_last(x2), rule_name = rule, channels_first = FALSE,
                                   verbose = FALSE))
    expect_identical(dim(r2l), c(2L, 8L, 8L, 3L, 3L))
    expect_equal(unname(r2l), unname(aperm(r2, c(1, 3, 4, 2, 5))), tolerance = tol_float)
  }
})

test_that("DeepLift sums to f(x) - f(x_ref) for both rules (double)", {
  cases <- list(
    list(make_mlp_model(), rand_data(3, 4), rand_data(1, 4, seed = 7)),
    list(make_bn_model(), rand_data(3, 4), rand_data(1, 4, seed = 8)),
    list(make_conv1d_model(), rand_data(2, c(3, 16)), rand_data(1, c(3, 16), seed = 9)),
    list(make_conv2d_model(), rand_data(2, c(3, 8, 8)), rand_data(1, c(3, 8, 8), seed = 10))
  )
  for (cs in cases) {
    conv <- convert(cs[[1]])
    for (rule in c("rescale", "reveal_cancel")) for (ila in c(TRUE, FALSE)) {
      type <- if (ila) "preactivation" else "output"
      goal <- predict(conv, cs[[2]], type = type, dtype = "double") -
        predict(conv, cs[[3]], type = type, dtype = "double")[rep(1, dim(cs[[2]])[1]), , drop = FALSE]
      # max-pooling as (rescaled) average pooling keeps summation to delta
      dl <- run_deeplift(conv, cs[[2]], x_ref = cs[[3]], rule_name = rule, ignore_last_act = ila,
                         winner_takes_all = FALSE, dtype = "double", verbose = FALSE)
      expect_equal(unname(dl$decomp_goal[[1]]), unname(goal), tolerance = tol_exact)
      expect_lt(max(abs(sum_over_inputs(get_result(dl)) - goal)), tol_delta)
    }
  }
})

test_that("DeepLift rescale and reveal_cancel on the MLP match the formulas of spec 4.6", {
  m <- make_mlp_model()
  conv <- convert(m)
  x <- rand_data(3, 4)
  x_ref <- rand_data(1, 4, seed = 4)
  for (rule in c("rescale", "reveal_cancel")) {
    res <- get_result(run_deeplift(conv, x, x_ref = x_ref, rule_name = rule, dtype = "double", verbose = FALSE))
    for (b in 1:3) for (j in 1:3) {
      expect_equal(unname(res[b, , j]), ref_deeplift_dense(m$layers, x[b, ], x_ref[1, ], j, rule),
                   tolerance = 1e-8)
    }
  }
  # rescale through the softmax output (ignore_last_act = FALSE)
  res <- get_result(run_deeplift(conv, x, x_ref = x_ref, ignore_last_act = FALSE, dtype = "double",
                                 verbose = FALSE))
  for (b in 1:3) for (j in 1:3) {
    expect_equal(unname(res[b, , j]), ref_deeplift_dense(m$layers, x[b, ], x_ref[1, ], j, ila = FALSE),
                 tolerance = 1e-8)
  }
  # the two rules differ on this model
  rc <- get_result(run_deeplift(conv, x, x_ref = x_ref, rule_name = "reveal_cancel", dtype = "double",
                                verbose = FALSE))
  rs <- get_result(run_deeplift(conv, x, x_ref = x_ref, dtype = "double", verbose = FALSE))
  expect_gt(rel_diff(rc, rs), 1e-6)
})

test_that("DeepLift of a linear model is W (x - x_ref) for both rules", {
  m <- make_one_layer_model("linear")
  conv <- convert(m)
  x <- rand_data(3, 4)
  x_ref <- matrix(c(0.5, -1, 2, 0), 1)
  for (rule in c("rescale", "reveal_cancel")) {
    res <- get_result(run_deeplift(conv, x, x_ref = x_ref, rule_name = rule, dtype = "double", verbose = FALSE))
    for (b in 1:3) expect_equal(unname(res[b, , ]), t(m$W) * (x[b, ] - x_ref[1, ]), tolerance = tol_exact)
  }
})

test_that("DeepLift on the graph model: nesting, NaN leaf, summation over all input layers", {
  conv <- convert(make_graph_model())
  x <- list(rand_data(2, 3, seed = 1), rand_data(2, 5, seed = 2))
  x_ref <- list(rand_data(1, 3, seed = 3), rand_data(1, 5, seed = 4))
  for (rule in c("rescale", "reveal_cancel")) {
    dl <- run_deeplift(conv, x, x_ref = x_ref, rule_name = rule, output_idx = list(c(1, 3), 2),
                       dtype = "double", verbose = FALSE)
    res <- get_result(dl)
    expect_named(res, c("Output_1", "Output_2"))
    expect_named(res$Output_1, c("Input_1", "Input_2"))
    expect_identical(dim(res$Output_1$Input_2), c(2L, 5L, 2L))
    expect_identical(res$Output_2$Input_1, NaN)
    pre <- predict(conv, x, type = "preactivation", dtype = "double")
    pre_ref <- predict(conv, x_ref, type = "preactivation", dtype = "double")
    goal1 <- pre[[1]][, c(1, 3)] - pre_ref[[1]][c(1, 1), c(1, 3)]
    goal2 <- pre[[2]][, 2, drop = FALSE] - pre_ref[[2]][c(1, 1), 2, drop = FALSE]
    total1 <- sum_over_inputs(res$Output_1$Input_1) + sum_over_inputs(res$Output_1$Input_2)
    expect_lt(max(abs(total1 - goal1)), tol_delta)
    expect_lt(max(abs(sum_over_inputs(res$Output_2$Input_2) - goal2)), tol_delta)
    expect_equal(unname(dl$decomp_goal[[2]]), unname(goal2), tolerance = tol_exact)
  }
})

test_that("DeepLift x_ref: zero default equals explicit zeros; channels-last x_ref", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  a <- run_deeplift(conv, x, dtype = "double", verbose = FALSE)
  b <- run_deeplift(conv, x, x_ref = array(0, c(1, 3, 16)), dtype = "double", verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  x_ref <- rand_data(1, c(3, 16), seed = 5)
  cf <- run_deeplift(conv, x, x_ref = x_ref, dtype = "double", verbose = FALSE)
  cl <- run_deeplift(conv, to_channels_last(x), x_ref = to_channels_last(x_ref), channels_first = FALSE,
                     dtype = "double", verbose = FALSE)
  expect_equal(unname(get_result(cl)), unname(aperm(get_result(cf), c(1, 3, 2, 4))), tolerance = tol_exact)
  expect_equal(cl$decomp_goal, cf$decomp_goal, tolerance = tol_exact)
})

test_that("DeepLift winner_takes_all is stored and changes max-pooling", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8))
  a <- run_deeplift(conv, x, dtype = "double", verbose = FALSE)
  b <- run_deeplift(conv, x, winner_takes_all = FALSE, dtype = "double", verbose = FALSE)
  expect_true(a$winner_takes_all)
  expect_false(b$winner_takes_all)
  expect_gt(rel_diff(get_result(a), get_result(b)), 1e-8)
  # summation to delta holds with winner_takes_all = FALSE
  expect_lt(max(abs(sum_over_inputs(get_result(b)) - b$decomp_goal[[1]])), tol_delta)
})

test_that("DeepLift float and double agree", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  for (rule in c("rescale", "reveal_cancel")) {
    f <- run_deeplift(conv, x, rule_name = rule, verbose = FALSE)
    d <- run_deeplift(conv, x, rule_name = rule, dtype = "double", verbose = FALSE)
    expect_lt(rel_diff(get_result(f), get_result(d)), tol_float)
  }
})

test_that("DeepLift data.frame has decomp_sum and decomp_goal filled", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  dl <- run_deeplift(conv, x, x_ref = matrix(1, 1, 4), dtype = "double", verbose = FALSE)
  df <- get_result(dl, "data.frame")
  expect_identical(nrow(df), 36L)
  expect_false(anyNA(df$decomp_sum))
  expect_false(anyNA(df$decomp_goal))
  expect_false(anyNA(df$pred))
  expect_equal(df$decomp_sum, df$decomp_goal, tolerance = tol_delta)
})

test_that("run_deeplift() forwards, and print() shows rule_name and x_ref", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  a <- DeepLift$new(conv, x, rule_name = "reveal_cancel", verbose = FALSE)
  b <- run_deeplift(conv, x, rule_name = "reveal_cancel", verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  txt <- print_text(b)
  expect_match(txt, "DeepLift")
  expect_match(txt, "reveal_cancel")
  expect_match(txt, "x_ref")
  expect_match(txt, "zeros")
  expect_match(txt, "winner_takes_all")
  expect_false(attr(txt, "visible"))
})

test_that("DeepLift arguments are checked (spec section 7, rows 23 and 24)", {
  mlp <- make_mlp_model()
  conv <- convert(mlp)
  x <- rand_data(2, 4)
  expect_innsight_error(DeepLift$new(mlp, x), "argument", "Converter")
  expect_innsight_error(DeepLift$new(conv), "data", "missing")
  expect_innsight_error(run_deeplift(conv, x, rule_name = "asdf"), "argument", "rule_name")
  expect_innsight_error(run_deeplift(conv, x, rule_name = "epsilon"), "argument", "rule_name")
  expect_innsight_error(run_deeplift(conv, x, rule_name = NULL), "argument", "rule_name")
  expect_innsight_error(run_deeplift(conv, x, winner_takes_all = NA), "argument", "winner_takes_all")
  expect_innsight_error(run_deeplift(conv, x, ignore_last_act = "no"), "argument", "ignore_last_act")
  expect_innsight_error(run_deeplift(conv, x, x_ref = rand_data(2, 4)), "argument", "single instance")
  expect_innsight_error(run_deeplift(conv, x, x_ref = "asdf"), "data", "x_ref")
  expect_innsight_error(run_deeplift(conv, x, x_ref = matrix(1, 1, 5)), "data", "x_ref")
  expect_innsight_error(run_deeplift(conv, x, x_ref = c(1, 2, 3, 4)), "data", "x_ref")
  # DeepLift has no rule parameter: `$new()` gives R's unused argument, as in the
  # original; run_deeplift() a classed error naming it
  expect_error(DeepLift$new(conv, x, rule_param = 0.5), "unused argument")
  expect_innsight_error(run_deeplift(conv, x, rule_param = 0.5), "argument", "`rule_param`")
})
