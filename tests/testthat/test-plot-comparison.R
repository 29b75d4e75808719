# plot_comparison(): the grid of images x methods of the ImageNet article.

comparison_methods <- function() {
  conv <- convert(make_conv2d_model(), output_names = c("cat", "dog", "bird"), dtype = "double")
  x <- plot_images(3)
  list(
    "Gradient" = run_grad(conv, x, output_idx = 1:3, dtype = "double", verbose = FALSE),
    "Gradient x Input" = run_grad(conv, x, output_idx = 1:3, times_input = TRUE, dtype = "double", verbose = FALSE),
    "LRP (alpha_beta = 1)" = run_lrp(conv, x, output_idx = 1:3, rule_name = "alpha_beta", rule_param = 1,
                                     dtype = "double", verbose = FALSE),
    "DeepLift (rescale zeros)" = run_deeplift(conv, x, output_idx = 1:3, dtype = "double", verbose = FALSE)
  )
}

panel_data <- function(p) p@grobs[[1, 1]]$data
panel_rasters <- function(p) p@grobs[[1, 1]]$layers[[1]]$geom_params$rasters

test_that("rows are images with class and probability, columns the methods", {
  ms <- comparison_methods()
  p <- plot_comparison(ms)
  expect_s4_class(p, "innsight_ggplot2")
  d <- panel_data(p)
  preds <- ms[[1]]$preds[[1]]
  top <- apply(preds, 1, which.max)
  labels <- sprintf("%s (%.2f%%)", c("cat", "dog", "bird")[top], 100 * preds[cbind(1:3, top)])
  expect_identical(levels(d$row), labels)
  expect_identical(levels(d$column), c("Input image", names(ms)))
  expect_identical(nrow(d), 3L * 5L)
  # each heatmap: the channel mean of the predicted class, divided by its max |value|
  rasters <- panel_rasters(p)
  res <- get_result(ms[["Gradient x Input"]])
  agg <- apply(res[2, , , , top[2]], c(2, 3), mean)
  id <- d$raster_id[d$row == labels[2] & d$column == "Gradient x Input"]
  expect_identical(as.vector(as.matrix(rasters[[id]])), diverging_colours(as.vector(agg / max(abs(agg)))))
  # the image column: the method's data, min-max scaled
  img <- as.matrix(rasters[[d$raster_id[d$row == labels[1] & d$column == "Input image"]]])
  x <- plot_images(3)[1, , , ]
  sc <- (x - min(x)) / (max(x) - min(x))
  expect_identical(img[3, 5], grDevices::rgb(sc[1, 3, 5], sc[2, 3, 5], sc[3, 3, 5]))
})

test_that("output_idx, data_idx, row labels and normalisation", {
  ms <- comparison_methods()
  p <- plot_comparison(ms, data_idx = c(3, 1), output_idx = 2, row_labels = c("third", "first"),
                       normalise = "row", show_image = "none")
  d <- panel_data(p)
  expect_identical(levels(d$row), c("third", "first"))
  expect_identical(levels(d$column), names(ms))
  res <- lapply(ms, function(m) apply(get_result(m)[3, , , , 2], c(2, 3), mean))
  mx <- max(vapply(res, function(r) max(abs(r)), 0))
  rasters <- panel_rasters(p)
  for (n in names(ms)) {
    id <- d$raster_id[d$row == "third" & d$column == n]
    expect_identical(as.vector(as.matrix(rasters[[id]])), diverging_colours(as.vector(res[[n]] / mx)))
  }
  # one output per row; names of unnamed methods come from their class
  q <- plot_comparison(unname(ms[1:2]), output_idx = c(1, 2, 3), aggr_channels = "sum", normalise = "all")
  expect_identical(levels(panel_data(q)$column), c("Input image", "Gradient", "Gradient 1"))
  expect_match(levels(panel_data(q)$row)[3], "^bird \\(")
})

test_that("result arrays and user images are accepted", {
  ms <- comparison_methods()
  arr <- get_result(ms[[1]]) # (B, C, H, W, S) with class names last
  arr_last <- aperm(arr, c(1, 3, 4, 2, 5))
  imgs <- array(255, c(3, 8, 8, 3))
  p <- plot_comparison(list(A = arr, B = arr_last, C = arr[, , , , 1]), images = imgs, output_idx = 1)
  d <- panel_data(p)
  r <- panel_rasters(p)
  idA <- d$raster_id[d$column == "A"]
  idB <- d$raster_id[d$column == "B"]
  expect_identical(lapply(r[idA], as.matrix), lapply(r[idB], as.matrix))
  expect_true(all(as.matrix(r[[d$raster_id[d$column == "Input image"][1]]]) == "#FFFFFF"))
  expect_identical(levels(d$row), c("cat", "cat", "cat") |> make.unique(sep = " "))
  # images of another size are drawn into the same panels
  big <- array(0.5, c(3, 32, 32))
  q <- plot_comparison(list(A = arr[, , , , 1]), images = big)
  expect_identical(dim(panel_rasters(q)[[1]]), c(32L, 32L))
  # overlay blends the heatmap over the grey image
  o <- plot_comparison(list(A = arr[, , , , 1]), images = big, show_image = "overlay", image_alpha = 0.5)
  expect_identical(levels(panel_data(o)$column), "A")
  expect_identical(dim(panel_rasters(o)[[1]]), c(8L, 8L))
  # image files
  skip_if_not_installed("png")
  f <- tempfile(fileext = ".png")
  on.exit(unlink(f))
  png::writePNG(array(c(1, 0, 0), c(12, 12, 3)) * 0 + rep(c(1, 0, 0), each = 144), f)
  pf <- plot_comparison(list(A = arr[1, , , , 1, drop = FALSE]), images = f)
  expect_true(all(as.matrix(panel_rasters(pf)[[1]]) == "#FF0000"))
})

test_that("plot_comparison() saves PNG and PDF files", {
  ms <- comparison_methods()
  for (ext in c("png", "pdf")) {
    f <- tempfile(fileext = paste0(".", ext))
    out <- withVisible(plot_comparison(ms[1:2], file = f, width = 5, height = 4))
    expect_false(out$visible)
    expect_s4_class(out$value, "innsight_ggplot2")
    expect_gt(file.size(f), 1000)
    unlink(f)
  }
  skip_if_not_installed("png")
  f <- tempfile(fileext = ".png")
  plot_comparison(ms, file = f)
  on.exit(unlink(f))
  expect_identical(dim(png::readPNG(f))[1:2], c(as.integer(round((2 * 3 + 0.7) * 150)), as.integer(round((2 * 5 + 0.6) * 150))))
})

test_that("plot_comparison() arguments are checked", {
  ms <- comparison_methods()
  expect_innsight_error(plot_comparison(ms[[1]]), "argument", "methods")
  expect_innsight_error(plot_comparison(list()), "argument", "methods")
  expect_innsight_error(plot_comparison(list(a = "x")), "argument", "methods")
  expect_innsight_error(plot_comparison(ms, data_idx = 4), "argument", "data_idx")
  expect_innsight_error(plot_comparison(ms, output_idx = c(1, 2)), "argument", "output_idx")
  expect_innsight_error(plot_comparison(ms, normalise = "image"), "argument", "normalise")
  expect_innsight_error(plot_comparison(ms, show_image = "beside"), "argument", "show_image")
  expect_innsight_error(plot_comparison(ms, image_alpha = -1), "argument", "image_alpha")
  expect_innsight_error(plot_comparison(ms, colours = c("blue", "red")), "argument", "colours")
  expect_innsight_error(plot_comparison(ms, colours = c("blue", "nocolour", "red")), "argument", "colours")
  expect_innsight_error(plot_comparison(ms, row_labels = "a"), "argument", "row_labels")
  expect_innsight_error(plot_comparison(ms, file = tempfile(fileext = ".svg")), "argument", "file")
  expect_innsight_error(plot_comparison(ms, images = array(0, c(2, 8, 8, 3))), "argument", "images")
  expect_innsight_error(plot_comparison(ms, images = array(0, c(3, 8, 8, 5))), "argument", "images")
  expect_innsight_error(plot_comparison(ms, label_width = 0), "argument", "label_width")
  expect_innsight_error(plot_comparison(ms, aggr_channels = "max"), "argument", "aggr_channels")
  expect_innsight_error(plot_comparison(ms, normalize = "row"), "argument", "normalize")
  expect_innsight_error(plot_comparison(ms, NULL, NULL, NULL, 5), "argument", "unnamed")
  # a method that did not compute the explained class
  conv <- convert(make_conv2d_model())
  g1 <- run_grad(conv, plot_images(3), output_idx = 1, verbose = FALSE)
  expect_innsight_error(plot_comparison(list(a = g1), output_idx = 2), "argument", "did not compute")
  # mismatched sizes; non-image methods; arrays without channel information
  g2 <- run_grad(conv, plot_images(2), verbose = FALSE)
  expect_innsight_error(plot_comparison(list(a = g1, b = g2)), "argument", "same number")
  expect_innsight_error(plot_comparison(list(a = plot_tabular_method())), "argument", "image inputs")
  expect_innsight_error(plot_comparison(list(a = array(0, c(2, 8, 8, 8)))), "argument", "channels_first")
  expect_innsight_error(plot_comparison(list(a = array(0, c(2, 3, 8, 8, 2)))), "argument", "output_idx")
  expect_innsight_error(plot_comparison(list(a = array(0, c(2, 3, 8, 8))), show_image = "side"), "argument", "images")
})

test_that("a 4 x 7 grid of 224 x 224 heatmaps is built and drawn in seconds", {
  skip_on_cran()
  set.seed(1)
  arrays <- lapply(1:7, function(i) array(stats::rnorm(4 * 224 * 224 * 3), c(4, 224, 224, 3)))
  names(arrays) <- paste("Method", 1:7)
  imgs <- array(stats::runif(4 * 224 * 224 * 3), c(4, 224, 224, 3))
  f <- tempfile(fileext = ".png")
  on.exit(unlink(f))
  time <- system.time(plot_comparison(arrays, images = imgs, file = f))[["elapsed"]]
  expect_lt(time, 30) # about 2 to 4 seconds on a laptop; generous for loaded machines
})

test_that("snapshots: the comparison figure", {
  skip_if_not_installed("vdiffr")
  ms <- comparison_methods()
  vdiffr::expect_doppelganger("comparison", plot_comparison(ms)@grobs[[1, 1]])
  vdiffr::expect_doppelganger("comparison-overlay",
                              plot_comparison(ms[2:3], data_idx = 1:2, show_image = "overlay", show_legend = TRUE,
                                              normalise = "column")@grobs[[1, 1]])
})
