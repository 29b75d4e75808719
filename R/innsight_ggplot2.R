#' ggplot2 plots of innsight results (S4 class `innsight_ggplot2`)
#'
#' @description
#' [plot()][innsight_plot], [plot_global()] and [plot_comparison()] return this
#' class. It holds one [ggplot2::ggplot()] object, or for models with several
#' input or output layers a matrix of them (a *multiplot*: rows are instances,
#' columns are output nodes and input layers, with strips naming the output
#' nodes above).
#'
#' @slot grobs A matrix of ggplot objects; `1 x 1` for a single plot.
#' @slot multiplot `TRUE` for a matrix of plots (several input or output layers).
#' @slot output_strips For multiplots: `list(labels, theme)`, the output-node
#'   label of every column and the theme of the strips above; `list()` otherwise.
#' @slot col_dims For multiplots: a list with the number of columns under each
#'   output strip.
#' @slot boxplot `TRUE` for summaries ([plot_global()]).
#'
#' @details
#' * `print(x)`, `show(x)` and `plot(x)` draw the plot. A single plot is printed
#'   as a ggplot and returned invisibly; a multiplot is assembled into one
#'   [gtable][gtable::gtable] (panels aligned, strips only on the outer cells,
#'   output strips on top; needs the package \pkg{gtable}), drawn on a new page
#'   and returned invisibly.
#' * `x + e` adds a ggplot2 component (theme, scale, label, ...) to the plot, or
#'   to every cell of a multiplot (a theme also restyles the output strips).
#' * `x[i, j]` selects instances (rows) and output nodes (columns) of a single
#'   plot, or cells of a multiplot; it returns an `innsight_ggplot2`. Indices are
#'   positions and must be in range. The multiplot's outer strips and axis titles
#'   are placed when it is drawn, so a selection looks like a part of the whole.
#' * `x[[i, j]]` returns one panel (single plot) or cell (multiplot) as a plain
#'   ggplot. For a multiplot cell, `restyle = FALSE` gives the cell as drawn in the
#'   grid (inner strips and axis titles removed), `restyle = TRUE` (default) the
#'   complete plot.
#' * `x[i, j] <- value` replaces cells of a multiplot by the cells of another
#'   `innsight_ggplot2` of size `length(i) x length(j)`; `x[[i, j]] <- value` one
#'   cell by a ggplot. Both are errors for single plots; a `value` of another
#'   class is ignored with a warning.
#'
#' @param x,object An `innsight_ggplot2` object.
#' @param y Unused.
#' @param e1 An `innsight_ggplot2` object.
#' @param e2 A ggplot2 component, e.g. [ggplot2::theme_bw()].
#' @param i,j Row and column positions.
#' @param restyle (`logical(1)`)\cr See *Details*.
#' @param drop Unused.
#' @param value The replacement.
#' @param ... Passed on to [print()] of the ggplot (single plots).
#' @return See *Details*.
#' @examples
#' set.seed(2)
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(6), 2, 3), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 0, output_layers = -1)))
#' grad <- run_grad(convert(model), matrix(rnorm(12), 4, 3), verbose = FALSE)
#' p <- plot(grad, data_idx = 1:3, output_idx = 1:2)
#' class(p)
#' p + ggplot2::theme_bw()
#' p[2:3, 1]
#' p[[1, 2]]
#'
#' # a model with two input layers gives a multiplot
#' model2 <- list(input_dim = list(3, 2), input_nodes = c(1, 2), output_nodes = 4,
#'   layers = list(
#'     list(type = "Dense", weight = matrix(rnorm(6), 2, 3), bias = rnorm(2),
#'          activation_name = "tanh", input_layers = 0, output_layers = 3),
#'     list(type = "Dense", weight = matrix(rnorm(4), 2, 2), bias = rnorm(2),
#'          activation_name = "tanh", input_layers = 0, output_layers = 3),
#'     list(type = "Concatenate", axis = 2, input_layers = c(1, 2), output_layers = 4),
#'     list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'          activation_name = "softmax", input_layers = 3, output_layers = -1)))
#' x2 <- list(matrix(rnorm(6), 2, 3), matrix(rnorm(4), 2, 2))
#' grad2 <- run_grad(convert(model2), x2, verbose = FALSE)
#' p2 <- plot(grad2, data_idx = 1:2)
#' p2
#' p2[1, ]
#' p2[[2, 2]]
#' @name innsight_ggplot2
#' @aliases innsight_ggplot2-class
#' @exportClass innsight_ggplot2
#' @importFrom methods show
methods::setClass("innsight_ggplot2", slots = list(
  grobs = "matrix",
  multiplot = "logical",
  output_strips = "list",
  col_dims = "list",
  boxplot = "logical"
))

# `strip_labels`: the output-node label of every column (multiplots).
new_innsight_ggplot2 <- function(grobs, multiplot, strip_labels = NULL, boxplot = FALSE) {
  if (!multiplot) {
    return(methods::new("innsight_ggplot2", grobs = grobs, multiplot = FALSE, output_strips = list(),
                        col_dims = list(), boxplot = boxplot))
  }
  methods::new("innsight_ggplot2", grobs = grobs, multiplot = TRUE,
               output_strips = list(labels = data.frame(column = seq_along(strip_labels), label = strip_labels,
                                                        stringsAsFactors = FALSE),
                                    theme = ggplot2::theme_get()),
               col_dims = as.list(rle(strip_labels)$lengths), boxplot = boxplot)
}

# ---- drawing --------------------------------------------------------------------

# Style a multiplot cell for position (i, j) of an (nr x nc) grid: column strips
# only on the top row, row strips only on the right, axis titles only on the
# outer cells, the fill legend only in the rightmost column of image cells.
style_cell <- function(p, i, j, nr, nc, legend) {
  blank <- ggplot2::element_blank()
  th <- list()
  if (i > 1) th$strip.text.x <- blank
  if (i > 1) th$strip.background.x <- blank
  if (j < nc) th$strip.text.y <- blank
  if (j < nc) th$strip.background.y <- blank
  if (i < nr) th$axis.title.x <- blank
  if (j > 1) th$axis.title.y <- blank
  if (!legend) th$legend.position <- "none"
  p + do.call(ggplot2::theme, th)
}

# Columns of a multiplot whose cells keep their legend: the last column of each
# kind of cell (images have a colour bar; bars have none).
legend_columns <- function(grobs) {
  has_raster <- vapply(seq_len(ncol(grobs)), function(j) {
    any(vapply(grobs[[1, j]]$layers, function(l) inherits(l$geom, "GeomRaster"), logical(1)))
  }, logical(1))
  out <- rep(FALSE, ncol(grobs))
  if (any(has_raster)) out[max(which(has_raster))] <- TRUE
  out
}

arrange_multiplot <- function(x) {
  require_suggested("gtable", "Drawing plots of models with several input or output layers")
  g <- x@grobs
  nr <- nrow(g)
  nc <- ncol(g)
  keep_legend <- legend_columns(g)
  tables <- matrix(list(), nr, nc)
  for (i in seq_len(nr)) for (j in seq_len(nc)) {
    tables[[i, j]] <- ggplot2::ggplotGrob(style_cell(g[[i, j]], i, j, nr, nc, keep_legend[j]))
  }
  # align the panels: stack the cells of each column, then join the columns; cells
  # whose layouts differ (e.g. a legend moved to the bottom by a theme) are placed
  # in an unaligned grid instead
  aligned <- tryCatch({
    columns <- lapply(seq_len(nc), function(j) do.call(rbind, c(tables[, j], list(size = "max"))))
    list(columns = columns, whole = do.call(cbind, c(columns, list(size = "max"))))
  }, error = function(e) NULL)
  if (is.null(aligned)) {
    columns <- lapply(seq_len(nc), function(j) {
      gtable::gtable_matrix(paste0("column-", j), matrix(tables[, j], ncol = 1),
                            widths = grid::unit(1, "null"), heights = grid::unit(rep(1, nr), "null"))
    })
    for (j in seq_len(nc)) columns[[j]]$layout$name <- paste0("panel-", seq_len(nr))
    aligned <- list(columns = columns, whole = do.call(cbind, columns))
  }
  columns <- aligned$columns
  whole <- aligned$whole
  # output strips: one over the panels of each group of columns
  offsets <- cumsum(c(0, vapply(columns, ncol, integer(1))))
  panel_l <- vapply(seq_len(nc), function(j) {
    lay <- columns[[j]]$layout
    offsets[j] + min(lay$l[grepl("^panel", lay$name)])
  }, numeric(1))
  panel_r <- vapply(seq_len(nc), function(j) {
    lay <- columns[[j]]$layout
    offsets[j] + max(lay$r[grepl("^panel", lay$name)])
  }, numeric(1))
  labels <- x@output_strips$labels$label
  groups <- cumsum(c(TRUE, labels[-1] != labels[-length(labels)]))
  th <- x@output_strips$theme
  whole <- gtable::gtable_add_rows(whole, grid::unit(1.6, "lines"), pos = 0)
  for (gi in unique(groups)) {
    cols <- which(groups == gi)
    bg <- ggplot2::element_grob(ggplot2::calc_element("strip.background.x", th))
    txt <- ggplot2::element_grob(ggplot2::calc_element("strip.text.x", th), label = labels[cols[1]])
    whole <- gtable::gtable_add_grob(whole, grid::grobTree(bg, txt), t = 1, l = min(panel_l[cols]),
                                     r = max(panel_r[cols]), clip = "on", name = paste0("output-strip-", gi))
  }
  whole <- gtable::gtable_add_rows(whole, grid::unit(0.3, "lines"), pos = 0)
  whole
}

print_innsight_ggplot2 <- function(x, ...) {
  if (!x@multiplot) {
    p <- x@grobs[[1, 1]]
    print(p, ...)
    return(invisible(p))
  }
  gt <- arrange_multiplot(x)
  grid::grid.newpage()
  grid::grid.draw(gt)
  invisible(gt)
}

#' @rdname innsight_ggplot2
#' @export
methods::setMethod("print", "innsight_ggplot2", function(x, ...) print_innsight_ggplot2(x, ...))

#' @rdname innsight_ggplot2
#' @export
methods::setMethod("show", "innsight_ggplot2", function(object) print_innsight_ggplot2(object))

#' @rdname innsight_ggplot2
#' @export
methods::setMethod("plot", "innsight_ggplot2", function(x, y, ...) print_innsight_ggplot2(x, ...))

# ---- adding components ----------------------------------------------------------

#' @rdname innsight_ggplot2
#' @export
methods::setMethod("+", signature(e1 = "innsight_ggplot2", e2 = "ANY"), function(e1, e2) {
  g <- e1@grobs
  for (n in seq_along(g)) g[[n]] <- g[[n]] + e2
  e1@grobs <- g
  if (e1@multiplot && inherits(e2, "theme")) {
    e1@output_strips$theme <- e1@output_strips$theme + e2
  }
  e1
})

# ---- indexing -------------------------------------------------------------------

# Facet variables and their levels of a single plot: rows (instances, may be
# absent for summaries) and columns (output nodes; the image column is kept).
facet_info <- function(p) {
  rows <- names(p$facet$params$rows)
  cols <- names(p$facet$params$cols)
  lv <- function(var) {
    if (length(var) == 0) return(character(0))
    v <- p$data[[var]]
    out <- if (is.factor(v)) levels(droplevels(v)) else unique(as.character(v))
    setdiff(out, image_column_label)
  }
  list(rows = rows, cols = cols, row_levels = lv(rows), col_levels = lv(cols),
       has_image = length(cols) > 0 && image_column_label %in% as.character(p$data[[cols]]) ||
         any(vapply(p$layers, function(l) is.data.frame(l$data) && length(cols) > 0 &&
                      image_column_label %in% as.character(l$data[[cols]]), logical(1))))
}

check_positions <- function(idx, n, arg, call) {
  if (!is_integerish(idx) || length(idx) == 0 || any(idx < 1) || any(idx > n) || anyDuplicated(idx)) {
    innsight_abort("{.arg {arg}} must contain distinct positions between 1 and {n}, not {.obj_type_friendly {idx}}{if (is.numeric(idx)) paste0(' (', paste(idx, collapse = ', '), ')') else ''}.",
                   call = call)
  }
  as.integer(idx)
}

# Keep the facet levels `row_keep`/`col_keep` in the plot's data and in every
# layer's own data (layers are cloned; the original plot is not changed).
subset_facets <- function(p, fi, row_keep, col_keep) {
  filt <- function(df) {
    if (!is.data.frame(df)) return(df)
    keep <- rep(TRUE, nrow(df))
    if (length(fi$rows) && fi$rows %in% names(df)) keep <- keep & as.character(df[[fi$rows]]) %in% row_keep
    if (length(fi$cols) && fi$cols %in% names(df)) keep <- keep & as.character(df[[fi$cols]]) %in% col_keep
    df <- df[keep, , drop = FALSE]
    if (length(fi$rows) && fi$rows %in% names(df)) df[[fi$rows]] <- factor(as.character(df[[fi$rows]]), levels = row_keep)
    if (length(fi$cols) && fi$cols %in% names(df)) df[[fi$cols]] <- factor(as.character(df[[fi$cols]]), levels = col_keep)
    df
  }
  p$data <- filt(p$data)
  p$layers <- lapply(p$layers, function(l) {
    if (!is.data.frame(l$data)) return(l)
    l2 <- ggplot2::ggproto(NULL, l)
    l2$data <- filt(l$data)
    l2
  })
  p
}

subset_single <- function(x, i, j, call) {
  p <- x@grobs[[1, 1]]
  fi <- facet_info(p)
  n_r <- max(1, length(fi$row_levels))
  n_c <- max(1, length(fi$col_levels))
  i <- if (is.null(i)) seq_len(n_r) else check_positions(i, n_r, "i", call)
  j <- if (is.null(j)) seq_len(n_c) else check_positions(j, n_c, "j", call)
  row_keep <- fi$row_levels[i]
  col_keep <- c(if (fi$has_image) image_column_label, fi$col_levels[j])
  subset_facets(p, fi, row_keep, col_keep)
}

#' @rdname innsight_ggplot2
#' @export
methods::setMethod("[", "innsight_ggplot2", function(x, i, j, ..., restyle = TRUE, drop = TRUE) {
  call <- environment()
  check_flag(restyle, call = call)
  i <- if (missing(i)) NULL else i
  j <- if (missing(j)) NULL else j
  if (!x@multiplot) {
    x@grobs <- matrix(list(subset_single(x, i, j, call)), 1, 1)
    return(x)
  }
  i <- if (is.null(i)) seq_len(nrow(x@grobs)) else check_positions(i, nrow(x@grobs), "i", call)
  j <- if (is.null(j)) seq_len(ncol(x@grobs)) else check_positions(j, ncol(x@grobs), "j", call)
  labels <- x@output_strips$labels$label[j]
  x@grobs <- x@grobs[i, j, drop = FALSE]
  x@output_strips$labels <- data.frame(column = seq_along(labels), label = labels, stringsAsFactors = FALSE)
  x@col_dims <- as.list(rle(labels)$lengths)
  x
})

#' @rdname innsight_ggplot2
#' @export
methods::setMethod("[[", "innsight_ggplot2", function(x, i, j, ..., restyle = TRUE) {
  call <- environment()
  check_flag(restyle, call = call)
  if (!x@multiplot) {
    fi <- facet_info(x@grobs[[1, 1]])
    i <- if (missing(i)) 1L else check_single_index(i, max(1, length(fi$row_levels)), "i", call)
    j <- if (missing(j)) 1L else check_single_index(j, max(1, length(fi$col_levels)), "j", call)
    return(subset_single(x, i, j, call))
  }
  if (missing(i) || missing(j)) innsight_abort("Give both {.arg i} and {.arg j} to select a cell.", call = call)
  i <- check_single_index(i, nrow(x@grobs), "i", call)
  j <- check_single_index(j, ncol(x@grobs), "j", call)
  p <- x@grobs[[i, j]]
  if (!restyle) p <- style_cell(p, i, j, nrow(x@grobs), ncol(x@grobs), legend_columns(x@grobs)[j])
  p
})

#' @rdname innsight_ggplot2
#' @export
methods::setReplaceMethod("[", "innsight_ggplot2", function(x, i, j, ..., value) {
  call <- environment()
  if (!x@multiplot) {
    innsight_abort("Replacing parts with {.code [<-} is not implemented for single plots.", call = call)
  }
  if (!methods::is(value, "innsight_ggplot2")) {
    innsight_warn("{.arg value} must be an {.cls innsight_ggplot2} object, not {.obj_type_friendly {value}}; nothing was replaced.")
    return(x)
  }
  i <- if (missing(i)) seq_len(nrow(x@grobs)) else check_positions(i, nrow(x@grobs), "i", call)
  j <- if (missing(j)) seq_len(ncol(x@grobs)) else check_positions(j, ncol(x@grobs), "j", call)
  if (!identical(dim(value@grobs), c(length(i), length(j)))) {
    innsight_abort(c("{.arg value} must hold {length(i)} x {length(j)} plots for this replacement.",
                     "x" = "It holds {nrow(value@grobs)} x {ncol(value@grobs)}."), call = call)
  }
  x@grobs[i, j] <- value@grobs
  x
})

#' @rdname innsight_ggplot2
#' @export
methods::setReplaceMethod("[[", "innsight_ggplot2", function(x, i, j, ..., value) {
  call <- environment()
  if (!x@multiplot) {
    innsight_abort("Replacing parts with {.code [[<-} is not implemented for single plots.", call = call)
  }
  if (!inherits(value, "ggplot")) {
    innsight_warn("{.arg value} must be a ggplot object, not {.obj_type_friendly {value}}; nothing was replaced.")
    return(x)
  }
  i <- check_single_index(i, nrow(x@grobs), "i", call)
  j <- check_single_index(j, ncol(x@grobs), "j", call)
  x@grobs[[i, j]] <- value
  x
})
