# DeepSHAP: DeepLift averaged over reference rows (spec 4.7). The references are
# drawn in R (sample.int, without replacement), so set.seed() makes runs
# reproducible and the drawn rows can be checked here.

tol_delta <- 1e-8

test_that("DeepSHAP defaults: one zero reference, limit_ref = 100; equals DeepLift with a zero reference", {
  conv <- convert(make_mlp_model())
  x <- rand_data(4, 4)
  shap <- DeepSHAP$new(conv, x, dtype = "double", verbose = FALSE)
  expect_s3_class(shap, "DeepSHAP")
  expect_s3_class(shap, "InterpretingMethod")
  expect_identical(shap$rule_name, "rescale")
  expect_identical(shap$limit_ref, 100L)
  expect_true(shap$winner_takes_all)
  expect_length(shap$data_ref, 1)
  expect_identical(dim(shap$data_ref[[1]]), c(1L, 4L))
  expect_true(all(shap$data_ref[[1]] == 0))
  expect_identical(dim(get_result(shap)), c(4L, 4L, 3L))
  for (rule in c("rescale", "reveal_cancel")) {
    for (mx in list(list(conv, x), list(convert(make_conv2d_model()), rand_data(2, c(3, 8, 8))))) {
      s <- run_deepshap(mx[[1]], mx[[2]], rule_name = rule, dtype = "double", verbose = FALSE)
      d <- run_deeplift(mx[[1]], mx[[2]], rule_name = rule, dtype = "double", verbose = FALSE)
      expect_equal(get_result(s), get_result(d), tolerance = tol_exact)
      expect_equal(s$decomp_goal, d$decomp_goal, tolerance = tol_exact)
      expect_equal(s$preds, d$preds, tolerance = tol_exact)
    }
  }
})

test_that("DeepSHAP is the mean of DeepLift over the reference rows and sums to the mean goal", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  refs <- rand_data(5, 4, seed = 12)
  for (rule in c("rescale", "reveal_cancel")) for (ila in c(TRUE, FALSE)) {
    shap <- run_deepshap(conv, x, data_ref = refs, rule_name = rule, ignore_last_act = ila, dtype = "double",
                         verbose = FALSE)
    lifts <- lapply(1:5, function(r) {
      get_result(run_deeplift(conv, x, x_ref = refs[r, , drop = FALSE], rule_name = rule,
                              ignore_last_act = ila, dtype = "double", verbose = FALSE))
    })
    expect_equal(get_result(shap), Reduce(`+`, lifts) / 5, tolerance = 1e-10)
    type <- if (ila) "preactivation" else "output"
    goal <- sweep(predict(conv, x, type = type, dtype = "double"), 2,
                  colMeans(predict(conv, refs, type = type, dtype = "double")))
    expect_equal(unname(shap$decomp_goal[[1]]), unname(goal), tolerance = tol_exact)
    expect_lt(max(abs(sum_over_inputs(get_result(shap)) - goal)), tol_delta)
    # the predictions are the model's outputs for x
    expect_equal(unname(shap$preds[[1]]), unname(predict(conv, x, dtype = "double")), tolerance = tol_exact)
  }
})

test_that("DeepSHAP sums to the mean goal on conv models (winner_takes_all = FALSE) and in both layouts", {
  for (mx in list(list(make_conv1d_model(), c(3, 16)), list(make_conv2d_model(), c(3, 8, 8)))) {
    conv <- convert(mx[[1]])
    x <- rand_data(2, mx[[2]])
    refs <- rand_data(3, mx[[2]], seed = 13)
    for (rule in c("rescale", "reveal_cancel")) {
      shap <- run_deepshap(conv, x, data_ref = refs, rule_name = rule, winner_takes_all = FALSE,
                           dtype = "double", verbose = FALSE)
      goal <- sweep(predict(conv, x, type = "preactivation", dtype = "double"), 2,
                    colMeans(predict(conv, refs, type = "preactivation", dtype = "double")))
      expect_lt(max(abs(sum_over_inputs(get_result(shap)) - goal)), tol_delta)
      shap_cl <- run_deepshap(conv, to_channels_last(x), data_ref = to_channels_last(refs), rule_name = rule,
                              winner_takes_all = FALSE, channels_first = FALSE, dtype = "double", verbose = FALSE)
      perm <- if (length(mx[[2]]) == 2) c(1, 3, 2, 4) else c(1, 3, 4, 2, 5)
      expect_identical(dim(get_result(shap_cl)), dim(get_result(shap))[perm])
      expect_equal(unname(get_result(shap_cl)), unname(aperm(get_result(shap), perm)), tolerance = tol_exact)
    }
  }
})

test_that("limit_ref draws rows without replacement with R's generator", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  refs <- rand_data(10, 4, seed = 14)
  set.seed(3)
  shap <- run_deepshap(conv, x, data_ref = refs, limit_ref = 4, dtype = "double", verbose = FALSE)
  set.seed(3)
  rows <- sample.int(10, 4)
  expect_identical(shap$limit_ref, 4L)
  expect_identical(dim(shap$data_ref[[1]]), c(4L, 4L))
  expect_equal(unname(shap$data_ref[[1]]), unname(refs[rows, ]))
  # reproducible, and the result uses exactly the drawn rows
  set.seed(3)
  again <- run_deepshap(conv, x, data_ref = refs, limit_ref = 4, dtype = "double", verbose = FALSE)
  expect_identical(get_result(again), get_result(shap))
  direct <- run_deepshap(conv, x, data_ref = refs[rows, ], limit_ref = 4, dtype = "double", verbose = FALSE)
  expect_equal(get_result(direct), get_result(shap), tolerance = 1e-10)
  # without a limit the rows are permuted, all of them kept
  set.seed(5)
  all_rows <- run_deepshap(conv, x, data_ref = refs, dtype = "double", verbose = FALSE)
  set.seed(5)
  perm <- sample.int(10, 10)
  expect_equal(unname(all_rows$data_ref[[1]]), unname(refs[perm, ]))
  # a data frame is accepted as reference data
  df_ref <- as.data.frame(refs)
  expect_identical(dim(run_deepshap(conv, x, data_ref = df_ref, limit_ref = 2, verbose = FALSE)$data_ref[[1]]),
                   c(2L, 4L))
})

test_that("DeepSHAP on the graph model: nesting, NaN leaf, summation over all input layers", {
  conv <- convert(make_graph_model())
  x <- list(rand_data(2, 3, seed = 1), rand_data(2, 5, seed = 2))
  refs <- list(rand_data(4, 3, seed = 3), rand_data(4, 5, seed = 4))
  set.seed(1)
  shap <- run_deepshap(conv, x, data_ref = refs, limit_ref = 3, output_idx = list(c(1, 3), 2),
                       dtype = "double", verbose = FALSE)
  expect_identical(dim(shap$data_ref[[1]]), c(3L, 3L))
  expect_identical(dim(shap$data_ref[[2]]), c(3L, 5L))
  # the same rows of both input layers
  set.seed(1)
  rows <- sample.int(4, 3)
  expect_equal(unname(shap$data_ref[[2]]), unname(refs[[2]][rows, ]))
  res <- get_result(shap)
  expect_named(res, c("Output_1", "Output_2"))
  expect_identical(res$Output_2$Input_1, NaN)
  used <- list(refs[[1]][rows, ], refs[[2]][rows, ])
  pre <- predict(conv, x, type = "preactivation", dtype = "double")
  pre_ref <- predict(conv, used, type = "preactivation", dtype = "double")
  goal1 <- sweep(pre[[1]][, c(1, 3)], 2, colMeans(pre_ref[[1]][, c(1, 3)]))
  total1 <- sum_over_inputs(res$Output_1$Input_1) + sum_over_inputs(res$Output_1$Input_2)
  expect_lt(max(abs(total1 - goal1)), tol_delta)
  goal2 <- pre[[2]][, 2] - mean(pre_ref[[2]][, 2])
  expect_lt(max(abs(as.vector(sum_over_inputs(res$Output_2$Input_2)) - goal2)), tol_delta)
})

test_that("run_deepshap() forwards, and print() shows rule_name and the reference data", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  refs <- rand_data(6, 4, seed = 15)
  set.seed(2)
  a <- DeepSHAP$new(conv, x, data_ref = refs, verbose = FALSE)
  set.seed(2)
  b <- run_deepshap(conv, x, data_ref = refs, verbose = FALSE)
  expect_identical(get_result(a), get_result(b))
  txt <- print_text(b)
  expect_match(txt, "DeepSHAP")
  expect_match(txt, "rescale")
  expect_match(txt, "data_ref")
  expect_match(txt, "6 rows")
  expect_match(print_text(run_deepshap(conv, x, verbose = FALSE)), "zeros")
  df <- get_result(b, "data.frame")
  expect_false(anyNA(df$decomp_goal))
  expect_equal(df$decomp_sum, df$decomp_goal, tolerance = tol_float)
})

test_that("DeepSHAP arguments are checked (spec section 7, rows 23 and 25)", {
  mlp <- make_mlp_model()
  conv <- convert(mlp)
  x <- rand_data(2, 4)
  expect_innsight_error(DeepSHAP$new(mlp, x), "argument", "Converter")
  expect_innsight_error(DeepSHAP$new(conv), "data", "missing")
  expect_innsight_error(run_deepshap(conv, x, rule_name = "asdf"), "argument", "rule_name")
  expect_innsight_error(run_deepshap(conv, x, winner_takes_all = "no"), "argument", "winner_takes_all")
  expect_innsight_error(run_deepshap(conv, x, data_ref = c(1, 2, 3)), "data", "data_ref")
  expect_innsight_error(run_deepshap(conv, x, data_ref = matrix(1, 3, 5)), "data", "data_ref")
  expect_innsight_error(run_deepshap(conv, x, data_ref = "asdf"), "data", "data_ref")
  expect_innsight_error(run_deepshap(conv, x, data_ref = matrix(0, 0, 4)), "data", "data_ref")
  expect_innsight_error(run_deepshap(conv, x, limit_ref = 0), "argument", "limit_ref")
  expect_innsight_error(run_deepshap(conv, x, limit_ref = 2.5), "argument", "limit_ref")
  expect_innsight_error(run_deepshap(conv, x, limit_ref = "a"), "argument", "limit_ref")
  expect_innsight_error(run_deepshap(conv, x, limit_ref = NULL), "argument", "limit_ref")
  cg <- convert(make_graph_model())
  xg <- list(rand_data(2, 3), rand_data(2, 5))
  expect_innsight_error(run_deepshap(cg, xg, data_ref = list(rand_data(2, 3))), "data", "data_ref")
  expect_innsight_error(run_deepshap(cg, xg, data_ref = list(rand_data(2, 3), rand_data(3, 5))), "data", "rows")
  expect_error(DeepSHAP$new(conv, x, rule_param = 0.5), "unused argument")
})
