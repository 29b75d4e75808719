#' Interactive plotly plots of innsight results (S4 class `innsight_plotly`)
#'
#' @description
#' [plot()][innsight_plot] and [plot_global()] return this class with
#' `as_plotly = TRUE` (needs the package \pkg{plotly}). It holds a matrix of
#' plotly cells (rows are instances, columns output nodes and input layers) that
#' are combined with [plotly::subplot()] when printed, with strips naming the
#' columns, rows and output nodes, and menus:
#' * a colour scale menu (heatmaps and bars);
#' * a heatmap/contour switch for images;
#' * for [plot_global()]: a box/violin switch, a menu of single instances drawn
#'   over the boxes, and for images a slider over the quantiles.
#'
#' @slot plots A matrix of plotly objects (one cell each).
#' @slot shapes `list(shapes_strips, shapes_other)`: extra plotly shapes (lists)
#'   drawn with the strips and over the panels; empty by default.
#' @slot annotations `list(annotations_strips, annotations_other)`: the strip
#'   labels (`col`, `row`, `output`: one per column, row and column) and extra
#'   plotly annotations.
#' @slot multiplot `TRUE` for models with several input or output layers (then
#'   output strips are drawn above the column strips).
#' @slot layout Global layout: the menus (`menus`), the quantiles of the slider
#'   (`probs`), `margin` and `showlegend`.
#' @slot col_dims `list(col_idx, col_label)`: the columns under each output strip
#'   and its label.
#'
#' @details
#' * `print(x, shareX = TRUE, ...)`, `show(x)` and `plot(x)` combine the cells
#'   (`...` goes to [plotly::subplot()]), add strips and menus, print the figure
#'   and return it (a plotly object) invisibly.
#' * `x[i, j]` selects cells (positions, sorted) and returns an
#'   `innsight_plotly`; strips and menus are rebuilt for the remaining traces.
#' * `x[[i, j]]` prints one cell and returns its plotly figure invisibly.
#'
#' There is no `+` or replacement method for plotly plots.
#'
#' @param x,object An `innsight_plotly` object.
#' @param y Unused.
#' @param shareX (`logical(1)`)\cr Share the x axis within a column.
#' @param i,j Row and column positions.
#' @param drop Unused.
#' @param ... Passed to [plotly::subplot()].
#' @return See *Details*.
#' @examples
#' if (requireNamespace("plotly", quietly = TRUE)) {
#'   set.seed(4)
#'   model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'     list(type = "Dense", weight = matrix(rnorm(6), 2, 3), bias = rnorm(2),
#'          activation_name = "softmax", input_layers = 0, output_layers = -1)))
#'   grad <- run_grad(convert(model), matrix(rnorm(12), 4, 3), verbose = FALSE)
#'   p <- plot(grad, data_idx = 1:2, output_idx = 1:2, as_plotly = TRUE)
#'   class(p)
#'   p
#'   p[1, 2]
#'   plot_global(grad, as_plotly = TRUE)
#' }
#' @name innsight_plotly
#' @aliases innsight_plotly-class
#' @exportClass innsight_plotly
methods::setClass("innsight_plotly", slots = list(
  plots = "matrix",
  shapes = "list",
  annotations = "list",
  multiplot = "logical",
  layout = "list",
  col_dims = "list"
))

new_innsight_plotly <- function(plots, multiplot, col_labels, row_labels, out_labels, menus, probs = NULL) {
  methods::new("innsight_plotly",
    plots = plots,
    shapes = list(shapes_strips = list(), shapes_other = list()),
    annotations = list(annotations_strips = list(col = col_labels, row = row_labels, output = out_labels),
                       annotations_other = list()),
    multiplot = multiplot,
    layout = list(menus = menus, probs = probs, margin = list(l = 60, r = 50, b = 50), showlegend = FALSE),
    col_dims = plotly_col_dims(out_labels)
  )
}

plotly_col_dims <- function(out_labels) {
  groups <- cumsum(c(TRUE, out_labels[-1] != out_labels[-length(out_labels)]))
  list(col_idx = unname(split(seq_along(out_labels), groups)),
       col_label = out_labels[!duplicated(groups)])
}

strip_annotation <- function(text, x, y, xanchor, yanchor, angle = 0) {
  list(text = text, x = x, y = y, xref = "paper", yref = "paper", xanchor = xanchor, yanchor = yanchor,
       showarrow = FALSE, textangle = angle, bgcolor = "#D9D9D9", borderpad = 3, font = list(size = 12))
}

restyle_button <- function(label, args, idx) {
  list(method = "restyle", label = label, args = list(args, as.list(idx - 1L)))
}

# Menus addressing the traces of the combined figure; `kinds` are the trace kinds
# in figure order.
plotly_menus <- function(kinds, menus, probs) {
  out <- list()
  sliders <- list()
  x_pos <- 0
  add_menu <- function(buttons, label) {
    out[[length(out) + 1]] <<- list(type = "dropdown", buttons = buttons, x = x_pos, y = 1.13,
                                    xanchor = "left", yanchor = "bottom", showactive = TRUE)
    x_pos <<- x_pos + 0.2
  }
  if ("colorscale" %in% menus) {
    idx <- which(kinds %in% c("heatmap", "bar") | startsWith(kinds, "q:"))
    if (length(idx)) {
      add_menu(lapply(names(plotly_colorscales), function(nm) {
        cs <- plotly_colorscales[[nm]]
        restyle_button(nm, list(colorscale = list(cs), marker.colorscale = list(cs)), idx)
      }))
    }
  }
  if ("heatmap" %in% menus) {
    idx <- which(kinds == "heatmap" | startsWith(kinds, "q:"))
    if (length(idx)) {
      add_menu(list(restyle_button("Heatmap", list(type = "heatmap"), idx),
                    restyle_button("Contour", list(type = "contour"), idx)))
    }
  }
  if ("boxviolin" %in% menus) {
    idx <- which(kinds == "box")
    if (length(idx)) {
      add_menu(list(restyle_button("Boxplot", list(type = "box"), idx),
                    restyle_button("Violin", list(type = "violin"), idx)))
    }
  }
  if ("individual" %in% menus) {
    idx <- which(startsWith(kinds, "individual:"))
    if (length(idx)) {
      ids <- unique(sub("individual:", "", kinds[idx], fixed = TRUE))
      buttons <- lapply(ids, function(id) {
        restyle_button(paste0("data_", id), list(visible = as.list(kinds[idx] == paste0("individual:", id))), idx)
      })
      buttons <- c(buttons, list(restyle_button("no instance", list(visible = as.list(rep(FALSE, length(idx)))), idx)))
      add_menu(buttons)
    }
  }
  if ("quantile" %in% menus) {
    idx <- which(startsWith(kinds, "q:"))
    if (length(idx) && length(probs) > 1) {
      labels <- quantile_labels(probs)
      steps <- lapply(seq_along(probs), function(q) {
        list(method = "restyle", label = labels[q],
             args = list(list(visible = as.list(kinds[idx] == paste0("q:", q))), as.list(idx - 1L)))
      })
      active <- if (0.5 %in% probs) match(0.5, probs) - 1L else 0L
      sliders <- list(list(active = active, steps = steps, currentvalue = list(prefix = "Quantile: "),
                           y = -0.05, yanchor = "top", len = 0.9, x = 0.05))
    }
  }
  list(updatemenus = out, sliders = sliders)
}

build_innsight_plotly <- function(x, shareX = TRUE, ...) {
  plots <- x@plots
  nr <- nrow(plots)
  nc <- ncol(plots)
  cells <- as.list(t(plots))
  kinds <- unlist(lapply(cells, function(p) attr(p, "innsight_traces")), use.names = FALSE)
  fig <- if (length(cells) == 1) cells[[1]] else
    plotly::subplot(cells, nrows = nr, shareX = shareX, titleX = TRUE, titleY = TRUE, ...)
  # one colour bar: the first heatmap's
  heat <- which(kinds == "heatmap" | kinds == "q:1")
  if (length(heat) > 1) fig <- plotly::style(fig, showscale = FALSE, traces = heat[-1])
  if (length(heat) > 0) fig <- plotly::style(fig, showscale = TRUE, traces = heat[1])
  strips <- x@annotations$annotations_strips
  ann <- list()
  col_x <- (seq_len(nc) - 0.5) / nc
  row_y <- 1 - (seq_len(nr) - 0.5) / nr
  for (c in seq_len(nc)) ann[[length(ann) + 1]] <- strip_annotation(strips$col[c], col_x[c], 1, "center", "bottom")
  if (!identical(strips$row, "summary")) {
    for (r in seq_len(nr)) ann[[length(ann) + 1]] <- strip_annotation(strips$row[r], 1.005, row_y[r], "left", "middle", 90)
  }
  if (x@multiplot) {
    for (g in seq_along(x@col_dims$col_idx)) {
      ann[[length(ann) + 1]] <- strip_annotation(x@col_dims$col_label[g], mean(col_x[x@col_dims$col_idx[[g]]]), 1.055,
                                                 "center", "bottom")
    }
  }
  ann <- c(ann, x@annotations$annotations_other)
  shapes <- c(x@shapes$shapes_strips, x@shapes$shapes_other)
  menus <- plotly_menus(kinds, x@layout$menus, x@layout$probs)
  margin <- x@layout$margin
  margin$t <- if (length(menus$updatemenus)) 110 else if (x@multiplot) 70 else 40
  plotly::layout(fig, annotations = ann, shapes = shapes, updatemenus = menus$updatemenus,
                 sliders = menus$sliders, margin = margin, showlegend = x@layout$showlegend)
}

print_innsight_plotly <- function(x, shareX = TRUE, ...) {
  require_suggested("plotly", "Printing an {.cls innsight_plotly} object")
  fig <- build_innsight_plotly(x, shareX, ...)
  print(fig)
  invisible(fig)
}

#' @rdname innsight_plotly
#' @export
methods::setMethod("print", "innsight_plotly", function(x, shareX = TRUE, ...) print_innsight_plotly(x, shareX, ...))

#' @rdname innsight_plotly
#' @export
methods::setMethod("show", "innsight_plotly", function(object) print_innsight_plotly(object))

#' @rdname innsight_plotly
#' @export
methods::setMethod("plot", "innsight_plotly", function(x, y, ...) print_innsight_plotly(x, ...))

#' @rdname innsight_plotly
#' @export
methods::setMethod("[", "innsight_plotly", function(x, i, j, ..., drop = TRUE) {
  call <- environment()
  i <- if (missing(i)) seq_len(nrow(x@plots)) else sort(check_positions(i, nrow(x@plots), "i", call))
  j <- if (missing(j)) seq_len(ncol(x@plots)) else sort(check_positions(j, ncol(x@plots), "j", call))
  strips <- x@annotations$annotations_strips
  x@plots <- x@plots[i, j, drop = FALSE]
  x@annotations$annotations_strips <- list(col = strips$col[j],
                                           row = if (identical(strips$row, "summary")) "summary" else strips$row[i],
                                           output = strips$output[j])
  x@col_dims <- plotly_col_dims(strips$output[j])
  x
})

#' @rdname innsight_plotly
#' @export
methods::setMethod("[[", "innsight_plotly", function(x, i, j, ...) {
  call <- environment()
  if (missing(i) || missing(j)) innsight_abort("Give both {.arg i} and {.arg j} to select a cell.", call = call)
  i <- check_single_index(i, nrow(x@plots), "i", call)
  j <- check_single_index(j, ncol(x@plots), "j", call)
  print_innsight_plotly(x[i, j])
})
