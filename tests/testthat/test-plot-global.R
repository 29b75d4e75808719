# plot_global() and boxplot(): summaries over instances.

gg_of <- function(p) p@grobs[[1, 1]]

test_that("boxplots summarise the preprocessed values of data_idx", {
  g <- plot_tabular_method(B = 10)
  p <- plot_global(g, output_idx = c(1, 3))
  expect_s4_class(p, "innsight_ggplot2")
  expect_true(p@boxplot)
  expect_false(p@multiplot)
  d <- gg_of(p)$data
  res <- get_result(g)
  expect_true(all(d$boxplot_data))
  expect_equal(d$value[d$output_node == "z" & d$feature == "b"], abs(unname(res[, "b", "z"])))
  expect_identical(levels(d$output_node), c("x", "z"))
  # boxplot() is the same for tabular data, and plot_global(x) calls x$plot_global()
  expect_equal(gg_of(boxplot(g, output_idx = c(1, 3)))$data, d)
  expect_equal(gg_of(g$plot_global(output_idx = c(1, 3)))$data, d)
  # identity keeps the sign; data_idx restricts the boxes; ref_data_idx may lie outside
  q <- plot_global(g, preprocess_FUN = identity, data_idx = 1:5, ref_data_idx = 8)
  dq <- gg_of(q)$data
  expect_equal(sort(unique(as.character(dq$data))), paste0("data_", 1:5))
  ref <- gg_of(q)$layers[[2]]$data
  expect_identical(unique(as.character(ref$data)), "data_8")
  expect_equal(ref$value, unname(res[8, , "x"]))
})

test_that("images give the pixel-wise median, normalised", {
  m <- plot_image_method()
  res <- get_result(m)
  p <- plot_global(m, output_idx = 2, aggr_channels = "sum", preprocess_FUN = identity)
  d <- gg_of(p)$data
  d <- d[order(d$x, d$y), ]
  agg <- apply(res[, , , , 2], c(1, 3, 4), sum)
  med <- apply(agg, c(2, 3), stats::median)
  expect_equal(matrix(d$value, 8, 8), med, ignore_attr = TRUE)
  expect_equal(matrix(d$fill, 8, 8), med / max(abs(med)), ignore_attr = TRUE)
  expect_identical(gg_of(p)$scales$get_scales("fill")$name, "Gradient\n (median)")
  # boxplot() warns for images, then draws the same
  expect_warning(b <- boxplot(m, output_idx = 2, preprocess_FUN = identity), class = "innsight_warning")
  expect_equal(gg_of(b)$data, gg_of(p)$data)
})

test_that("the quantile helper matches stats::quantile", {
  set.seed(5)
  mat <- matrix(rnorm(7 * 30), 7)
  probs <- seq(0, 1, by = 0.125)
  expect_equal(column_quantiles(mat, probs), t(apply(mat, 2, stats::quantile, probs = probs, names = FALSE)))
})

test_that("several inputs and outputs give a one-row multiplot", {
  m <- plot_graph_method()
  p <- plot_global(m, output_idx = list(c(1, 3), 2), ref_data_idx = 1)
  expect_true(p@multiplot)
  expect_true(p@boxplot)
  expect_identical(dim(p@grobs), c(1L, 6L))
})

test_that("plot_global() arguments are checked", {
  g <- plot_tabular_method(B = 10)
  expect_innsight_error(boxplot(g, data_idx = 1:11), "argument", "data_idx")
  expect_innsight_error(plot_global(g, data_idx = "some"), "argument", "data_idx")
  expect_innsight_error(plot_global(g, data_idx = c(1, NA)), "argument", "data_idx")
  expect_innsight_error(plot_global(g, ref_data_idx = 11), "argument", "ref_data_idx")
  expect_innsight_error(plot_global(g, ref_data_idx = 1:2), "argument", "ref_data_idx")
  expect_innsight_error(plot_global(g, preprocess_FUN = "abs"), "argument", "preprocess_FUN")
  expect_innsight_error(plot_global(g, preprocess_FUN = function(x) 1), "argument", "preprocess_FUN")
  expect_innsight_error(plot_global(g, individual_max = 0), "argument", "individual_max")
  expect_innsight_error(plot_global(g, individual_data_idx = 12), "argument", "individual_data_idx")
  expect_innsight_error(plot_global(g, output_idx = 4), "argument", "output_idx")
  expect_innsight_error(plot_global(g, as_plotly = "no"), "argument", "as_plotly")
  expect_innsight_error(plot_global(g, aggr_channels = "median"), "argument", "aggr_channels")
  expect_innsight_error(plot_global(g, ref_idx = 2), "argument", "ref_idx")
  expect_innsight_error(boxplot(g, ref_idx = 2), "argument", "ref_idx")
  cw <- run_cw(convert(make_mlp_model()), verbose = FALSE)
  expect_innsight_error(plot_global(cw), "argument", "times_input = TRUE")
  expect_innsight_error(boxplot(cw), "argument")
  # the local variant has one result per instance
  cw_local <- run_cw(convert(make_mlp_model()), rand_data(5, 4), times_input = TRUE, verbose = FALSE)
  expect_s4_class(boxplot(cw_local), "innsight_ggplot2")
})

test_that("snapshots: boxplots and median heatmaps", {
  skip_if_not_installed("vdiffr")
  g <- plot_tabular_method(B = 10)
  vdiffr::expect_doppelganger("boxplot-tabular", gg_of(boxplot(g, output_idx = 1:2, ref_data_idx = 2,
                                                             preprocess_FUN = identity)))
  s <- plot_signal_method(B = 5)
  vdiffr::expect_doppelganger("boxplot-signal", gg_of(plot_global(s, ref_data_idx = 1)))
  m <- plot_image_method()
  vdiffr::expect_doppelganger("global-image", gg_of(plot_global(m, output_idx = c(1, 3))))
  skip_if_not_installed("gtable")
  mg <- plot_graph_method()
  p <- plot_global(mg, output_idx = list(1, 2), ref_data_idx = 3)
  vdiffr::expect_doppelganger("global-multi", function() print(p))
})
