# LRP: shapes, the rule formulas of spec section 4.5 on one-layer models (computed
# here with plain R), conservation on bias-free models, rules per layer class,
# presets, the iNNvestigate case of spec section 11, and the argument checks.

# The zennit rules (gamma, zplus, flat, wsquare, zbox) stabilise their denominators
# as zennit does, d + (sign(d) + [d = 0]) * 1e-6, in every precision.
zennit_stab <- function(d) d + (sign(d) + (d == 0)) * 1e-6
tol_rule <- 1e-8

# Relevances of one instance `x` through one Dense layer (W, b) for alpha-beta,
# starting from z (ignore_last_act = TRUE). Returns (in, out).
ref_alpha_beta <- function(W, b, x, alpha) {
  Wp <- pmax(W, 0)
  Wn <- pmin(W, 0)
  xp <- pmax(x, 0)
  xn <- pmin(x, 0)
  z <- as.vector(W %*% x) + b
  P <- as.vector(Wp %*% xp + Wn %*% xn) + pmax(b, 0)
  N <- as.vector(Wn %*% xp + Wp %*% xn) + pmin(b, 0)
  Rp <- sweep(t(Wp) * xp + t(Wn) * xn, 2, ifelse(P == 0, 0, z / P), "*")
  Rn <- sweep(t(Wp) * xn + t(Wn) * xp, 2, ifelse(N == 0, 0, z / N), "*")
  if (alpha == 1) Rp else alpha * Rp + (1 - alpha) * Rn
}

# Rule "numerator / column sum of numerator" times z, for one instance: num is (in, out).
ref_proportional <- function(num, z, stab = zennit_stab) sweep(num, 2, z / stab(colSums(num)), "*")

# zplus: the positive contributions x+ w+ + x- w- (bias-free), zennit's stabiliser.
ref_zplus <- function(W, x) {
  ref_proportional(t(pmax(W, 0)) * pmax(x, 0) + t(pmin(W, 0)) * pmin(x, 0), as.vector(W %*% x))
}

test_that("LRP defaults, fields and result shape", {
  conv <- convert(make_mlp_model(), input_names = c("a", "b", "c", "d"))
  x <- rand_data(5, 4)
  lrp <- LRP$new(conv, x, verbose = FALSE)
  expect_s3_class(lrp, "LRP")
  expect_s3_class(lrp, "InterpretingMethod")
  expect_identical(lrp$rule_name, "simple")
  expect_null(lrp$rule_param)
  expect_true(lrp$winner_takes_all)
  expect_true(lrp$ignore_last_act)
  expect_identical(lrp$dtype, "float")
  res <- get_result(lrp)
  expect_identical(dim(res), c(5L, 4L, 3L))
  expect_identical(dimnames(res), list(NULL, c("a", "b", "c", "d"), c("Y1", "Y2", "Y3")))
  expect_identical(dim(lrp$preds[[1]]), c(5L, 3L))
  expect_identical(dim(lrp$decomp_goal[[1]]), c(5L, 3L))
  expect_equal(unname(lrp$preds[[1]]), unname(predict(conv, x)), tolerance = tol_float)
  # the goal is the pre-activation
  expect_equal(unname(lrp$decomp_goal[[1]]), unname(predict(conv, x, type = "preactivation")),
               tolerance = tol_float)
  sub <- get_result(run_lrp(conv, x, output_idx = c(3, 1), verbose = FALSE))
  expect_identical(dimnames(sub)[[3]], c("Y3", "Y1"))
  expect_equal(sub[, , "Y3"], res[, , "Y3"], tolerance = tol_float)
})

test_that("LRP result shapes for Conv1D and Conv2D models in both layouts", {
  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(3, c(3, 16))
  r1 <- get_result(run_lrp(c1, x1, verbose = FALSE))
  expect_identical(dim(r1), c(3L, 3L, 16L, 2L))
  r1l <- get_result(run_lrp(c1, to_channels_last(x1), channels_first = FALSE, verbose = FALSE))
  expect_identical(dim(r1l), c(3L, 16L, 3L, 2L))
  expect_equal(unname(r1l), unname(aperm(r1, c(1, 3, 2, 4))), tolerance = tol_float)

  c2 <- convert(make_conv2d_model())
  x2 <- rand_data(2, c(3, 8, 8))
  for (rule in c("simple", "epsilon", "alpha_beta")) {
    r2 <- get_result(run_lrp(c2, x2, rule_name = rule, verbose = FALSE))
    expect_identical(dim(r2), c(2L, 3L, 8L, 8L, 3L))
    expect_false(anyNA(r2))
    r2l <- get_result(run_lrp(c2, to_channels_last(x2), rule_name = rule, channels_first = FALSE,
                              verbose = FALSE))
    expect_identical(dim(r2l), c(2L, 8L, 8L, 3L, 3L))
    expect_equal(unname(r2l), unname(aperm(r2, c(1, 3, 4, 2, 5))), tolerance = tol_float)
  }
})

test_that("simple and epsilon rules on one Dense layer follow the formulas (bias included)", {
  m <- make_one_layer_model("softmax")
  conv <- convert(m)
  x <- rand_data(4, 4)
  simple <- get_result(run_lrp(conv, x, dtype = "double", verbose = FALSE))
  eps <- get_result(run_lrp(conv, x, rule_name = "epsilon", rule_param = 0.5, dtype = "double",
                            verbose = FALSE))
  for (b in 1:4) {
    z <- as.vector(m$W %*% x[b, ]) + m$b
    # simple: R_i = x_i w_ji z_j / z_j (the bias absorbs its share)
    expect_equal(unname(simple[b, , ]), t(m$W) * x[b, ], tolerance = tol_exact)
    expect_equal(unname(eps[b, , ]), sweep(t(m$W) * x[b, ], 2, z / (z + 0.5 * sign(z)), "*"),
                 tolerance = tol_exact)
  }
})

test_that("epsilon's default is 0.001", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  a <- run_lrp(conv, x, rule_name = "epsilon", dtype = "double", verbose = FALSE)
  b <- run_lrp(conv, x, rule_name = "epsilon", rule_param = 0.001, dtype = "double", verbose = FALSE)
  c <- run_lrp(conv, x, rule_name = "epsilon", rule_param = 0.1, dtype = "double", verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  expect_gt(max(abs(get_result(a) - get_result(c))), 1e-6)
  expect_match(print_text(a), "0.001", fixed = TRUE)
})

test_that("alpha_beta on one Dense layer follows the formula for alpha = 0.5 (default), 1 and 2", {
  m <- make_one_layer_model("softmax")
  conv <- convert(m)
  x <- rand_data(4, 4)
  for (alpha in list(NULL, 1, 2)) {
    res <- get_result(run_lrp(conv, x, rule_name = "alpha_beta", rule_param = alpha, dtype = "double",
                              verbose = FALSE))
    for (b in 1:4) {
      expect_equal(unname(res[b, , ]), ref_alpha_beta(m$W, m$b, x[b, ], if (is.null(alpha)) 0.5 else alpha),
                   tolerance = tol_exact)
    }
  }
})

test_that("the iNNvestigate alpha-beta case (spec section 11): (-1, 0) for alpha = 1, (-2, 0.5) for alpha = 2", {
  model <- list(input_dim = 2, input_nodes = 1, output_nodes = 1, layers = list(
    dense_layer(matrix(c(1, -1), 1, 2), -1, "softmax", 0, -1)))
  conv <- convert(model)
  x <- matrix(c(1, 1), 1)
  a1 <- run_lrp(conv, x, rule_name = "alpha_beta", rule_param = 1, dtype = "double", verbose = FALSE)
  a2 <- run_lrp(conv, x, rule_name = "alpha_beta", rule_param = 2, dtype = "double", verbose = FALSE)
  expect_equal(as.vector(get_result(a1)), c(-1, 0), tolerance = tol_exact)
  expect_equal(as.vector(get_result(a2)), c(-2, 0.5), tolerance = tol_exact)
  expect_equal(as.vector(a1$decomp_goal[[1]]), -1, tolerance = tol_exact)
  # and for the float computation
  a2f <- run_lrp(conv, x, rule_name = "alpha_beta", rule_param = 2, verbose = FALSE)
  expect_equal(as.vector(get_result(a2f)), c(-2, 0.5), tolerance = tol_float)
  # the other rules on the same layer: simple gives (1, -1), epsilon 0.5 gives (2/3, -2/3)
  expect_equal(as.vector(get_result(run_lrp(conv, x, dtype = "double", verbose = FALSE))), c(1, -1),
               tolerance = tol_exact)
  expect_equal(as.vector(get_result(run_lrp(conv, x, rule_name = "epsilon", rule_param = 0.5,
                                            dtype = "double", verbose = FALSE))),
               c(2, -2) / 3, tolerance = tol_exact)
})

test_that("gamma, zplus, flat, wsquare and zbox on one bias-free Dense layer follow their formulas", {
  m <- without_bias(make_one_layer_model("linear"))
  W <- m$layers[[1]]$weight
  conv <- convert(m)
  x <- rand_data(3, 4)
  run <- function(rule, param = NULL, data = x) {
    get_result(run_lrp(conv, data, rule_name = rule, rule_param = param, dtype = "double", verbose = FALSE))
  }
  flat <- run("flat")
  wsq <- run("wsquare")
  zplus <- run("zplus")
  zbox <- run("zbox", list(low = -3, high = 3))
  gamma0 <- run("gamma", 0)
  simple <- run("simple")
  for (b in 1:3) {
    z <- as.vector(W %*% x[b, ])
    expect_equal(unname(flat[b, , ]), matrix(z / zennit_stab(4), 4, 3, byrow = TRUE), tolerance = tol_rule)
    expect_equal(unname(wsq[b, , ]), ref_proportional(t(W)^2, z), tolerance = tol_rule)
    expect_equal(unname(zplus[b, , ]), ref_zplus(W, x[b, ]), tolerance = tol_rule)
    # zplus is alpha = 1 (up to the stabiliser)
    expect_equal(unname(zplus[b, , ]), ref_alpha_beta(W, 0, x[b, ], 1), tolerance = 1e-3)
    num <- t(W) * x[b, ] - (-3) * t(pmax(W, 0)) - 3 * t(pmin(W, 0))
    expect_equal(unname(zbox[b, , ]), ref_proportional(num, z), tolerance = tol_rule)
  }
  # gamma = 0 is the plain z-rule (up to the different stabilisers)
  expect_equal(gamma0, simple, tolerance = 1e-4)
  # gamma on positive inputs with positive outputs: weights w + gamma w+
  Wg <- matrix(c(0.8, -0.2, 0.5, 0.3, 0.1, 0.9, -0.3, 0.4, 0.6, 0.2, 0.7, -0.1), 3, 4)
  mg <- list(input_dim = 4, input_nodes = 1, output_nodes = 1,
             layers = list(dense_layer(Wg, rep(0, 3), "linear", 0, -1)))
  xg <- abs(rand_data(3, 4)) + 0.1
  g <- get_result(run_lrp(convert(mg), xg, rule_name = "gamma", rule_param = 0.5, dtype = "double",
                          verbose = FALSE))
  for (b in 1:3) {
    z <- as.vector(Wg %*% xg[b, ])
    expect_true(all(z > 0))
    expect_equal(unname(g[b, , ]), ref_proportional(t(Wg + 0.5 * pmax(Wg, 0)) * xg[b, ], z),
                 tolerance = tol_rule)
  }
  # gamma's default is 0.25
  expect_equal(run("gamma"), run("gamma", 0.25), tolerance = tol_exact)
})

test_that("LRP conserves relevance on bias-free models (simple rule, double)", {
  check <- function(model, x, ila, ...) {
    conv <- convert(model)
    lrp <- run_lrp(conv, x, ignore_last_act = ila, dtype = "double", verbose = FALSE, ...)
    goal <- if (ila) predict(conv, x, type = "preactivation", dtype = "double") else
      predict(conv, x, dtype = "double") - 0.5
    expect_equal(unname(lrp$decomp_goal[[1]]), unname(goal), tolerance = tol_exact)
    expect_lt(rel_diff(sum_over_inputs(get_result(lrp)), goal), 1e-8)
  }
  for (ila in c(TRUE, FALSE)) {
    check(without_bias(make_mlp_model()), rand_data(4, 4), ila)
    check(without_bias(make_conv1d_model()), rand_data(3, c(3, 16)), ila)
    check(without_bias(make_conv1d_model()), rand_data(3, c(3, 16)), ila, winner_takes_all = FALSE)
    check(without_bias(make_conv2d_model()), rand_data(2, c(3, 8, 8)), ila)
    check(without_bias(make_bn_model(centred = TRUE)), rand_data(3, 4), ila)
  }
})

test_that("LRP on the graph model: nesting, NaN leaf, conservation over all input layers", {
  m <- without_bias(make_graph_model())
  conv <- convert(m)
  x <- list(rand_data(3, 3, seed = 1), rand_data(3, 5, seed = 2))
  lrp <- run_lrp(conv, x, output_idx = list(c(1, 3), 2), dtype = "double", verbose = FALSE)
  res <- get_result(lrp)
  expect_named(res, c("Output_1", "Output_2"))
  expect_named(res$Output_1, c("Input_1", "Input_2"))
  expect_identical(dim(res$Output_1$Input_1), c(3L, 3L, 2L))
  expect_identical(dim(res$Output_1$Input_2), c(3L, 5L, 2L))
  expect_identical(dimnames(res$Output_1$Input_1)[[3]], c("cat", "fish"))
  expect_identical(res$Output_2$Input_1, NaN)
  expect_identical(dim(res$Output_2$Input_2), c(3L, 5L, 1L))
  pre <- predict(conv, x, type = "preactivation", dtype = "double")
  # relevance through Add is split in proportion to the summands, so it is conserved
  total1 <- sum_over_inputs(res$Output_1$Input_1) + sum_over_inputs(res$Output_1$Input_2)
  expect_lt(rel_diff(total1, pre[[1]][, c(1, 3)]), 1e-8)
  expect_lt(rel_diff(sum_over_inputs(res$Output_2$Input_2), pre[[2]][, 2, drop = FALSE]), 1e-8)
  expect_equal(unname(lrp$decomp_goal[[2]]), unname(pre[[2]][, 2, drop = FALSE]), tolerance = tol_exact)

  # ignore_last_act = FALSE: softmax output minus 0.5, linear output unchanged
  lrp2 <- run_lrp(conv, x, output_idx = list(1:3, 1:3), ignore_last_act = FALSE, dtype = "double",
                  verbose = FALSE)
  out <- predict(conv, x, dtype = "double")
  expect_equal(unname(lrp2$decomp_goal[[1]]), unname(out[[1]] - 0.5), tolerance = tol_exact)
  expect_equal(unname(lrp2$decomp_goal[[2]]), unname(out[[2]]), tolerance = tol_exact)
})

test_that("rules per layer class: a list of rules and per-class parameters", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  run <- function(...) get_result(run_lrp(conv, x, dtype = "double", verbose = FALSE, ...))
  ref <- run(rule_name = "epsilon", rule_param = 0.5)
  # dense-only model: the class list, a per-class parameter and one parameter for all agree
  expect_equal(run(rule_name = list(Dense_Layer = "epsilon"), rule_param = list(Dense_Layer = 0.5)), ref,
               tolerance = tol_exact)
  expect_equal(run(rule_name = list(Dense_Layer = "epsilon"), rule_param = 0.5), ref, tolerance = tol_exact)
  expect_equal(run(rule_name = "epsilon", rule_param = list(Dense_Layer = 0.5)), ref, tolerance = tol_exact)
  # a named character vector works like a list; missing keys in rule_param use the default
  expect_equal(run(rule_name = c(Dense_Layer = "epsilon"), rule_param = list(Conv1D_Layer = 3)),
               run(rule_name = "epsilon"), tolerance = tol_exact)

  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(2, c(3, 16))
  run1 <- function(...) get_result(run_lrp(c1, x1, dtype = "double", verbose = FALSE, ...))
  # classes not in the list use "simple"
  expect_equal(run1(rule_name = list(Dense_Layer = "simple")), run1(), tolerance = tol_exact)
  # every class of the model with the same rule = that rule for all layers
  all_eps <- list(Conv1D_Layer = "epsilon", Dense_Layer = "epsilon", AvgPool1D_Layer = "epsilon",
                  MaxPool1D_Layer = "epsilon")
  expect_equal(run1(rule_name = all_eps, rule_param = 0.2), run1(rule_name = "epsilon", rule_param = 0.2),
               tolerance = tol_exact)
  # mixed rules: different from either rule alone; missing parameters use the defaults
  mixed <- run1(rule_name = list(Conv1D_Layer = "alpha_beta", Dense_Layer = "epsilon"),
                rule_param = list(Conv1D_Layer = 2))
  expect_equal(mixed, run1(rule_name = list(Conv1D_Layer = "alpha_beta", Dense_Layer = "epsilon"),
                           rule_param = list(Conv1D_Layer = 2, Dense_Layer = 0.001)), tolerance = tol_exact)
  expect_gt(rel_diff(mixed, run1(rule_name = "alpha_beta", rule_param = 2)), 1e-4)
  expect_gt(rel_diff(mixed, run1(rule_name = "epsilon")), 1e-4)
  # the new rules per class
  expect_false(anyNA(run1(rule_name = list(Conv1D_Layer = "zplus", Dense_Layer = "gamma"))))
})

test_that("pass on BatchNorm keeps the relevance; with zero mean and beta it equals simple", {
  conv <- convert(make_bn_model(centred = TRUE))
  x <- rand_data(3, 4)
  pass <- run_lrp(conv, x, rule_name = list(BatchNorm_Layer = "pass"), dtype = "double", verbose = FALSE)
  simple <- run_lrp(conv, x, dtype = "double", verbose = FALSE)
  expect_equal(get_result(pass), get_result(simple), tolerance = tol_exact)
  # with a shift the two differ
  conv2 <- convert(make_bn_model())
  p2 <- get_result(run_lrp(conv2, x, rule_name = list(BatchNorm_Layer = "pass"), dtype = "double",
                           verbose = FALSE))
  s2 <- get_result(run_lrp(conv2, x, dtype = "double", verbose = FALSE))
  expect_gt(rel_diff(p2, s2), 1e-6)
  # BatchNorm accepts the basic rules
  for (rule in c("epsilon", "alpha_beta")) {
    r <- get_result(run_lrp(conv2, x, rule_name = list(BatchNorm_Layer = rule), verbose = FALSE))
    expect_false(anyNA(r))
  }
})

test_that("presets run on dense and conv models and follow their composition", {
  models <- list(list(make_mlp_model(), rand_data(3, 4)),
                 list(make_conv1d_model(), rand_data(2, c(3, 16))),
                 list(make_conv2d_model(), rand_data(2, c(3, 8, 8))))
  for (mx in models) {
    conv <- convert(mx[[1]])
    for (preset in c("EpsilonPlus", "EpsilonPlusFlat", "EpsilonGammaBox", "EpsilonAlpha2Beta1")) {
      param <- if (preset == "EpsilonGammaBox") list(low = -6, high = 6) else NULL
      lrp <- run_lrp(conv, mx[[2]], rule_name = preset, rule_param = param, verbose = FALSE)
      expect_identical(lrp$rule_name, preset)
      expect_identical(lrp$rule_param, param)
      res <- get_result(lrp)
      expect_identical(dim(res), c(dim(mx[[2]]), dim(lrp$decomp_goal[[1]])[2]))
      expect_false(anyNA(res))
    }
  }
  # one bias-free Dense layer is the "first layer": flat for EpsilonPlusFlat, z-box for EpsilonGammaBox
  m <- without_bias(make_one_layer_model("linear"))
  W <- m$layers[[1]]$weight
  conv <- convert(m)
  x <- rand_data(3, 4)
  flat <- get_result(run_lrp(conv, x, rule_name = "EpsilonPlusFlat", dtype = "double", verbose = FALSE))
  box <- get_result(run_lrp(conv, x, rule_name = "EpsilonGammaBox", rule_param = list(low = -3, high = 3),
                            dtype = "double", verbose = FALSE))
  for (b in 1:3) {
    z <- as.vector(W %*% x[b, ])
    expect_equal(unname(flat[b, , ]), matrix(z / zennit_stab(4), 4, 3, byrow = TRUE), tolerance = tol_rule)
    num <- t(W) * x[b, ] - (-3) * t(pmax(W, 0)) - 3 * t(pmin(W, 0))
    expect_equal(unname(box[b, , ]), ref_proportional(num, z), tolerance = tol_rule)
  }
  # EpsilonAlpha2Beta1 on the Conv1D model: alpha = 2 on the conv layers, epsilon (small) on the dense
  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(2, c(3, 16))
  preset <- get_result(run_lrp(c1, x1, rule_name = "EpsilonAlpha2Beta1", dtype = "double", verbose = FALSE))
  by_class <- get_result(run_lrp(c1, x1, rule_name = list(Conv1D_Layer = "alpha_beta", Dense_Layer = "epsilon"),
                                 rule_param = list(Conv1D_Layer = 2), dtype = "double", verbose = FALSE))
  expect_equal(preset, by_class, tolerance = tol_exact)
  # EpsilonPlus: epsilon on dense layers (the whole MLP), zplus on conv layers
  cm <- convert(make_mlp_model())
  xm <- rand_data(3, 4)
  expect_equal(get_result(run_lrp(cm, xm, rule_name = "EpsilonPlus", dtype = "double", verbose = FALSE)),
               get_result(run_lrp(cm, xm, rule_name = "epsilon", dtype = "double", verbose = FALSE)),
               tolerance = tol_exact)
  expect_equal(get_result(run_lrp(c1, x1, rule_name = "EpsilonPlus", dtype = "double", verbose = FALSE)),
               get_result(run_lrp(c1, x1, rule_name = list(Conv1D_Layer = "zplus", Dense_Layer = "epsilon"),
                                  dtype = "double", verbose = FALSE)),
               tolerance = tol_exact)
})

test_that("winner_takes_all = FALSE changes max-pooling and is stored", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  a <- run_lrp(conv, x, dtype = "double", verbose = FALSE)
  b <- run_lrp(conv, x, winner_takes_all = FALSE, dtype = "double", verbose = FALSE)
  expect_true(a$winner_takes_all)
  expect_false(b$winner_takes_all)
  expect_gt(rel_diff(get_result(a), get_result(b)), 1e-6)
  # dense models have no max-pooling
  cm <- convert(make_mlp_model())
  xm <- rand_data(2, 4)
  expect_equal(get_result(run_lrp(cm, xm, winner_takes_all = FALSE, verbose = FALSE)),
               get_result(run_lrp(cm, xm, verbose = FALSE)))
})

test_that("LRP float and double agree", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8))
  for (rule in c("simple", "alpha_beta")) {
    f <- run_lrp(conv, x, rule_name = rule, verbose = FALSE)
    d <- run_lrp(conv, x, rule_name = rule, dtype = "double", verbose = FALSE)
    expect_identical(d$dtype, "double")
    # the stabilisers differ (1e-6 in float, 1e-15 in double), which shows where z is small
    expect_lt(rel_diff(get_result(f), get_result(d)), 1e-3)
  }
})

test_that("LRP data.frame has decomp_sum, decomp_goal and pred", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  lrp <- run_lrp(conv, x, output_idx = c(2, 3), dtype = "double", verbose = FALSE)
  df <- get_result(lrp, "data.frame")
  expect_identical(nrow(df), 3L * 4L * 2L)
  expect_false(anyNA(df$decomp_sum))
  expect_false(anyNA(df$decomp_goal))
  expect_false(anyNA(df$pred))
  ij <- cbind(as.integer(df$data), c(2, 3)[match(as.character(df$output_node), c("Y2", "Y3"))])
  expect_equal(df$decomp_goal, predict(conv, x, type = "preactivation", dtype = "double")[ij],
               tolerance = tol_exact)
  expect_equal(df$pred, predict(conv, x, dtype = "double")[ij], tolerance = tol_exact)
  sums <- sum_over_inputs(get_result(lrp))
  expect_equal(df$decomp_sum, sums[cbind(as.integer(df$data), match(as.character(df$output_node), c("Y2", "Y3")))],
               tolerance = tol_exact)
})

test_that("run_lrp() forwards, and print() shows the rules", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  a <- LRP$new(conv, x, rule_name = "alpha_beta", rule_param = 2, verbose = FALSE)
  b <- run_lrp(conv, x, rule_name = "alpha_beta", rule_param = 2, verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  txt <- print_text(b)
  expect_match(txt, "LRP")
  expect_match(txt, "rule_name")
  expect_match(txt, "alpha_beta")
  expect_match(txt, "winner_takes_all")
  expect_match(txt, "output_idx")
  expect_false(attr(txt, "visible"))
  txt2 <- print_text(run_lrp(conv, x, rule_name = list(Dense_Layer = "epsilon"), verbose = FALSE))
  expect_match(txt2, "Dense_Layer")
  expect_match(txt2, "0.001", fixed = TRUE)
  txt3 <- print_text(run_lrp(conv, x, rule_name = "EpsilonGammaBox", rule_param = list(low = -4, high = 4),
                             verbose = FALSE))
  expect_match(txt3, "EpsilonGammaBox")
  expect_match(txt3, "low = -4")
})

test_that("LRP arguments are checked before running (spec section 7, rows 21 and 22)", {
  mlp <- make_mlp_model()
  conv <- convert(mlp)
  x <- rand_data(2, 4)
  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(2, c(3, 16))
  expect_innsight_error(LRP$new(mlp, x), "argument", "Converter")
  expect_innsight_error(LRP$new(conv), "data", "missing")
  expect_innsight_error(run_lrp(conv, mlp), "data")
  expect_innsight_error(run_lrp(conv, x, channels_first = NULL), "argument", "channels_first")
  expect_innsight_error(run_lrp(conv, x, dtype = NULL), "argument", "dtype")
  expect_innsight_error(run_lrp(conv, x, winner_takes_all = "yes"), "argument", "winner_takes_all")
  # rule_name
  expect_innsight_error(run_lrp(conv, x, rule_name = "asdf"), "argument", "rule_name")
  expect_innsight_error(run_lrp(conv, x, rule_name = NULL), "argument", "rule_name")
  expect_innsight_error(run_lrp(conv, x, rule_name = c("simple", "epsilon")), "argument", "rule_name")
  expect_innsight_error(run_lrp(conv, x, rule_name = 1), "argument", "rule_name")
  expect_innsight_error(run_lrp(conv, x, rule_name = list(Flatten = "simple")), "argument", "Flatten")
  expect_innsight_error(run_lrp(conv, x, rule_name = list(Dense_Layer = "asdf")), "argument", "Dense_Layer")
  expect_innsight_error(run_lrp(conv, x, rule_name = list("epsilon")), "argument", "named")
  expect_innsight_error(run_lrp(conv, x, rule_name = list(Dense_Layer = "simple", Dense_Layer = "epsilon")),
                        "argument", "more than once")
  expect_innsight_error(run_lrp(c1, x1, rule_name = list(AvgPool1D_Layer = "gamma")), "argument", "gamma")
  # "pass" only for BatchNorm (row 22: an error before running)
  expect_innsight_error(run_lrp(conv, x, rule_name = "pass"), "argument", "pass")
  expect_innsight_error(run_lrp(conv, x, rule_name = list(Dense_Layer = "pass")), "argument", "BatchNorm_Layer")
  expect_innsight_error(run_lrp(c1, x1, rule_name = list(Conv1D_Layer = "pass")), "argument", "pass")
  expect_innsight_error(run_lrp(c1, x1, rule_name = list(AvgPool1D_Layer = "pass")), "argument", "pass")
  # rule_param
  expect_innsight_error(run_lrp(conv, x, rule_param = "asdf"), "argument", "rule_param")
  expect_innsight_error(run_lrp(conv, x, rule_param = NA), "argument", "rule_param")
  expect_innsight_error(run_lrp(conv, x, rule_param = c(1, 2)), "argument", "rule_param")
  expect_innsight_error(run_lrp(conv, x, rule_name = "epsilon", rule_param = -1), "argument", "rule_param")
  expect_innsight_error(run_lrp(conv, x, rule_name = "epsilon", rule_param = Inf), "argument", "rule_param")
  expect_innsight_error(run_lrp(conv, x, rule_name = "gamma", rule_param = -0.5), "argument", "rule_param")
  expect_innsight_error(run_lrp(conv, x, rule_name = "epsilon", rule_param = list(Flatten = 1)),
                        "argument", "Flatten")
  expect_innsight_error(run_lrp(conv, x, rule_name = list(Dense_Layer = "epsilon"),
                                rule_param = list(Dense_Layer = "a")), "argument", "rule_param")
  # z-box bounds and presets
  expect_innsight_error(run_lrp(conv, x, rule_name = "zbox"), "argument", "bounds")
  expect_innsight_error(run_lrp(conv, x, rule_name = "zbox", rule_param = 1), "argument", "low")
  expect_innsight_error(run_lrp(conv, x, rule_name = list(Dense_Layer = "zbox"), rule_param = 1),
                        "argument", "low")
  expect_innsight_error(run_lrp(conv, x, rule_name = "EpsilonGammaBox"), "argument", "bounds")
  expect_innsight_error(run_lrp(conv, x, rule_name = "EpsilonGammaBox", rule_param = list(low = 1, high = -1)),
                        "argument", "smaller")
  expect_innsight_error(run_lrp(conv, x, rule_name = "EpsilonGammaBox", rule_param = list(low = NA, high = 1)),
                        "argument", "low")
  expect_innsight_error(run_lrp(conv, x, rule_name = "EpsilonPlus", rule_param = 0.1), "argument", "preset")
})
