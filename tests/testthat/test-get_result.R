df_columns_tabular <- c("data", "model_input", "model_output", "feature", "output_node", "value",
                        "pred", "decomp_sum", "decomp_goal", "input_dimension")

test_that("array: tabular result (B, F, S) with dimnames", {
  conv <- convert(make_mlp_model(), input_names = c("a", "b", "c", "d"))
  g <- run_grad(conv, rand_data(5, 4), output_idx = c(3, 1), verbose = FALSE)
  res <- get_result(g)
  expect_true(is.array(res))
  expect_identical(dim(res), c(5L, 4L, 2L))
  expect_identical(dimnames(res), list(NULL, c("a", "b", "c", "d"), c("Y3", "Y1")))
  expect_identical(get_result(g, "array"), res)
  expect_identical(g$get_result(), res)
  expect_identical(get_result(g, type = "array"), res)
})

test_that("array: signals and images in channels-first and channels-last layout", {
  c1 <- convert(make_conv1d_model())
  x1 <- rand_data(4, c(3, 16))
  r1 <- get_result(run_grad(c1, x1, verbose = FALSE))
  expect_identical(dim(r1), c(4L, 3L, 16L, 2L))
  expect_identical(dimnames(r1), list(NULL, paste0("C", 1:3), paste0("L", 1:16), c("Y1", "Y2")))
  r1l <- get_result(run_grad(c1, to_channels_last(x1), channels_first = FALSE, output_idx = 2,
                             verbose = FALSE))
  expect_identical(dim(r1l), c(4L, 16L, 3L, 1L))
  expect_identical(dimnames(r1l), list(NULL, paste0("L", 1:16), paste0("C", 1:3), "Y2"))

  c2 <- convert(make_conv2d_model(), input_names = list(c("r", "g", "b"), paste0("h", 1:8), paste0("w", 1:8)),
                output_names = c("A", "B", "C"))
  x2 <- rand_data(2, c(3, 8, 8))
  r2 <- get_result(run_grad(c2, x2, output_idx = c(2, 3), verbose = FALSE))
  expect_identical(dim(r2), c(2L, 3L, 8L, 8L, 2L))
  expect_identical(dimnames(r2), list(NULL, c("r", "g", "b"), paste0("h", 1:8), paste0("w", 1:8), c("B", "C")))
  r2l <- get_result(run_grad(c2, to_channels_last(x2), channels_first = FALSE, output_idx = c(2, 3),
                             verbose = FALSE))
  expect_identical(dim(r2l), c(2L, 8L, 8L, 3L, 2L))
  expect_identical(dimnames(r2l), list(NULL, paste0("h", 1:8), paste0("w", 1:8), c("r", "g", "b"), c("B", "C")))
  expect_equal(unname(r2l), unname(aperm(r2, c(1, 3, 4, 2, 5))), tolerance = tol_float)
})

test_that("array: nesting for several input and output layers", {
  conv <- convert(make_graph_model())
  x <- list(rand_data(3, 3, seed = 1), rand_data(3, 5, seed = 2))

  # two explained output layers: Output_k -> Input_j
  res <- get_result(run_grad(conv, x, output_idx = list(c(1, 3), 2), verbose = FALSE))
  expect_type(res, "list")
  expect_named(res, c("Output_1", "Output_2"))
  expect_named(res$Output_1, c("Input_1", "Input_2"))
  expect_named(res$Output_2, c("Input_1", "Input_2"))
  expect_identical(dim(res$Output_1$Input_1), c(3L, 3L, 2L))
  expect_identical(dim(res$Output_1$Input_2), c(3L, 5L, 2L))
  expect_identical(dimnames(res$Output_1$Input_1), list(NULL, c("a1", "a2", "a3"), c("cat", "fish")))
  expect_identical(dimnames(res$Output_2$Input_2), list(NULL, paste0("b", 1:5), "r2"))
  # the disconnected input gives a NaN leaf
  expect_identical(res$Output_2$Input_1, NaN)

  # one explained output layer (the default: layer 1): a list of inputs
  res1 <- get_result(run_grad(conv, x, verbose = FALSE))
  expect_named(res1, c("Input_1", "Input_2"))
  expect_identical(dimnames(res1$Input_1)[[3]], c("cat", "dog", "fish"))

  # output_idx = list(NULL, c(1, 3)): only output layer 2, still a list of inputs
  res2 <- get_result(run_grad(conv, x, output_idx = list(NULL, c(1, 3)), verbose = FALSE))
  expect_named(res2, c("Input_1", "Input_2"))
  expect_identical(res2$Input_1, NaN)
  expect_identical(dim(res2$Input_2), c(3L, 5L, 2L))
  expect_identical(dimnames(res2$Input_2)[[3]], c("r1", "r3"))
  expect_equal(res2$Input_2[, , "r1"],
               get_result(run_grad(conv, x, output_idx = list(NULL, 1), verbose = FALSE))$Input_2[, , 1])
})

test_that("data.frame: tabular columns, types, order and values", {
  conv <- convert(make_mlp_model())
  x <- rand_data(3, 4)
  g <- run_grad(conv, x, output_idx = c(3, 1), dtype = "double", verbose = FALSE)
  df <- get_result(g, "data.frame")
  expect_s3_class(df, "data.frame")
  expect_identical(names(df), df_columns_tabular)
  expect_identical(nrow(df), 3L * 4L * 2L)
  expect_s3_class(df$data, "factor")
  expect_identical(levels(df$data), paste0("data_", 1:3))
  expect_type(df$model_input, "character")
  expect_s3_class(df$model_output, "factor")
  expect_identical(levels(df$model_output), "Output_1")
  expect_s3_class(df$feature, "factor")
  expect_identical(levels(df$feature), paste0("X", 1:4))
  expect_s3_class(df$output_node, "factor")
  expect_identical(levels(df$output_node), c("Y1", "Y2", "Y3"))
  expect_type(df$value, "double")
  expect_type(df$pred, "double")
  expect_type(df$decomp_sum, "double")
  expect_type(df$decomp_goal, "double")
  expect_type(df$input_dimension, "integer")
  expect_true(all(df$input_dimension == 1L))
  expect_true(all(df$model_input == "Input_1"))

  # row order: data fastest, then feature, output node slowest
  expect_identical(as.character(df$data), rep(paste0("data_", 1:3), times = 8))
  expect_identical(as.character(df$feature), rep(rep(paste0("X", 1:4), each = 3), times = 2))
  expect_identical(as.character(df$output_node), rep(c("Y3", "Y1"), each = 12))
  expect_identical(df$value, as.vector(get_result(g)))

  # decomp_sum = sum of value per (data, output node); pred = predict(); goal = decomp_goal
  sums <- tapply(df$value, list(df$data, df$output_node), sum)
  expect_equal(df$decomp_sum, sums[cbind(as.integer(df$data), as.integer(df$output_node))],
               tolerance = tol_exact)
  pred <- predict(conv, x, dtype = "double")
  expect_equal(df$pred, pred[cbind(as.integer(df$data), as.integer(df$output_node))], tolerance = tol_exact)
  goal <- predict(conv, x, type = "preactivation", dtype = "double")
  expect_equal(df$decomp_goal, goal[cbind(as.integer(df$data), as.integer(df$output_node))],
               tolerance = tol_exact)
})

test_that("data.frame: images have feature (height), feature_2 (width) and channel", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(2, c(3, 8, 8))
  g <- run_grad(conv, x, output_idx = c(1, 3), verbose = FALSE)
  df <- get_result(g, "data.frame")
  expect_identical(names(df), c("data", "model_input", "model_output", "feature", "feature_2", "channel",
                                "output_node", "value", "pred", "decomp_sum", "decomp_goal", "input_dimension"))
  expect_identical(nrow(df), 2L * 3L * 8L * 8L * 2L)
  expect_identical(levels(df$feature), paste0("H", 1:8))
  expect_identical(levels(df$feature_2), paste0("W", 1:8))
  expect_identical(levels(df$channel), paste0("C", 1:3))
  expect_true(all(df$input_dimension == 3L))
  # row order: data, channel, height, width, output node (column-major of (B, C, H, W, S))
  expect_identical(as.character(df$data[1:4]), c("data_1", "data_2", "data_1", "data_2"))
  expect_identical(as.character(df$channel[1:6]), c("C1", "C1", "C2", "C2", "C3", "C3"))
  expect_identical(as.character(df$feature[c(1, 7, 13)]), c("H1", "H2", "H3"))
  expect_identical(as.character(df$feature_2[c(1, 48, 49)]), c("W1", "W1", "W2"))
  expect_identical(as.character(df$output_node[c(384, 385)]), c("Y1", "Y3"))
  expect_identical(df$value, as.vector(get_result(g)))
  sums <- tapply(df$value, list(df$data, df$output_node), sum)
  expect_equal(df$decomp_sum, sums[cbind(as.integer(df$data), as.integer(df$output_node))],
               tolerance = tol_exact)
  expect_equal(df$pred, predict(conv, x)[cbind(as.integer(df$data), as.integer(df$output_node))],
               tolerance = tol_float)

  # the row order does not depend on the data layout
  g_cl <- run_grad(conv, to_channels_last(x), channels_first = FALSE, output_idx = c(1, 3), verbose = FALSE)
  df_cl <- get_result(g_cl, "data.frame")
  expect_identical(df_cl[, c("data", "feature", "feature_2", "channel", "output_node")],
                   df[, c("data", "feature", "feature_2", "channel", "output_node")])
  expect_equal(df_cl$value, df$value, tolerance = tol_float)
})

test_that("data.frame: signals have channel but no feature_2", {
  conv <- convert(make_conv1d_model())
  g <- run_grad(conv, rand_data(2, c(3, 16)), verbose = FALSE)
  df <- get_result(g, "data.frame")
  expect_identical(names(df), c("data", "model_input", "model_output", "feature", "channel", "output_node",
                                "value", "pred", "decomp_sum", "decomp_goal", "input_dimension"))
  expect_identical(nrow(df), 2L * 3L * 16L * 2L)
  expect_identical(levels(df$feature), paste0("L", 1:16))
  expect_identical(levels(df$channel), paste0("C", 1:3))
  expect_true(all(df$input_dimension == 2L))
  expect_identical(df$value, as.vector(get_result(g)))
})

test_that("data.frame: several input and output layers, with a disconnected block", {
  conv <- convert(make_graph_model())
  x <- list(rand_data(2, 3, seed = 1), rand_data(2, 5, seed = 2))
  g <- run_intgrad(conv, x, output_idx = list(c(1, 3), 2), n = 10, dtype = "double", verbose = FALSE)
  df <- get_result(g, "data.frame")
  expect_identical(names(df), df_columns_tabular)
  expect_identical(nrow(df), 2L * (3L + 5L) * 2L + 2L * (3L + 5L) * 1L)
  expect_identical(levels(df$model_output), c("Output_1", "Output_2"))
  # blocks: outputs outer, inputs inner
  blocks <- rle(paste(df$model_output, df$model_input))
  expect_identical(blocks$values, c("Output_1 Input_1", "Output_1 Input_2", "Output_2 Input_1", "Output_2 Input_2"))
  expect_identical(blocks$lengths, c(12L, 20L, 6L, 10L))
  # decomp_sum is per input layer
  o1i1 <- df[df$model_output == "Output_1" & df$model_input == "Input_1", ]
  res <- get_result(g)
  expect_equal(unique(o1i1$decomp_sum), as.vector(apply(res$Output_1$Input_1, c(1, 3), sum)),
               tolerance = tol_exact)
  # the disconnected block: NaN values, no sums/predictions/goals
  dis <- df[df$model_output == "Output_2" & df$model_input == "Input_1", ]
  expect_true(all(is.nan(dis$value)))
  expect_true(all(is.na(dis$decomp_sum)))
  expect_true(all(is.na(dis$pred)))
  expect_true(all(is.na(dis$decomp_goal)))
  con <- df[df$model_output == "Output_2" & df$model_input == "Input_2", ]
  expect_false(anyNA(con$value))
  expect_equal(con$pred, rep(predict(conv, x, dtype = "double")[[2]][, 2], times = 5), tolerance = tol_exact)
  expect_equal(con$decomp_goal, rep(g$decomp_goal[[2]][, 1], times = 5), tolerance = tol_exact)

  # only output layer 2 explained
  df2 <- get_result(run_grad(conv, x, output_idx = list(NULL, c(1, 3)), verbose = FALSE), "data.frame")
  expect_true(all(df2$model_output == "Output_2"))
  expect_identical(nrow(df2), 2L * (3L + 5L) * 2L)
  expect_identical(sort(unique(as.character(df2$output_node))), c("r1", "r3"))
})

test_that("get_result() S3 generic dispatches for every method class", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  set.seed(1)
  methods <- list(run_grad(conv, x, verbose = FALSE), run_smoothgrad(conv, x, n = 2, verbose = FALSE),
                  run_intgrad(conv, x, n = 2, verbose = FALSE), run_expgrad(conv, x, n = 2, verbose = FALSE))
  for (m in methods) {
    expect_identical(get_result(m), m$get_result("array"))
    expect_identical(dim(get_result(m)), c(2L, 4L, 3L))
    expect_identical(nrow(get_result(m, "data.frame")), 24L)
  }
})
