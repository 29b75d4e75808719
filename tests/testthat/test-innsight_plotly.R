# The plotly versions (as_plotly = TRUE) and the S4 class innsight_plotly.

built <- function(p) {
  fig <- draw_quietly(p, print)
  expect_false(fig$visible)
  expect_s3_class(fig$value, "plotly")
  plotly::plotly_build(fig$value)$x
}
trace_types <- function(b) vapply(b$data, function(t) t$type, "")
menu_labels <- function(b) lapply(b$layout$updatemenus, function(m) vapply(m$buttons, function(x) x$label, ""))

test_that("tabular and signal plots are bar traces, one per instance and node", {
  skip_if_not_installed("plotly")
  g <- plot_tabular_method()
  p <- plot(g, data_idx = 1:2, output_idx = c(1, 3), as_plotly = TRUE)
  expect_s4_class(p, "innsight_plotly")
  expect_false(p@multiplot)
  expect_identical(dim(p@plots), c(2L, 2L))
  b <- built(p)
  expect_identical(trace_types(b), rep("bar", 4))
  # cells are combined row by row: (data_1, x), (data_1, z), (data_2, x), (data_2, z)
  res <- get_result(g)
  expect_equal(unlist(b$data[[2]]$y), unname(res[1, , "z"]), ignore_attr = TRUE)
  expect_equal(unlist(b$data[[3]]$y), unname(res[2, , "x"]), ignore_attr = TRUE)
  expect_equal(unlist(b$data[[3]]$marker$color), unname(res[2, , "x"] / max(abs(res[2, , "x"]))), ignore_attr = TRUE)
  ann <- vapply(b$layout$annotations, function(a) a$text, "")
  expect_true(all(c("x", "z", "data_1", "data_2") %in% ann))
  expect_identical(menu_labels(b)[[1]], names(plotly_colorscales))
  s <- plot(plot_signal_method(), data_idx = 1, output_idx = 1:2, as_plotly = TRUE)
  expect_identical(trace_types(built(s)), c("bar", "bar"))
})

test_that("images are heatmaps, with image traces beside or under them", {
  skip_if_not_installed("plotly")
  m <- plot_image_method()
  b <- built(plot(m, data_idx = 1:2, output_idx = 2:3, as_plotly = TRUE))
  expect_identical(trace_types(b), rep("heatmap", 4))
  z <- b$data[[1]]$z
  res <- get_result(m)
  agg <- apply(res[1, , , , 2], c(2, 3), sum)
  expect_equal(matrix(unlist(z), 8), agg / max(abs(agg)), ignore_attr = TRUE)
  # one colour bar
  expect_identical(vapply(b$data, function(t) isTRUE(t$showscale), logical(1)), c(TRUE, FALSE, FALSE, FALSE))
  expect_identical(menu_labels(b)[[2]], c("Heatmap", "Contour"))
  side <- built(plot(m, data_idx = 1:2, output_idx = 2:3, show_image = "side", as_plotly = TRUE))
  expect_identical(trace_types(side), rep(c("image", "heatmap", "heatmap"), 2))
  over <- built(plot(m, data_idx = 1, show_image = "overlay", image_alpha = 0.4, as_plotly = TRUE))
  expect_identical(trace_types(over), c("image", "heatmap"))
  expect_identical(over$data[[2]]$opacity, 0.4)
})

test_that("several inputs and outputs give a multiplot with output strips", {
  skip_if_not_installed("plotly")
  m <- plot_mixed_method()
  p <- plot(m, data_idx = 1:2, output_idx = list(1:2, 1), as_plotly = TRUE)
  expect_true(p@multiplot)
  expect_identical(dim(p@plots), c(2L, 6L))
  expect_identical(p@col_dims$col_label, c("Output_1: Y1", "Output_1: Y2", "Output_2: Y1"))
  expect_identical(p@col_dims$col_idx, list(1:2, 3:4, 5:6))
  b <- built(p)
  expect_identical(trace_types(b), rep(rep(c("bar", "heatmap"), 3), 2))
  ann <- vapply(b$layout$annotations, function(a) a$text, "")
  expect_true(all(c("Output_1: Y1", "Output_2: Y1", "Input_1", "Input_2") %in% ann))
})

test_that("plot_global() gives boxes with menus, and quantile sliders for images", {
  skip_if_not_installed("plotly")
  g <- plot_tabular_method(B = 10)
  p <- plot_global(g, output_idx = 1:2, ref_data_idx = 4, individual_data_idx = c(2, 6, 8), individual_max = 2,
                   as_plotly = TRUE)
  b <- built(p)
  # per cell: the box and the single instances 4 (reference), 2 and 6
  expect_identical(trace_types(b), rep(c("box", "scatter", "scatter", "scatter"), 2))
  expect_identical(vapply(b$data, function(t) t$name, ""), rep(c("summary", "data_4", "data_2", "data_6"), 2))
  expect_identical(vapply(b$data, function(t) !isFALSE(t$visible), logical(1)), rep(c(TRUE, TRUE, FALSE, FALSE), 2))
  labels <- menu_labels(b)
  expect_identical(labels[[1]], c("Boxplot", "Violin"))
  expect_identical(labels[[2]], c("data_4", "data_2", "data_6", "no instance"))
  # the menu for data_2 addresses the six single-instance traces (0-based)
  btn <- b$layout$updatemenus[[2]]$buttons[[2]]
  expect_identical(unlist(btn$args[[2]]), c(1L, 2L, 3L, 5L, 6L, 7L))
  expect_identical(unlist(btn$args[[1]]$visible), rep(c(FALSE, TRUE, FALSE), 2))

  m <- plot_image_method()
  q <- built(plot_global(m, output_idx = 1, as_plotly = TRUE))
  expect_identical(trace_types(q), rep("heatmap", 9))
  expect_length(q$layout$sliders[[1]]$steps, 9)
  expect_identical(q$layout$sliders[[1]]$steps[[5]]$label, "Median")
  expect_identical(which(vapply(q$data, function(t) !isFALSE(t$visible), logical(1))), 5L)
  expect_identical(menu_labels(q)[[2]], c("Heatmap", "Contour"))
  expect_identical(unlist(q$layout$updatemenus[[2]]$buttons[[2]]$args[[2]]), 0:8)
})

test_that("`[` and `[[` select cells; menus follow the remaining traces", {
  skip_if_not_installed("plotly")
  g <- plot_tabular_method(B = 10)
  p <- plot(g, data_idx = 1:3, output_idx = 1:3, as_plotly = TRUE)
  s <- p[c(3, 1), 2]
  expect_s4_class(s, "innsight_plotly")
  expect_identical(dim(s@plots), c(2L, 1L))
  expect_identical(s@annotations$annotations_strips$row, c("data_1", "data_3"))
  expect_identical(s@annotations$annotations_strips$col, "y")
  b <- built(s)
  expect_identical(trace_types(b), c("bar", "bar"))
  expect_equal(unlist(b$data[[2]]$y), unname(get_result(g)[3, , "y"]), ignore_attr = TRUE)
  one <- draw_quietly(p, function(x) x[[2, 3]])
  expect_s3_class(one$value, "plotly")
  expect_innsight_error(p[4, 1], "argument", "i")
  expect_innsight_error(p[[1, 4]], "argument", "j")

  pg <- plot_global(g, output_idx = 1:3, ref_data_idx = 1, individual_max = 2, as_plotly = TRUE)
  bg <- built(pg[1, 3])
  expect_identical(trace_types(bg), c("box", "scatter", "scatter"))
  expect_identical(unlist(bg$layout$updatemenus[[2]]$buttons[[1]]$args[[2]]), c(1L, 2L))
})

test_that("as_plotly needs plotly", {
  skip_if(requireNamespace("plotly", quietly = TRUE), "plotly is installed")
  expect_innsight_error(plot(plot_tabular_method(), as_plotly = TRUE), "dependency", "plotly")
})
