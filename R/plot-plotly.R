# plotly versions of plot() and plot_global(): a matrix of plotly cells (rows =
# instances, columns = output nodes x input layers), combined and given menus
# when printed (see innsight_plotly.R). Each cell carries the kinds of its traces
# in the attribute "innsight_traces", so the menus can address them after any
# selection of cells.

plotly_colorscales <- list(
  "Blue-White-Red" = list(list(0, "blue"), list(0.5, "white"), list(1, "red")),
  "Red-Blue" = "RdBu",
  "Viridis" = "Viridis",
  "Greys" = "Greys",
  "Hot" = "Hot"
)

with_traces <- function(p, kinds) {
  attr(p, "innsight_traces") <- kinds
  p
}

fmt_hover <- function(v) formatC(v, digits = 4, format = "g")

# Bars of one instance and output node (tabular and 1D inputs).
plotly_bar_cell <- function(df, rank, value_label) {
  x <- if (rank == 1) as.character(df$feature) else df$x
  p <- plotly::plot_ly(x = x, y = df$value, type = "bar", showlegend = FALSE,
                       marker = list(color = df$fill, colorscale = plotly_colorscales[[1]], cmin = -1, cmax = 1,
                                     line = list(color = "grey40", width = 0.5)),
                       hovertemplate = paste0("%{x}<br>", value_label, ": %{y:.4g}<extra></extra>"))
  xaxis <- list(title = if (rank == 1) "Feature" else "Signal Length")
  if (rank == 1) xaxis <- c(xaxis, list(categoryorder = "array", categoryarray = levels(df$feature)))
  p <- plotly::layout(p, xaxis = xaxis, yaxis = list(title = value_label))
  with_traces(p, "bar")
}

image_matrix <- function(df, column) {
  H <- max(df$y)
  W <- max(df$x)
  m <- matrix(NA_real_, H, W)
  m[cbind(df$y, df$x)] <- df[[column]]
  m
}

# A heatmap of one instance and output node; with an image (H, W, 3) in [0, 1]
# drawn under it ("overlay", grey) or alone ("image").
plotly_heatmap_cell <- function(df, value_label, showscale, img = NULL, mode = "none", alpha = 1) {
  p <- plotly::plot_ly()
  kinds <- character(0)
  if (mode != "none") {
    rgb <- img[1, , , , drop = TRUE] * 255
    if (mode == "overlay") {
      l <- 0.299 * rgb[, , 1] + 0.587 * rgb[, , 2] + 0.114 * rgb[, , 3]
      rgb <- array(c(l, l, l), dim(rgb))
    }
    p <- plotly::add_trace(p, type = "image", z = rgb, hoverinfo = "skip",
                           x0 = 1, y0 = 1, dx = 1, dy = 1)
    kinds <- "image"
  }
  if (mode != "image") {
    z <- image_matrix(df, "fill")
    txt <- matrix(fmt_hover(image_matrix(df, "value")), nrow(z))
    p <- plotly::add_trace(p, type = "heatmap", z = z, x = seq_len(ncol(z)), y = seq_len(nrow(z)),
                           zmin = -1, zmax = 1, colorscale = plotly_colorscales[[1]], opacity = alpha,
                           showscale = showscale, text = txt,
                           colorbar = list(title = value_label, tickvals = c(-1, 0, 1), ticktext = c("<0", "0", ">0")),
                           hovertemplate = paste0("width %{x}, height %{y}<br>", value_label, ": %{text}<extra></extra>"))
    kinds <- c(kinds, "heatmap")
  }
  p <- plotly::layout(p, xaxis = list(title = "Image Width", showgrid = FALSE, zeroline = FALSE),
                      yaxis = list(title = "Image Height", autorange = "reversed", showgrid = FALSE,
                                   zeroline = FALSE, scaleanchor = NULL))
  with_traces(p, kinds)
}

plotly_unconnected <- function() {
  p <- plotly::plot_ly(x = 0, y = 0, type = "scatter", mode = "text", text = "not connected\nto this output",
                       hoverinfo = "skip", showlegend = FALSE)
  p <- plotly::layout(p, xaxis = list(visible = FALSE), yaxis = list(visible = FALSE))
  with_traces(p, "text")
}

# Columns of the plotly grid: (output layer k, node position s, cell).
grid_columns <- function(cells) {
  cols <- list()
  for (cell_k in split(cells, vapply(cells, function(cell) cell$k, numeric(1)))) {
    for (s in seq_along(cell_k[[1]]$nodes)) {
      for (cell in cell_k) cols[[length(cols) + 1]] <- list(cell = cell, s = s)
    }
  }
  cols
}

plotly_method_plot <- function(cells, img, multiplot, opts) {
  cols <- grid_columns(cells)
  n_row <- length(opts$data_idx)
  side <- opts$show_image == "side"
  # with show_image = "side", an image column before the first column of each image input
  spec <- list()
  for (c in seq_along(cols)) {
    cell <- cols[[c]]$cell
    if (side && cell$rank == 3 && !is.null(img_for(img, cell$j)) && cols[[c]]$s == 1) {
      spec[[length(spec) + 1]] <- list(cell = cell, s = 1, image_only = TRUE)
    }
    spec[[length(spec) + 1]] <- c(cols[[c]], list(image_only = FALSE))
  }
  plots <- matrix(list(), n_row, length(spec))
  first_heat <- TRUE
  for (c in seq_along(spec)) {
    cell <- spec[[c]]$cell
    node <- cell$node_labels[spec[[c]]$s]
    for (i in seq_len(n_row)) {
      if (is.null(cell$df)) {
        plots[[i, c]] <- plotly_unconnected()
        next
      }
      d_lab <- paste0("data_", opts$data_idx[i])
      df <- cell$df[cell$df$data == d_lab & cell$df$output_node == node, , drop = FALSE]
      if (cell$rank < 3) {
        plots[[i, c]] <- plotly_bar_cell(df, cell$rank, opts$value_label)
        next
      }
      im <- img_for(img, cell$j)
      if (!is.null(im)) im <- im[i, , , , drop = FALSE]
      mode <- if (spec[[c]]$image_only) "image" else if (!is.null(im) && opts$show_image == "overlay") "overlay" else "none"
      plots[[i, c]] <- plotly_heatmap_cell(df, opts$value_label, showscale = first_heat && mode != "image", im, mode,
                                           alpha = if (mode == "overlay") opts$image_alpha else 1)
      if (mode != "image") first_heat <- FALSE
    }
  }
  col_labels <- vapply(spec, function(x) {
    if (x$image_only) return(image_column_label)
    if (multiplot) paste0("Input_", x$cell$j) else x$cell$node_labels[x$s]
  }, "")
  out_labels <- vapply(spec, function(x) paste0("Output_", x$cell$k, ": ", x$cell$node_labels[x$s]), "")
  new_innsight_plotly(plots, multiplot, col_labels, paste0("data_", opts$data_idx), out_labels,
                      menus = c("colorscale", if (any(vapply(cells, function(x) x$rank == 3, logical(1)))) "heatmap"))
}

# ---- plot_global -------------------------------------------------------------

quantile_labels <- function(probs) {
  lab <- paste0(format(probs * 100, trim = TRUE, drop0trailing = TRUE), "%")
  lab[probs == 0] <- "Minimum"
  lab[probs == 0.5] <- "Median"
  lab[probs == 1] <- "Maximum"
  lab
}

plotly_box_cell <- function(df, rank, value_label, individual) {
  box <- df[df$boxplot_data, , drop = FALSE]
  xval <- function(d) if (rank == 1) as.character(d$feature) else d$x
  p <- plotly::plot_ly(x = xval(box), y = box$value, type = "box", name = "summary", showlegend = FALSE,
                       fillcolor = "lightgrey", line = list(color = "grey30"), marker = list(color = "grey30", size = 3))
  kinds <- "box"
  for (d in individual) {
    ind <- df[df$data == paste0("data_", d), , drop = FALSE]
    p <- plotly::add_trace(p, x = xval(ind), y = ind$value, type = "scatter", mode = "markers",
                           name = paste0("data_", d), visible = d == individual[1], showlegend = FALSE,
                           marker = list(color = "red", symbol = "line-ew-open", size = 18, line = list(width = 3)),
                           inherit = FALSE)
    kinds <- c(kinds, paste0("individual:", d))
  }
  xaxis <- list(title = if (rank == 1) "Feature" else "Signal Length")
  if (rank == 1) xaxis <- c(xaxis, list(categoryorder = "array", categoryarray = levels(df$feature)))
  p <- plotly::layout(p, xaxis = xaxis, yaxis = list(title = value_label))
  with_traces(p, kinds)
}

plotly_quantile_cell <- function(df, probs, value_label, showscale) {
  p <- plotly::plot_ly()
  med <- if (0.5 %in% probs) match(0.5, probs) else 1
  for (q in seq_along(probs)) {
    v <- df[[paste0("q_", q)]]
    tmp <- data.frame(x = df$x, y = df$y, fill = normalise_groups(v, df$output_node), value = v)
    z <- image_matrix(tmp, "fill")
    txt <- matrix(fmt_hover(image_matrix(tmp, "value")), nrow(z))
    p <- plotly::add_trace(p, type = "heatmap", z = z, x = seq_len(ncol(z)), y = seq_len(nrow(z)),
                           zmin = -1, zmax = 1, colorscale = plotly_colorscales[[1]], visible = q == med,
                           showscale = showscale, text = txt, name = quantile_labels(probs)[q],
                           colorbar = list(title = paste0(value_label, "<br>(", quantile_labels(probs)[q], ")"),
                                           tickvals = c(-1, 0, 1), ticktext = c("<0", "0", ">0")),
                           hovertemplate = paste0("width %{x}, height %{y}<br>", value_label, ": %{text}<extra></extra>"))
  }
  p <- plotly::layout(p, xaxis = list(title = "Image Width", showgrid = FALSE, zeroline = FALSE),
                      yaxis = list(title = "Image Height", autorange = "reversed", showgrid = FALSE, zeroline = FALSE))
  with_traces(p, paste0("q:", seq_along(probs)))
}

plotly_global_plot <- function(cells, multiplot, opts) {
  cols <- grid_columns(cells)
  plots <- matrix(list(), 1, length(cols))
  first_heat <- TRUE
  for (c in seq_along(cols)) {
    cell <- cols[[c]]$cell
    node <- cell$node_labels[cols[[c]]$s]
    if (is.null(cell$df)) {
      plots[[1, c]] <- plotly_unconnected()
      next
    }
    df <- cell$df[cell$df$output_node == node, , drop = FALSE]
    if (cell$rank < 3) {
      plots[[1, c]] <- plotly_box_cell(df, cell$rank, opts$value_label, opts$individual)
    } else {
      plots[[1, c]] <- plotly_quantile_cell(df, cell$probs, opts$value_label, first_heat)
      first_heat <- FALSE
    }
  }
  col_labels <- vapply(cols, function(x) if (multiplot) paste0("Input_", x$cell$j) else x$cell$node_labels[x$s], "")
  out_labels <- vapply(cols, function(x) paste0("Output_", x$cell$k, ": ", x$cell$node_labels[x$s]), "")
  ranks <- vapply(cells, function(x) x$rank, numeric(1))
  menus <- c(if (any(ranks < 3)) c("boxviolin", "individual"), if (any(ranks == 3)) c("colorscale", "heatmap", "quantile"))
  new_innsight_plotly(plots, multiplot, col_labels, "summary", out_labels, menus = menus,
                      probs = cells[[1]]$probs)
}
