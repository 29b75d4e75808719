# plot() of single instances: values drawn, layouts, arguments, snapshots.

gg_of <- function(p) p@grobs[[1, 1]]

test_that("plot() returns innsight_ggplot2 through plot() and $plot() alike", {
  g <- plot_tabular_method()
  p <- plot(g)
  expect_s4_class(p, "innsight_ggplot2")
  expect_false(p@multiplot)
  expect_identical(dim(p@grobs), c(1L, 1L))
  expect_s3_class(gg_of(p), "ggplot")
  expect_equal(gg_of(g$plot())$data, gg_of(p)$data)
  # default: the first instance and the first computed node
  d <- gg_of(p)$data
  expect_identical(levels(d$data), "data_1")
  expect_identical(levels(d$output_node), "x")
  expect_identical(as.character(d$feature), c("a", "b", "c", "d"))
})

test_that("plotted values are the results, normalised per instance and output node", {
  g <- plot_tabular_method()
  p <- plot(g, data_idx = c(4, 2), output_idx = c(3, 1))
  d <- gg_of(p)$data
  res <- get_result(g)
  expect_identical(levels(d$data), c("data_4", "data_2"))
  expect_identical(levels(d$output_node), c("z", "x"))
  for (b in c(4, 2)) for (o in c("z", "x")) {
    rows <- d[d$data == paste0("data_", b) & d$output_node == o, ]
    expect_equal(rows$value, unname(res[b, , o]))
    expect_equal(rows$fill, unname(res[b, , o]) / max(abs(res[b, , o])))
  }
  # output_label selects the same
  p2 <- plot(g, data_idx = c(4, 2), output_label = c("z", "x"))
  expect_equal(gg_of(p2)$data, d)
})

test_that("channels are aggregated by sum, mean, norm or a function", {
  m <- plot_image_method()
  res <- get_result(m) # (B, C, H, W, S)
  pick <- function(p) {
    d <- gg_of(p)$data
    d <- d[order(d$x, d$y), ]
    matrix(d$value, 8, 8)
  }
  res <- unname(res)
  expect_equal(pick(plot(m, data_idx = 2, aggr_channels = "sum")), apply(res[2, , , , 1], c(2, 3), sum))
  expect_equal(pick(plot(m, data_idx = 2, aggr_channels = "mean")), apply(res[2, , , , 1], c(2, 3), mean))
  expect_equal(pick(plot(m, data_idx = 2, aggr_channels = "norm")),
               apply(res[2, , , , 1], c(2, 3), function(v) sqrt(sum(v^2))))
  expect_equal(pick(plot(m, data_idx = 2, aggr_channels = function(v) max(abs(v)))),
               apply(res[2, , , , 1], c(2, 3), function(v) max(abs(v))))
  # channels-last data give the same picture
  m_last <- plot_image_method(channels_first = FALSE)
  expect_equal(pick(plot(m_last, data_idx = 2)), pick(plot(m, data_idx = 2)))
  # signals
  s <- plot_signal_method()
  r1 <- get_result(s)
  d <- gg_of(plot(s, data_idx = 3, output_idx = 2, aggr_channels = "mean"))$data
  expect_equal(d$value, unname(colMeans(r1[3, , , 2])))
  expect_equal(d$x, 1:16)
})

test_that("the value axis is named after the method", {
  ylab <- function(p) gg_of(p)$labels$y
  expect_identical(ylab(plot(plot_tabular_method())), "Gradient")
  expect_identical(ylab(plot(plot_signal_method())), "Relevance")
  fill_name <- function(p) gg_of(p)$scales$get_scales("fill")$name
  expect_identical(fill_name(plot(plot_image_method(method = "gxi"))), "Relevance")
  expect_identical(fill_name(plot(plot_image_method(method = "deeplift"))), "Contribution")
  expect_identical(fill_name(plot(plot_image_method(method = "grad"))), "Gradient")
  conv <- convert(make_mlp_model())
  cw <- run_cw(conv, verbose = FALSE)
  expect_identical(ylab(plot(cw)), "Relative Importance")
})

test_that("every method can be plotted and summarised", {
  conv <- convert(make_conv2d_model(), dtype = "double")
  x <- plot_images(3)
  ms <- with_seed(8, list(
    Gradient = run_grad(conv, x, verbose = FALSE),
    SmoothGrad = run_smoothgrad(conv, x, n = 5, verbose = FALSE),
    IntegratedGradient = run_intgrad(conv, x, n = 5, verbose = FALSE),
    ExpectedGradient = run_expgrad(conv, x, data_ref = x, n = 5, verbose = FALSE),
    LRP = run_lrp(conv, x, verbose = FALSE),
    DeepLift = run_deeplift(conv, x, verbose = FALSE),
    DeepSHAP = run_deepshap(conv, x, data_ref = x, verbose = FALSE),
    ConnectionWeights = run_cw(conv, x, times_input = TRUE, verbose = FALSE)
  ))
  labels <- c(Gradient = "Gradient", SmoothGrad = "Gradient", IntegratedGradient = "Relevance",
              ExpectedGradient = "Relevance", LRP = "Relevance", DeepLift = "Contribution",
              DeepSHAP = "Contribution", ConnectionWeights = "Relative Importance")
  for (n in names(ms)) {
    p <- plot(ms[[n]], data_idx = 2:3, output_idx = 1:2, show_image = "side")
    expect_s4_class(p, "innsight_ggplot2")
    expect_identical(gg_of(p)$scales$get_scales("fill")$name, labels[[n]])
    expect_s4_class(plot_global(ms[[n]]), "innsight_ggplot2")
    draw_quietly(p)
  }
  cw <- run_cw(conv, verbose = FALSE)
  expect_s4_class(plot(cw, output_idx = 1:3), "innsight_ggplot2")
})

test_that("plot() does not change the method object", {
  for (m in list(plot_tabular_method(), plot_image_method(), plot_graph_method())) {
    before <- method_state(m)
    p <- plot(m, data_idx = 1:2, show_image = if (inherits(m$data[[1]], "array") && length(dim(m$data[[1]])) == 4) "side" else "none")
    draw_quietly(p)
    b <- plot_global(m)
    expect_identical(method_state(m), before)
  }
  # global ConnectionWeights: data_idx is set to 1 with a message; the data stay NULL
  cw <- run_cw(convert(make_mlp_model()), verbose = FALSE)
  before <- method_state(cw)
  expect_message(p <- plot(cw, data_idx = 3), class = "innsight_message")
  expect_identical(levels(gg_of(p)$data$data), "data_1")
  expect_null(cw$data)
  expect_identical(method_state(cw), before)
  expect_no_message(plot(cw))
})

test_that("info boxes show prediction, sum and goal", {
  g <- plot_tabular_method()
  p <- gg_of(plot(g, data_idx = 2, output_idx = 3))
  info <- p$layers[[3]]$data
  res <- get_result(g)
  expect_match(info$label, paste0("Pred.: ", format(signif(g$preds[[1]][2, 3], 4), digits = 4)), fixed = TRUE)
  expect_match(info$label, paste0("Sum: ", format(signif(sum(res[2, , 3]), 4), digits = 4)), fixed = TRUE)
  expect_length(plot(g, show_preds = FALSE)@grobs[[1, 1]]$layers, 2)
  cw <- run_cw(convert(make_mlp_model()), verbose = FALSE)
  # global ConnectionWeights has no prediction and no goal, only the sum
  expect_identical(gg_of(plot(cw))$layers[[3]]$data$label, paste0("Sum: ", format(signif(sum(get_result(cw)[1, , 1]), 4), digits = 4)))
})

test_that("several input and output layers give a multiplot", {
  m <- plot_graph_method()
  p <- plot(m, data_idx = 1:2, output_idx = list(c(1, 3), 2))
  expect_true(p@multiplot)
  # columns: (Output_1: cat, fish) x (Input_1, Input_2), then Output_2: r2 x 2 inputs
  expect_identical(dim(p@grobs), c(2L, 6L))
  expect_identical(p@output_strips$labels$label,
                   rep(c("Output_1: cat", "Output_1: fish", "Output_2: r2"), each = 2))
  expect_identical(p@col_dims, list(2L, 2L, 2L))
  expect_true(p@grobs[[1, 1]]$data$model_input[1] == "Input_1")
  # the disconnected Input_1 -> Output_2 cell is a placeholder
  expect_identical(p@grobs[[2, 5]]$layers[[1]]$aes_params$label, "not connected\nto this output")
  expect_equal(p@grobs[[2, 4]]$data$value, unname(get_result(m)$Output_1$Input_2[2, , "fish"]))
  # same_scale: one normalisation over both inputs of an instance and node
  q <- plot(m, data_idx = 1, output_idx = list(1), same_scale = TRUE)
  v <- c(q@grobs[[1, 1]]$data$value, q@grobs[[1, 2]]$data$value)
  expect_equal(c(q@grobs[[1, 1]]$data$fill, q@grobs[[1, 2]]$data$fill), v / max(abs(v)))
  q2 <- plot(m, data_idx = 1, output_idx = list(1), same_scale = FALSE)
  expect_equal(max(abs(q2@grobs[[1, 1]]$data$fill)), 1)
  expect_equal(max(abs(q2@grobs[[1, 2]]$data$fill)), 1)
})

test_that("images can be shown beside or under the heatmaps", {
  m <- plot_image_method()
  side <- gg_of(plot(m, data_idx = 1:2, output_idx = 2, show_image = "side"))
  expect_identical(levels(side$data$output_node), c("Input image", "dog"))
  expect_s3_class(side$layers[[1]]$geom, "GeomRasterRGB")
  img <- side$layers[[1]]$data
  expect_identical(nrow(img), 2L * 64L)
  # the method's data, min-max scaled per image
  x <- plot_images(4)[1, , , ]
  sc <- (x - min(x)) / (max(x) - min(x))
  expect_identical(img$rgb[img$data == "data_1" & img$x == 2 & img$y == 3],
                   grDevices::rgb(sc[1, 3, 2], sc[2, 3, 2], sc[3, 3, 2]))
  over <- gg_of(plot(m, show_image = "overlay", image_alpha = 0.3))
  heat <- over$layers[[2]]$data
  expect_equal(heat$opacity, 0.3 * sqrt(abs(heat$fill)))
  grey <- over$layers[[1]]$data$rgb
  rgb <- grDevices::col2rgb(grey)
  expect_identical(rgb[1, ], rgb[2, ])
  # user images in [0, 255], channels last
  user <- array(0, c(4, 8, 8, 3))
  user[, , , 1] <- 255
  red <- gg_of(plot(m, show_image = "side", images = user))$layers[[1]]$data$rgb
  expect_true(all(red == "#FF0000"))
})

test_that("plot() arguments are checked with classed errors", {
  g <- plot_tabular_method()
  expect_innsight_error(plot(g, data_idx = c(1, 11)), "argument", "data_idx")
  expect_innsight_error(plot(g, data_idx = 0), "argument", "data_idx")
  expect_innsight_error(plot(g, data_idx = "a"), "argument", "data_idx")
  expect_innsight_error(plot(g, data_idx = c(1, 1)), "argument", "data_idx")
  g2 <- run_grad(convert(make_mlp_model()), rand_data(3, 4), output_idx = c(1, 2), verbose = FALSE)
  expect_innsight_error(plot(g2, output_idx = 3), "argument", "output_idx")
  expect_innsight_error(plot(g2, output_idx = list(1, 2)), "argument", "output_idx")
  expect_innsight_error(plot(g2, output_label = "Y3"), "argument", "output_label")
  expect_innsight_error(plot(g2, output_label = 1), "argument", "output_label")
  expect_warning(p <- plot(g2, output_idx = 2, output_label = "Y1"), class = "innsight_warning")
  expect_identical(levels(gg_of(p)$data$output_node), "Y2")
  expect_innsight_error(plot(g, aggr_channels = "max"), "argument", "aggr_channels")
  expect_innsight_error(plot(g, aggr_channels = 1), "argument", "aggr_channels")
  expect_innsight_error(plot(g, as_plotly = NA), "argument", "as_plotly")
  expect_innsight_error(plot(g, same_scale = "yes"), "argument", "same_scale")
  expect_innsight_error(plot(g, show_preds = c(TRUE, FALSE)), "argument", "show_preds")
  expect_innsight_error(plot(g, show_image = "blend"), "argument", "show_image")
  expect_innsight_error(plot(g, image_alpha = 2), "argument", "image_alpha")
  m <- plot_image_method()
  expect_innsight_error(plot(m, aggr_channels = function(v) v), "argument", "aggr_channels")
  expect_innsight_error(plot(m, show_image = "side", images = array(0, c(3, 8, 8, 3))), "argument", "images")
  expect_innsight_error(plot(m, show_image = "side", images = "no-such-file.png"), "argument", "images")
  expect_innsight_error(plot(m, show_image = "side", images = list(1, 2)), "argument", "images")
})

# ---- snapshots ------------------------------------------------------------------

test_that("snapshots: tabular, signal and image plots", {
  skip_if_not_installed("vdiffr")
  g <- plot_tabular_method()
  vdiffr::expect_doppelganger("tabular", gg_of(plot(g, data_idx = c(1, 3), output_idx = c(1, 3))))
  s <- plot_signal_method()
  vdiffr::expect_doppelganger("signal", gg_of(plot(s, data_idx = 1:2, output_idx = 1:2, aggr_channels = "mean")))
  m <- plot_image_method()
  vdiffr::expect_doppelganger("image", gg_of(plot(m, data_idx = 1:2, output_idx = c(1, 3))))
  vdiffr::expect_doppelganger("image-side", gg_of(plot(m, data_idx = 1:2, output_idx = 2, show_image = "side",
                                                       show_preds = FALSE)))
  vdiffr::expect_doppelganger("image-overlay", gg_of(plot(m, data_idx = 3, output_idx = 1:2,
                                                          show_image = "overlay", aggr_channels = "norm")))
})

test_that("snapshots: several input and output layers", {
  skip_if_not_installed("vdiffr")
  skip_if_not_installed("gtable")
  m <- plot_graph_method()
  p <- plot(m, data_idx = 1:2, output_idx = list(c(1, 3), 2))
  vdiffr::expect_doppelganger("multi-tabular", function() print(p))
  mixed <- plot_mixed_method()
  q <- plot(mixed, data_idx = 1:2, output_idx = list(2, 1), show_image = "side")
  vdiffr::expect_doppelganger("multi-mixed", function() print(q))
})
