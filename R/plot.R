#' Plot the result of an interpretation method
#'
#' @description
#' Every method object ([`Gradient`], [`SmoothGrad`], [`IntegratedGradient`],
#' [`ExpectedGradient`], [`LRP`], [`DeepLift`], [`DeepSHAP`],
#' [`ConnectionWeights`]) has a `plot()` method that draws the attributions of
#' single instances. Call it as `plot(method, ...)` or `method$plot(...)`.
#'
#' * **Tabular inputs**: a bar per feature, coloured by its value divided by the
#'   largest absolute value of the panel (blue negative, white zero, red positive).
#' * **1D signals**: the same along the signal axis.
#' * **Images**: a heatmap of the (channel-aggregated) values, normalised per
#'   panel so that the colour scale is centred on zero. With `show_image` the
#'   input image is drawn in a column of its own (`"side"`) or under the heatmap,
#'   in grey, with the heatmap blended over it (`"overlay"`).
#'
#' The rows of the plot are the instances (`data_idx`), the columns the output
#' nodes. Models with several input layers, or a selection from several output
#' layers, give a grid with one column per output node and input layer (the
#' output nodes are named in strips above). The value axis is labelled after the
#' method: *Relevance* (LRP and methods with `times_input = TRUE`), *Gradient*,
#' *Contribution* (DeepLift, DeepSHAP) or *Relative Importance*
#' (ConnectionWeights).
#'
#' Plotting never changes the method object (its data, results or converter).
#'
#' @param data_idx (`integer`)\cr Indices of the instances to plot (rows).
#'   Default `1`. Global [`ConnectionWeights`] has a single row; other values are
#'   replaced by 1 with a message.
#' @param output_idx (`integer` or `list`)\cr Output nodes to plot (model output
#'   indices, among those the method computed): a vector for the first output
#'   layer or a list with one vector (or `NULL`) per output layer. Default: the
#'   first computed node.
#' @param output_label (`character`, `factor` or `list`)\cr The output nodes by
#'   their labels instead of `output_idx`. If both are given, `output_idx` is used
#'   (with a warning).
#' @param aggr_channels (`character(1)` or `function`)\cr How the channels of
#'   signals and images are combined: `"sum"` (default), `"mean"`, `"norm"` (the
#'   Euclidean norm) or a function that takes the vector of channel values of
#'   one position and returns one number (applied with [apply()], so slower than
#'   the built-in choices on large images).
#' @param as_plotly (`logical(1)`)\cr Return an interactive \pkg{plotly} plot
#'   ([`innsight_plotly`]) instead of a \pkg{ggplot2} one
#'   ([`innsight_ggplot2`]). Needs the package \pkg{plotly}.
#' @param same_scale (`logical(1)`)\cr With several input layers: normalise the
#'   colours of all input layers of an instance and output node together (one
#'   scale) instead of each input layer on its own. Default `FALSE`.
#' @param show_preds (`logical(1)`)\cr Add a box with the prediction (`Pred.`),
#'   the sum of the values (`Sum`) and, where the method defines one, the value
#'   they should sum to (`Goal`) to every panel (ggplot2 only). Default `TRUE`.
#' @param show_image (`character(1)`)\cr For image inputs: `"none"` (default),
#'   `"side"` (the input images in a first column) or `"overlay"` (the heatmap
#'   blended over the image in grey: each pixel gets the colour of its sign with
#'   an opacity of `image_alpha` times the square root of its normalised
#'   absolute value, so that pixels without attribution show the image).
#' @param images (`array`, `character`, `list` or `NULL`)\cr The images shown with
#'   `show_image`. Default (`NULL`): the method's data, min-max scaled per image
#'   (preprocessed data such as the Caffe convention give wrong colours; pass the
#'   original images then). An array `(N, height, width, channels)`,
#'   `(N, channels, height, width)` or `(N, height, width)` with one image per
#'   instance of the data or per plotted instance, values in `[0, 1]` or
#'   `[0, 255]`; or image file paths. For several image input layers, a list
#'   with one entry per input layer.
#' @param image_alpha (`numeric(1)`)\cr Largest opacity of the heatmap over the
#'   image for `show_image = "overlay"`, between 0 and 1. Default `0.8`.
#' @return An [`innsight_ggplot2`] object (print it to draw it), or an
#'   [`innsight_plotly`] object with `as_plotly = TRUE`.
#' @seealso [plot_global()] and [boxplot()][boxplot.InterpretingMethod] for
#'   summaries over many instances, [plot_comparison()] for a grid of images and
#'   methods.
#' @examples
#' # a small dense model: 4 features, 3 classes
#' set.seed(1)
#' model <- list(input_dim = 4, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(24), 6, 4), bias = rnorm(6),
#'        activation_name = "tanh", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(18), 3, 6), bias = rnorm(3),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model, input_names = c("a", "b", "c", "d"),
#'                 output_names = c("x", "y", "z"))
#' lrp <- run_lrp(conv, matrix(rnorm(20), 5, 4), verbose = FALSE)
#' plot(lrp)
#' plot(lrp, data_idx = c(1, 3), output_idx = c(1, 3))
#'
#' # a small convolutional model on 3 x 12 x 12 images
#' cnn <- list(input_dim = c(3, 12, 12), input_nodes = 1, output_nodes = 3, layers = list(
#'   list(type = "Conv2D", weight = array(rnorm(4 * 3 * 3 * 3), c(4, 3, 3, 3)),
#'        bias = rnorm(4), padding = 1, activation_name = "relu",
#'        input_layers = 0, output_layers = 2),
#'   list(type = "Flatten", input_layers = 1, output_layers = 3),
#'   list(type = "Dense", weight = matrix(rnorm(2 * 576, sd = 0.1), 2, 576),
#'        bias = rnorm(2), activation_name = "softmax", input_layers = 2,
#'        output_layers = -1)))
#' x <- array(runif(2 * 3 * 12 * 12), c(2, 3, 12, 12))
#' grad <- run_grad(convert(cnn), x, times_input = TRUE, verbose = FALSE)
#' plot(grad, data_idx = 1:2, aggr_channels = "norm")
#' plot(grad, show_image = "side", show_preds = FALSE)
#' plot(grad, show_image = "overlay", image_alpha = 0.6)
#'
#' # interactive version
#' if (requireNamespace("plotly", quietly = TRUE)) {
#'   plot(lrp, output_idx = 1:2, as_plotly = TRUE)
#' }
#' @name innsight_plot
#' @importFrom rlang .data
NULL

# The body of InterpretingMethod$plot().
plot_method <- function(m, data_idx = 1, output_idx = NULL, output_label = NULL, aggr_channels = "sum",
                        as_plotly = FALSE, same_scale = FALSE, show_preds = TRUE, show_image = "none",
                        images = NULL, image_alpha = 0.8, call = parent.frame()) {
  require_full_result(m, "plot()", call)
  check_flag(as_plotly, call = call)
  check_flag(same_scale, call = call)
  check_flag(show_preds, call = call)
  check_choice(show_image, c("none", "side", "overlay"), "show_image", call = call)
  check_alpha(image_alpha, "image_alpha", call = call)
  aggr <- check_aggr_channels(aggr_channels, call = call)
  data_idx <- plot_data_idx(m, data_idx, call = call)
  selection <- plot_output_selection(m, output_idx, output_label, call = call)
  if (as_plotly) require_suggested("plotly", "{.code as_plotly = TRUE}", call = call)

  cells <- plot_cells(m, data_idx, selection, aggr, call = call)
  cells <- normalise_cells(cells, same_scale)
  n_in <- length(m$converter$input_dim)
  multiplot <- n_in > 1 || sum(!vapply(selection, is.null, logical(1))) > 1

  # images shown with (or under) the heatmaps of image inputs
  img <- list()
  if (show_image != "none") {
    for (j in which(lengths(m$converter$input_dim) == 3)) {
      user <- if (is.list(images) && !is.data.frame(images)) {
        if (length(images) != n_in) {
          innsight_abort("A list {.arg images} needs one entry (or {.code NULL}) per input layer ({n_in}).", call = call)
        }
        images[[j]]
      } else if (j == which(lengths(m$converter$input_dim) == 3)[1]) images else NULL
      img[[j]] <- method_images(m, j, data_idx, user, call = call)
    }
  }
  opts <- list(value_label = method_value_label(m), show_preds = show_preds, show_image = show_image,
               image_alpha = image_alpha, data_idx = data_idx)
  if (as_plotly) {
    return(plotly_method_plot(cells, img, multiplot, opts))
  }
  gg_method_plot(cells, img, multiplot, opts)
}

# Add the column `fill` (value / max |value|) to every cell's data: per instance
# and output node, for each input layer on its own or (same_scale) all together.
normalise_cells <- function(cells, same_scale) {
  if (!same_scale) {
    for (c in seq_along(cells)) {
      df <- cells[[c]]$df
      if (!is.null(df)) cells[[c]]$df$fill <- normalise_groups(df$value, list(df$data, df$output_node))
    }
    return(cells)
  }
  ks <- unique(vapply(cells, function(cell) cell$k, numeric(1)))
  for (k in ks) {
    in_k <- which(vapply(cells, function(cell) cell$k == k && !is.null(cell$df), logical(1)))
    if (length(in_k) == 0) next
    mx <- NULL
    for (c in in_k) {
      df <- cells[[c]]$df
      t <- tapply(abs(df$value), list(df$data, df$output_node), max, na.rm = TRUE)
      mx <- if (is.null(mx)) t else pmax(mx, t, na.rm = TRUE)
    }
    for (c in in_k) {
      df <- cells[[c]]$df
      den <- mx[cbind(as.integer(df$data), as.integer(df$output_node))]
      fill <- df$value / den
      fill[!is.finite(den) | den == 0] <- 0
      cells[[c]]$df$fill <- fill
    }
  }
  cells
}

# ---- ggplot2 ---------------------------------------------------------------------

diverging_fill_scale <- function(values, name, legend = TRUE) {
  v <- values[is.finite(values)]
  breaks <- c(-1, 0, 1)
  labels <- c("<0", "0", ">0")
  if (length(v) > 0 && all(v >= 0)) {
    breaks <- c(0, 1)
    labels <- c("0", ">0")
  } else if (length(v) > 0 && all(v <= 0)) {
    breaks <- c(-1, 0)
    labels <- c("<0", "0")
  }
  ggplot2::scale_fill_gradient2(name = name, low = "blue", mid = "white", high = "red", midpoint = 0,
                                limits = c(-1, 1), breaks = breaks, labels = labels,
                                guide = if (legend) "colourbar" else "none")
}

# One ggplot for the data frame `df` of one input layer (any number of instances
# and facet columns). `col_var` is the facet column variable ("output_node" or
# "model_input"); `imgs` the (N, H, W, 3) images of the instances (or NULL).
gg_panel_plot <- function(df, info, rank, col_var, opts, imgs = NULL) {
  facet <- ggplot2::facet_grid(rows = ggplot2::vars(.data$data), cols = ggplot2::vars(.data[[col_var]]),
                               scales = if (rank < 3) "free_y" else "fixed")
  if (rank < 3) {
    x_var <- if (rank == 1) "feature" else "x"
    p <- ggplot2::ggplot(df, ggplot2::aes(x = .data[[x_var]], y = .data$value, fill = .data$fill)) +
      ggplot2::geom_col(width = if (rank == 1) 0.8 else 1) +
      ggplot2::geom_hline(yintercept = 0, linewidth = 0.3, colour = "grey30") +
      diverging_fill_scale(df$fill, opts$value_label, legend = FALSE) +
      facet +
      ggplot2::labs(x = if (rank == 1) "Feature" else "Signal Length", y = opts$value_label)
    if (rank == 2) p <- p + ggplot2::scale_x_continuous(expand = c(0, 0))
    if (opts$show_preds && !is.null(info)) {
      p <- p + ggplot2::geom_label(data = info, ggplot2::aes(label = .data$label), x = -Inf, y = Inf,
                                   hjust = 0, vjust = 1, inherit.aes = FALSE, size = 2.5, alpha = 0.7,
                                   label.size = 0, label.padding = ggplot2::unit(0.15, "lines"))
    }
    return(p)
  }
  show_image <- if (is.null(imgs)) "none" else opts$show_image
  if (show_image == "side") {
    levels_col <- c(image_column_label, levels(factor(df[[col_var]])))
    df[[col_var]] <- factor(as.character(df[[col_var]]), levels = levels_col)
    if (!is.null(info)) info[[col_var]] <- factor(as.character(info[[col_var]]), levels = levels_col)
  }
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$x, y = .data$y))
  if (show_image != "none") {
    img_df <- image_layer_df(imgs, opts$data_idx, grey = show_image == "overlay")
    img_df <- img_df[img_df$data %in% levels(df$data), , drop = FALSE]
    img_df$data <- factor(as.character(img_df$data), levels = levels(df$data))
    if (show_image == "side") img_df[[col_var]] <- factor(image_column_label, levels = levels(df[[col_var]]))
    p <- p + geom_image_rgb(img_df)
  }
  if (show_image == "overlay") {
    # the sign's colour, with an opacity growing with |value|, over the grey image
    df$opacity <- overlay_opacity(df$fill, opts$image_alpha)
    p <- p + ggplot2::geom_raster(data = df, ggplot2::aes(fill = sign(.data$fill), alpha = .data$opacity)) +
      ggplot2::scale_alpha_identity()
  } else {
    p <- p + ggplot2::geom_raster(ggplot2::aes(fill = .data$fill))
  }
  p <- p + diverging_fill_scale(df$fill, opts$value_label) +
    ggplot2::scale_y_reverse(expand = c(0, 0)) +
    ggplot2::scale_x_continuous(expand = c(0, 0)) +
    ggplot2::coord_fixed() +
    facet +
    ggplot2::labs(x = "Image Width", y = "Image Height")
  if (opts$show_preds && !is.null(info)) {
    # constant positions are not transformed by the (reversed) y scale: Inf is the top
    p <- p + ggplot2::geom_label(data = info, ggplot2::aes(label = .data$label), x = -Inf, y = Inf,
                                 hjust = 0, vjust = 1, inherit.aes = FALSE, size = 2.5, alpha = 0.7,
                                 label.size = 0, label.padding = ggplot2::unit(0.15, "lines"))
  }
  p
}

# A placeholder cell for an input layer that does not influence an output layer.
gg_unconnected <- function(data_label, input_label) {
  df <- data.frame(data = factor(data_label), model_input = factor(input_label))
  ggplot2::ggplot(df) +
    ggplot2::annotate("text", x = 0, y = 0, label = "not connected\nto this output", colour = "grey40") +
    ggplot2::facet_grid(rows = ggplot2::vars(.data$data), cols = ggplot2::vars(.data$model_input)) +
    ggplot2::theme(axis.text = ggplot2::element_blank(), axis.ticks = ggplot2::element_blank()) +
    ggplot2::labs(x = NULL, y = NULL)
}

gg_method_plot <- function(cells, img, multiplot, opts) {
  if (!multiplot) {
    cell <- cells[[1]]
    info <- info_box_df(cell, opts$data_idx)
    p <- gg_panel_plot(cell$df, info, cell$rank, "output_node", opts, img_for(img, cell$j))
    return(new_innsight_ggplot2(matrix(list(p), 1, 1), multiplot = FALSE))
  }
  # columns: output layer -> node -> input layer; rows: instances
  cols <- list()
  for (cell_k in split(cells, vapply(cells, function(cell) cell$k, numeric(1)))) {
    for (s in seq_along(cell_k[[1]]$nodes)) {
      for (cell in cell_k) cols[[length(cols) + 1]] <- list(cell = cell, s = s)
    }
  }
  n_row <- length(opts$data_idx)
  grobs <- matrix(list(), n_row, length(cols))
  for (c in seq_along(cols)) {
    cell <- cols[[c]]$cell
    node <- cell$node_labels[cols[[c]]$s]
    info <- info_box_df(cell, opts$data_idx)
    for (i in seq_len(n_row)) {
      d_lab <- paste0("data_", opts$data_idx[i])
      if (is.null(cell$df)) {
        grobs[[i, c]] <- gg_unconnected(d_lab, paste0("Input_", cell$j))
        next
      }
      df <- cell$df[cell$df$data == d_lab & cell$df$output_node == node, , drop = FALSE]
      df$data <- droplevels(df$data)
      inf <- if (is.null(info)) NULL else info[info$data == d_lab & info$output_node == node, , drop = FALSE]
      if (!is.null(inf)) inf$data <- droplevels(inf$data)
      im <- img_for(img, cell$j)
      if (!is.null(im)) im <- im[i, , , , drop = FALSE]
      o <- opts
      o$data_idx <- opts$data_idx[i]
      grobs[[i, c]] <- gg_panel_plot(df, inf, cell$rank, "model_input", o, im)
    }
  }
  strip_labels <- vapply(cols, function(x) paste0("Output_", x$cell$k, ": ", x$cell$node_labels[x$s]), "")
  new_innsight_ggplot2(grobs, multiplot = TRUE, strip_labels = strip_labels)
}

img_for <- function(img, j) if (length(img) >= j) img[[j]] else NULL
