# The S4 class innsight_ggplot2: printing, `+`, `[`, `[[`, `[<-`, `[[<-`.

test_that("print, show and plot draw a single plot and return the ggplot invisibly", {
  p <- plot(plot_tabular_method(), data_idx = 1:2, output_idx = 1:2)
  for (fun in list(print, methods::show, function(x) plot(x))) {
    out <- draw_quietly(p, fun)
    expect_false(out$visible)
    if (!is.null(out$value)) expect_s3_class(out$value, "ggplot")
  }
  out <- draw_quietly(p, print)
  expect_s3_class(out$value, "gg")
})

test_that("print, show and plot draw a multiplot and return the gtable invisibly", {
  skip_if_not_installed("gtable")
  p <- plot(plot_graph_method(), data_idx = 1:2, output_idx = list(c(1, 3), 2))
  out <- draw_quietly(p, print)
  expect_false(out$visible)
  expect_s3_class(out$value, "gtable")
  # the output strips are part of the table
  expect_true(any(grepl("^output-strip", out$value$layout$name)))
  expect_s3_class(draw_quietly(p, function(x) plot(x))$value, "gtable")
  expect_false(draw_quietly(p, methods::show)$visible)
  # boxplots too
  b <- plot_global(plot_graph_method(), output_idx = list(1, 2))
  expect_s3_class(draw_quietly(b, print)$value, "gtable")
})

test_that("`+` adds components to the plot or to every cell", {
  p <- plot(plot_tabular_method(), data_idx = 1:2, output_idx = 1:2)
  q <- p + ggplot2::theme_bw() + ggplot2::coord_flip()
  expect_s4_class(q, "innsight_ggplot2")
  expect_s3_class(q@grobs[[1, 1]]$coordinates, "CoordFlip")
  expect_false(inherits(p@grobs[[1, 1]]$coordinates, "CoordFlip")) # the original is unchanged
  expect_s3_class(draw_quietly(q)$value, "ggplot")

  mp <- plot(plot_graph_method(), data_idx = 1:2)
  mq <- mp + ggplot2::theme_bw() + ggplot2::labs(x = "features")
  expect_true(all(vapply(mq@grobs, function(g) identical(g$labels$x, "features"), logical(1))))
  expect_identical(mq@output_strips$theme$panel.background, ggplot2::theme_bw()$panel.background)
  skip_if_not_installed("gtable")
  expect_s3_class(draw_quietly(mq)$value, "gtable")
})

test_that("`[` selects instances and output nodes of a single plot", {
  g <- plot_tabular_method()
  p <- plot(g, data_idx = 1:3, output_idx = 1:3)
  s <- p[2:3, 3]
  expect_s4_class(s, "innsight_ggplot2")
  d <- s@grobs[[1, 1]]$data
  expect_identical(levels(d$data), c("data_2", "data_3"))
  expect_identical(levels(d$output_node), "z")
  expect_equal(d, plot(g, data_idx = 2:3, output_idx = 3)@grobs[[1, 1]]$data, ignore_attr = TRUE)
  # the info boxes follow
  expect_identical(nrow(s@grobs[[1, 1]]$layers[[3]]$data), 2L)
  expect_identical(nrow(p@grobs[[1, 1]]$layers[[3]]$data), 9L)
  # missing indices keep all
  expect_identical(levels(p[, 2]@grobs[[1, 1]]$data$data), c("data_1", "data_2", "data_3"))
  expect_identical(levels(p[1, ]@grobs[[1, 1]]$data$output_node), c("x", "y", "z"))
  # the image column is kept
  m <- plot(plot_image_method(), data_idx = 1:2, output_idx = 1:3, show_image = "side")
  mm <- m[2, 2]
  expect_identical(levels(mm@grobs[[1, 1]]$data$output_node), c("Input image", "dog"))
  expect_identical(unique(as.character(mm@grobs[[1, 1]]$layers[[1]]$data$data)), "data_2")
  expect_innsight_error(p[4, 1], "argument", "i")
  expect_innsight_error(p[1, 0], "argument", "j")
  expect_innsight_error(p[1, "a"], "argument", "j")
})

test_that("`[[` returns one panel or cell as a ggplot", {
  g <- plot_tabular_method()
  p <- plot(g, data_idx = 1:3, output_idx = 1:2)
  c1 <- p[[2, 2]]
  expect_s3_class(c1, "ggplot")
  expect_identical(levels(c1$data$data), "data_2")
  expect_identical(levels(c1$data$output_node), "y")
  expect_innsight_error(p[[1:2, 1]], "argument", "i")
  expect_innsight_error(p[[1, 3]], "argument", "j")

  mp <- plot(plot_graph_method(), data_idx = 1:2, output_idx = list(c(1, 3), 2))
  cell <- mp[[2, 3]]
  expect_s3_class(cell, "ggplot")
  expect_identical(cell$data$model_input[1], "Input_1")
  inner <- mp[[2, 3, restyle = FALSE]]
  expect_s3_class(inner$theme$strip.text.x, "element_blank")
  expect_null(cell$theme$strip.text.x)
  expect_innsight_error(mp[[3, 1]], "argument", "i")
  expect_innsight_error(mp[[1]], "argument")
})

test_that("`[` selects cells of a multiplot and keeps the output strips", {
  mp <- plot(plot_graph_method(), data_idx = 1:3, output_idx = list(c(1, 3), 2))
  s <- mp[2:3, 3:6]
  expect_s4_class(s, "innsight_ggplot2")
  expect_true(s@multiplot)
  expect_identical(dim(s@grobs), c(2L, 4L))
  expect_identical(s@output_strips$labels$label, rep(c("Output_1: fish", "Output_2: r2"), each = 2))
  expect_identical(s@col_dims, list(2L, 2L))
  expect_identical(mp[1, 2]@col_dims, list(1L))
  expect_innsight_error(mp[4, 1], "argument", "i")
  expect_innsight_error(mp[1, 7], "argument", "j")
  skip_if_not_installed("gtable")
  expect_s3_class(draw_quietly(s)$value, "gtable")
})

test_that("`[<-` and `[[<-` replace cells of multiplots only", {
  g <- plot_tabular_method()
  p <- plot(g, data_idx = 1:2)
  expect_innsight_error(p[1, 1] <- "Test", "argument", "single plots")
  expect_innsight_error(p[[1, 1]] <- ggplot2::ggplot(), "argument", "single plots")

  mp <- plot(plot_graph_method(), data_idx = 1:2, output_idx = list(c(1, 3), 2))
  expect_warning(mp[1, 1] <- "Test", class = "innsight_warning")
  expect_s4_class(mp, "innsight_ggplot2")
  repl <- mp[2, 3:4]
  mp2 <- mp
  mp2[1, 1:2] <- repl
  expect_identical(mp2@grobs[[1, 1]], mp@grobs[[2, 3]])
  expect_identical(mp2@grobs[[1, 2]], mp@grobs[[2, 4]])
  expect_innsight_error(mp2[1, 1:3] <- repl, "argument", "value")
  expect_warning(mp2[[1, 1]] <- "Test", class = "innsight_warning")
  new_cell <- mp@grobs[[2, 2]] + ggplot2::ggtitle("replaced")
  mp2[[1, 1]] <- new_cell
  expect_identical(mp2@grobs[[1, 1]]$labels$title, "replaced")
})
