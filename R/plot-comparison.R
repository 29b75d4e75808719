#' Compare methods on images in one figure
#'
#' @description
#' Draws a grid with one row per image and one column per method: the heatmaps
#' of the methods' attributions (channels aggregated, each divided by its
#' largest absolute value and drawn on a blue-white-red scale centred on zero),
#' with the original images in a first column and row labels naming the
#' explained class and its predicted probability. This is the figure of the
#' ImageNet article of innsight, in one call; with `file` it is also saved as a
#' PNG or PDF file.
#'
#' @details
#' **Methods.** `methods` is a list of method objects (e.g. from [run_grad()],
#' [run_lrp()], ...) or result arrays, usually named: the names are the column
#' titles (unnamed method objects are titled by their class). All entries must
#' have the same number of instances, and the method objects the same image
#' input layer (the first image input of the model is used, and the first
#' explained output layer). Result arrays may be `(N, H, W)`, `(N, H, W, C)` or
#' `(N, C, H, W)` (see `channels_first`), or `(N, ..., S)` as returned by
#' [get_result()], with the output nodes last.
#'
#' **Output nodes.** Each row explains one output node, the same for all methods.
#' By default, the computed node with the highest prediction of the instance
#' (the predicted class, when the method computed it); `output_idx` sets it (one
#' model output index for all rows or one per row). For result arrays with
#' several output nodes, the node is found by its label (the dimnames of the last
#' axis) or, without labels, `output_idx` is its position on the last axis.
#'
#' **Row labels.** `row_labels`, or the node's label with the model's prediction:
#' `"daisy (29.14%)"` for predictions between 0 and 1 (probabilities),
#' `"label (2.31)"` otherwise; `data_<i>` when nothing is known.
#'
#' **Speed.** Heatmaps are coloured once, as whole matrices, and drawn as one
#' raster per panel, so a grid of 4 x 7 heatmaps of 224 x 224 pixels is built and
#' drawn in a second or two. The plot is an [`innsight_ggplot2`] object; ggplot2
#' components can be added (e.g. a theme), but the heatmap colours are set by
#' `colours`, not by a fill scale.
#'
#' @param methods (`list`)\cr Named list of method objects or result arrays (see
#'   *Details*).
#' @param images (`character`, `array` or `NULL`)\cr The original images for the
#'   first column (and for `show_image = "overlay"`): PNG/JPEG file paths (read
#'   with [load_images()] at the heatmaps' size), or an array `(N, H, W, C)`,
#'   `(N, C, H, W)` (C = 1, 3 or 4) or `(N, H, W)` with values in `[0, 1]` or
#'   `[0, 255]` (other ranges are min-max scaled per image), with one image per
#'   instance or per row. Images may have another size than the heatmaps. Default
#'   (`NULL`): the data of the first method object, min-max scaled per image
#'   (preprocessed data may have shifted colours, e.g. BGR for the Caffe
#'   convention; pass the original images for true colours).
#' @param data_idx (`integer` or `NULL`)\cr The instances (rows). Default: all.
#' @param output_idx (`integer` or `NULL`)\cr The explained output node: one
#'   value for all rows or one per row (see *Details*). Default: the predicted
#'   node.
#' @param ... Passed to [ggplot2::ggsave()] when `file` is given (e.g. `width`,
#'   `height`, `units`, `dpi`).
#' @param aggr_channels (`character(1)` or `function`)\cr How the channels are
#'   combined: `"mean"` (default, as in the article), `"sum"`, `"norm"` or a
#'   function (see [plot()][innsight_plot]).
#' @param normalise (`character(1)`)\cr Which heatmaps share a colour scale:
#'   `"panel"` (default: each image and method on its own, as in the article),
#'   `"row"` (all methods of an image), `"column"` (all images of a method) or
#'   `"all"`.
#' @param show_image (`character(1)` or `NULL`)\cr `"side"` (the images in the
#'   first column), `"overlay"` (each heatmap blended over its image in grey:
#'   every pixel gets the colour of its sign with an opacity of `image_alpha`
#'   times the square root of its normalised absolute value) or `"none"`.
#'   Default (`NULL`): `"side"` when images are available, else `"none"`.
#' @param image_alpha (`numeric(1)`)\cr Largest opacity of the heatmaps for
#'   `show_image = "overlay"`. Default `0.8`.
#' @param row_labels (`character` or `NULL`)\cr One label per row (see
#'   *Details*).
#' @param image_title (`character(1)`)\cr Title of the image column. Default
#'   `"Image"`.
#' @param colours (`character(3)`)\cr Colours of negative values, zero and
#'   positive values. Default `c("blue", "white", "red")`.
#' @param channels_first (`logical(1)` or `NULL`)\cr Layout of 4-dimensional
#'   result arrays; `NULL` (default) guesses it from the axis sizes (1 or 3
#'   channels).
#' @param show_legend (`logical(1)`)\cr Add a colour bar (`<0`, `0`, `>0`).
#'   Default `FALSE`.
#' @param label_width (`integer(1)`)\cr Strip labels are wrapped at this many
#'   characters. Default `25`.
#' @param file (`character(1)` or `NULL`)\cr Save the figure to this `.png` or
#'   `.pdf` file (size by default 2 inches per panel, 150 dpi).
#' @return An [`innsight_ggplot2`] object; invisibly when `file` is given.
#' @seealso [plot()][innsight_plot] for the plots of one method.
#' @examples
#' # a small random CNN on 3 x 16 x 16 images with 5 classes
#' set.seed(42)
#' cnn <- list(input_dim = c(3, 16, 16), input_nodes = 1, output_nodes = 4, layers = list(
#'   list(type = "Conv2D", weight = array(rnorm(6 * 3 * 3 * 3, sd = 0.3), c(6, 3, 3, 3)),
#'        bias = rnorm(6, sd = 0.1), padding = 1, activation_name = "relu",
#'        input_layers = 0, output_layers = 2),
#'   list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 1, output_layers = 3),
#'   list(type = "Flatten", input_layers = 2, output_layers = 4),
#'   list(type = "Dense", weight = matrix(rnorm(5 * 384, sd = 0.05), 5, 384), bias = rnorm(5),
#'        activation_name = "softmax", input_layers = 3, output_layers = -1)))
#' conv <- convert(cnn, output_names = c("cat", "dog", "bird", "fish", "frog"))
#' # three "images" with a bright square each
#' x <- array(runif(3 * 3 * 16 * 16, 0, 0.3), c(3, 3, 16, 16))
#' x[1, , 3:8, 3:8] <- 1
#' x[2, , 8:14, 2:7] <- 1
#' x[3, , 5:12, 9:15] <- 1
#' pred <- predict(conv, x)
#' top <- unique(apply(pred, 1, which.max))
#' methods <- list(
#'   "Gradient" = run_grad(conv, x, output_idx = top, verbose = FALSE),
#'   "Gradient x Input" = run_grad(conv, x, output_idx = top, times_input = TRUE, verbose = FALSE),
#'   "LRP (epsilon)" = run_lrp(conv, x, output_idx = top, rule_name = "epsilon", verbose = FALSE),
#'   "DeepLift" = run_deeplift(conv, x, output_idx = top, verbose = FALSE)
#' )
#' plot_comparison(methods)
#' plot_comparison(methods, data_idx = 1:2, show_image = "overlay", normalise = "row")
#' \donttest{
#' f <- tempfile(fileext = ".png")
#' plot_comparison(methods, file = f)
#' unlink(f)
#' }
#' @export
plot_comparison <- function(methods, images = NULL, data_idx = NULL, output_idx = NULL, ...,
                            aggr_channels = "mean", normalise = "panel", show_image = NULL, image_alpha = 0.8,
                            row_labels = NULL, image_title = "Image", colours = c("blue", "white", "red"),
                            channels_first = NULL, show_legend = FALSE, label_width = 25, file = NULL) {
  call <- environment()
  aggr <- check_aggr_channels(aggr_channels, call = call)
  check_choice(normalise, c("panel", "row", "column", "all"), "normalise", call = call)
  if (!is.null(show_image)) check_choice(show_image, c("side", "overlay", "none"), "show_image", call = call)
  check_alpha(image_alpha, "image_alpha", call = call)
  check_string(image_title, "image_title", call = call)
  check_colours(colours, "colours", call = call)
  if (!is.null(channels_first)) check_flag(channels_first, call = call)
  check_flag(show_legend, call = call)
  label_width <- check_count(label_width, "label_width", call = call)
  if (!is.null(file)) {
    check_string(file, "file", call = call)
    ext <- tolower(sub(".*\\.([^./\\\\]+)$", "\\1", file))
    if (!grepl("\\.", basename(file)) || !ext %in% c("png", "pdf")) {
      innsight_abort("{.arg file} must end in {.file .png} or {.file .pdf}, not {.file {file}}.", call = call)
    }
  }

  dots <- list(...)
  save_args <- setdiff(names(formals(ggplot2::ggsave)), c("filename", "plot", "..."))
  if (length(dots) > 0 && (is.null(names(dots)) || any(!names(dots) %in% save_args))) {
    bad <- if (is.null(names(dots))) rep("", length(dots)) else names(dots)
    bad <- bad[!bad %in% save_args]
    innsight_abort(c("Unknown argument{?s} in {.arg ...}: {.val {ifelse(bad == '', '<unnamed>', bad)}}.",
                     "i" = "{.arg ...} takes the arguments of {.fn ggplot2::ggsave} for {.arg file}: {.arg {save_args}}."),
                   call = call)
  }

  entries <- comparison_entries(methods, channels_first, call)
  B <- entries[[1]]$B
  data_idx <- if (is.null(data_idx)) seq_len(B) else check_index(data_idx, B, "data_idx", call = call)
  n_row <- length(data_idx)
  nodes <- comparison_nodes(entries, data_idx, output_idx, call)

  # heatmaps: (row, method) -> H x W matrix of aggregated values
  H <- entries[[1]]$H
  W <- entries[[1]]$W
  values <- lapply(entries, function(e) {
    lapply(seq_len(n_row), function(i) {
      s <- nodes$pos[[e$id]][i]
      a <- e$array[data_idx[i], , , , s, drop = FALSE] # (1, C, H, W, 1)
      matrix(aggregate_channels(a, aggr, call), H, W)
    })
  })
  values <- normalise_comparison(values, normalise)

  labels <- comparison_row_labels(entries, data_idx, nodes, row_labels, call)
  titles <- vapply(entries, function(e) e$title, "")

  # images
  imgs <- NULL
  mode <- show_image
  src <- Find(function(e) e$is_method && !is.null(e$method$data), entries)
  if (!is.null(images)) {
    imgs <- if (is.character(images)) {
      as_image_array(images, "images", target_size = c(H, W), call = call)
    } else {
      as_image_array(images, "images", call = call)
    }
    N <- dim(imgs)[1]
    if (N == B && N != n_row) {
      imgs <- imgs[data_idx, , , , drop = FALSE]
    } else if (N != n_row) {
      innsight_abort(c("{.arg images} must hold one image per instance ({B}) or per row ({n_row}).",
                       "x" = "It holds {N} image{?s}."), call = call)
    }
  } else if (!identical(mode, "none") && !is.null(src)) {
    imgs <- method_images(src$method, src$input, data_idx, call = call)
  }
  if (is.null(mode)) mode <- if (is.null(imgs)) "none" else "side"
  if (mode != "none" && is.null(imgs)) {
    innsight_abort(c("{.code show_image = \"{mode}\"} needs images.",
                     "i" = "Pass them in {.arg images} (no method object with data was given)."), call = call)
  }

  # one raster per panel
  rasters <- list()
  panels <- list()
  col_levels <- c(if (mode == "side") image_column_label, titles)
  add_panel <- function(r, i, col) {
    rasters[[length(rasters) + 1]] <<- r
    panels[[length(panels) + 1]] <<- data.frame(row = labels[i], column = col, raster_id = length(rasters),
                                                stringsAsFactors = FALSE)
  }
  grey <- if (mode == "overlay") lapply(seq_len(n_row), function(i) image_hex(imgs, i, grey = TRUE)) else NULL
  for (i in seq_len(n_row)) {
    if (mode == "side") {
      r <- image_hex(imgs, i)
      attr(r, "interpolate") <- TRUE
      add_panel(r, i, image_column_label)
    }
    for (m in seq_along(entries)) {
      v <- values[[m]][[i]]
      if (mode == "overlay") {
        # the sign's colour, with an opacity growing with |value|, over the grey image
        g <- grey[[i]]
        if (!identical(dim(g), c(H, W))) g <- resample_nearest(g, H, W)
        heat <- blend_colours(diverging_colours(sign(v), colours), g, overlay_opacity(v, image_alpha))
      } else {
        heat <- diverging_colours(v, colours)
      }
      add_panel(matrix(heat, H, W), i, titles[m])
    }
  }
  panels <- do.call(rbind, panels)
  panels$row <- factor(panels$row, levels = labels)
  panels$column <- factor(panels$column, levels = col_levels)
  panels$xmin <- 0.5
  panels$xmax <- W + 0.5
  panels$ymin <- 0.5
  panels$ymax <- H + 0.5

  wrap <- function(x) strwrap_keep(x, label_width)
  col_lab <- function(x) wrap(ifelse(x == image_column_label, image_title, x))
  p <- ggplot2::ggplot(panels) +
    geom_panel_raster(panels, rasters) +
    ggplot2::facet_grid(rows = ggplot2::vars(.data$row), cols = ggplot2::vars(.data$column),
                        labeller = ggplot2::labeller(row = wrap, column = col_lab)) +
    ggplot2::scale_x_continuous(limits = c(0.5, W + 0.5), expand = c(0, 0)) +
    ggplot2::scale_y_continuous(limits = c(0.5, H + 0.5), expand = c(0, 0)) +
    ggplot2::coord_fixed() +
    ggplot2::labs(x = NULL, y = NULL) +
    ggplot2::theme_grey() +
    ggplot2::theme(axis.text = ggplot2::element_blank(), axis.ticks = ggplot2::element_blank(),
                   panel.grid = ggplot2::element_blank(), panel.background = ggplot2::element_rect(fill = "white"),
                   panel.spacing = grid::unit(4, "pt"), plot.background = ggplot2::element_rect(fill = "white", colour = NA),
                   strip.text = ggplot2::element_text(size = 11, margin = ggplot2::margin(5, 5, 5, 5)))
  if (show_legend) {
    # an empty raster layer (positions NA) that only carries the colour bar
    p <- p + ggplot2::geom_raster(data = data.frame(v = c(-1, 1), x = NA_real_, y = NA_real_),
                                  ggplot2::aes(x = .data$x, y = .data$y, fill = .data$v), inherit.aes = FALSE,
                                  na.rm = TRUE) +
      ggplot2::scale_fill_gradientn(name = NULL, colours = grDevices::colorRampPalette(colours, space = "Lab")(11),
                                    limits = c(-1, 1), breaks = c(-1, 0, 1), labels = c("<0", "0", ">0"))
  }
  out <- new_innsight_ggplot2(matrix(list(p), 1, 1), multiplot = FALSE)
  if (is.null(file)) return(out)
  save_comparison(p, file, n_row, length(col_levels), H / W, ...)
  invisible(out)
}

# Wrap each label at `width` characters (keeping labels without spaces whole).
strwrap_keep <- function(x, width) {
  vapply(as.character(x), function(s) paste(strwrap(s, width = width), collapse = "\n"), "", USE.NAMES = FALSE)
}

# Nearest-neighbour resampling of a colour matrix to H x W (vectorised).
resample_nearest <- function(m, H, W) {
  ri <- pmin(nrow(m), floor((seq_len(H) - 0.5) * nrow(m) / H) + 1)
  ci <- pmin(ncol(m), floor((seq_len(W) - 0.5) * ncol(m) / W) + 1)
  m[ri, ci, drop = FALSE]
}

save_comparison <- function(p, file, n_row, n_col, aspect, ...) {
  args <- list(...)
  if (is.null(args$width)) args$width <- 2 * n_col + 0.6
  if (is.null(args$height)) args$height <- 2 * aspect * n_row + 0.7
  if (is.null(args$dpi)) args$dpi <- 150
  if (is.null(args$units)) args$units <- "in"
  if (is.null(args$bg)) args$bg <- "white"
  do.call(ggplot2::ggsave, c(list(filename = file, plot = p), args))
}

# Standardise the entries of `methods`: a list of list(id, title, is_method,
# method, input, k, array (B, C, H, W, S), B, H, W, nodes (model indices or NULL),
# node_labels, preds (B, S) or NULL).
comparison_entries <- function(methods, channels_first, call) {
  if (!is.list(methods) || inherits(methods, "R6") || length(methods) == 0) {
    innsight_abort(c("{.arg methods} must be a non-empty list of method objects or result arrays.",
                     "x" = "Got {.obj_type_friendly {methods}}."), call = call)
  }
  nms <- names(methods) %||% rep("", length(methods))
  entries <- lapply(seq_along(methods), function(n) {
    x <- methods[[n]]
    if (inherits(x, "InterpretingMethod")) return(comparison_method_entry(x, n, nms[n], call))
    if (is.numeric(x) && is.array(x)) return(comparison_array_entry(x, n, nms[n], channels_first, call))
    innsight_abort(c("Every entry of {.arg methods} must be a method object or a numeric result array.",
                     "x" = "Entry {n} is {.obj_type_friendly {x}}."), call = call)
  })
  titles <- vapply(entries, function(e) e$title, "")
  titles[titles == image_column_label] <- paste0(image_column_label, " ")
  titles <- make.unique(titles, sep = " ")
  for (n in seq_along(entries)) entries[[n]]$title <- titles[n]
  shape <- vapply(entries, function(e) paste(e$B, e$H, e$W, sep = " x "), "")
  if (length(unique(shape)) > 1) {
    innsight_abort(c("All entries of {.arg methods} must have the same number of instances and image size.",
                     "x" = "Got (instances x height x width): {paste0(titles, ': ', shape, collapse = '; ')}."),
                   call = call)
  }
  entries
}

comparison_method_entry <- function(m, n, name, call) {
  img_inputs <- which(lengths(m$converter$input_dim) == 3)
  if (length(img_inputs) == 0) {
    innsight_abort(c("{.fn plot_comparison} draws image inputs, but entry {n} of {.arg methods} has none.",
                     "i" = "Use {.fn plot} for tabular and signal inputs."), call = call)
  }
  if (is_global_cw(m)) {
    innsight_abort(c("Entry {n} of {.arg methods} is global ConnectionWeights, which has no result per instance.",
                     "i" = "Use the local method ({.code times_input = TRUE})."), call = call)
  }
  j <- img_inputs[1]
  k <- explained_layers(m)[1]
  r <- 1L
  a <- m$result[[r]][[j]]
  if (is.null(a)) {
    innsight_abort("Entry {n} of {.arg methods}: the image input is not connected to the explained output layer.",
                   call = call)
  }
  a <- to_channels_first(a, 3, m$channels_first)
  dimnames(a) <- NULL
  d <- dim(a)
  list(id = n, title = if (nzchar(name)) name else class(m)[1], is_method = TRUE, method = m, input = j, k = k,
       array = a, B = d[1], H = d[3], W = d[4], nodes = m$output_idx[[k]],
       node_labels = as.character(m$output_label[[k]]), preds = m$preds[[k]])
}

comparison_array_entry <- function(a, n, name, channels_first, call) {
  d <- dim(a)
  lab <- NULL
  if (length(d) == 5) {
    lab <- dimnames(a)[[5]]
  } else if (length(d) == 3) {
    a <- array(a, c(d[1], 1, d[2], d[3], 1))
  } else if (length(d) == 4) {
    cf <- comparison_channels_first(d, channels_first, n, call)
    a <- array(a, c(d, 1))
    if (!cf) a <- aperm(a, c(1, 4, 2, 3, 5))
  } else {
    innsight_abort(c("Result arrays in {.arg methods} must have 3 to 5 dimensions (images).",
                     "x" = "Entry {n} has dimensions ({paste(d, collapse = ', ')})."), call = call)
  }
  if (length(d) == 5) {
    cf <- comparison_channels_first(d, channels_first, n, call)
    if (!cf) a <- aperm(a, c(1, 4, 2, 3, 5))
  }
  dimnames(a) <- NULL
  dd <- dim(a)
  list(id = n, title = if (nzchar(name)) name else paste("Method", n), is_method = FALSE, method = NULL,
       input = 1L, k = 1L, array = a, B = dd[1], H = dd[3], W = dd[4], nodes = NULL, node_labels = lab,
       preds = NULL)
}

# The explained output node per row: list(node = model index or NA per row,
# label = label or NA per row, pos = list per entry of positions on the S axis).
comparison_nodes <- function(entries, data_idx, output_idx, call) {
  n_row <- length(data_idx)
  meth <- Filter(function(e) e$is_method, entries)
  ref <- Find(function(e) !is.null(e$preds), meth)
  if (!is.null(output_idx)) {
    if (!is_integerish(output_idx) || !length(output_idx) %in% c(1, n_row) || any(output_idx < 1)) {
      innsight_abort(c("{.arg output_idx} must be one output index or one per row ({n_row}).",
                       "x" = "Got {.obj_type_friendly {output_idx}}."), call = call)
    }
    node <- rep(as.integer(output_idx), length.out = n_row)
  } else if (!is.null(ref)) {
    best <- apply(ref$preds[data_idx, , drop = FALSE], 1, which.max)
    node <- ref$nodes[best]
  } else if (length(meth) > 0) {
    node <- rep(meth[[1]]$nodes[1], n_row)
  } else {
    node <- rep(NA_integer_, n_row)
  }
  label <- rep(NA_character_, n_row)
  if (length(meth) > 0 && !anyNA(node)) {
    names_all <- as.character(meth[[1]]$method$converter$output_names[[meth[[1]]$k]][[1]])
    if (all(node <= length(names_all))) label <- names_all[node]
  }
  pos <- list()
  for (e in entries) {
    S <- dim(e$array)[5]
    if (e$is_method) {
      p <- match(node, e$nodes)
      if (anyNA(p)) {
        innsight_abort(c("The method {.val {e$title}} did not compute the output node{?s} {.val {unique(node[is.na(p)])}}.",
                         "i" = "It computed {.val {e$nodes}}; run it with {.arg output_idx} containing the explained classes."),
                       call = call)
      }
    } else if (S == 1) {
      p <- rep(1L, n_row)
    } else if (!is.null(e$node_labels) && !anyNA(label) && all(label %in% e$node_labels)) {
      p <- match(label, e$node_labels)
    } else if (!is.null(output_idx) && all(node <= S)) {
      p <- node
    } else {
      innsight_abort(c("Cannot tell which of the {S} output nodes of result array {.val {e$title}} to draw.",
                       "i" = "Give {.arg output_idx} (positions on its last axis) or label its last axis with the class names."),
                     call = call)
    }
    pos[[e$id]] <- p
  }
  list(node = node, label = label, pos = pos, ref = ref)
}

comparison_row_labels <- function(entries, data_idx, nodes, row_labels, call) {
  n_row <- length(data_idx)
  if (!is.null(row_labels)) {
    if (!(is.character(row_labels) || is.factor(row_labels)) || length(row_labels) != n_row || anyNA(row_labels)) {
      innsight_abort("{.arg row_labels} must be {n_row} string{?s} (one per row), not {.obj_type_friendly {row_labels}}.",
                     call = call)
    }
    labels <- as.character(row_labels)
  } else {
    labels <- nodes$label
    if (anyNA(labels)) {
      arr <- Find(function(e) !e$is_method && !is.null(e$node_labels), entries)
      if (!is.null(arr)) labels <- arr$node_labels[nodes$pos[[arr$id]]]
    }
    ref <- nodes$ref
    if (!anyNA(labels) && !is.null(ref)) {
      p <- ref$preds[cbind(data_idx, match(nodes$node, ref$nodes))]
      prob <- all(is.finite(p)) && all(p >= 0 & p <= 1)
      val <- if (prob) sprintf("%.2f%%", 100 * p) else format(signif(p, 4), trim = TRUE)
      labels <- paste0(labels, " (", val, ")")
    }
    labels[is.na(labels)] <- paste0("data_", data_idx[is.na(labels)])
  }
  make.unique(labels, sep = " ")
}

# Divide the heatmaps by their largest absolute value: per panel, row, column or
# overall. `values`: list (method) of lists (row) of matrices.
normalise_comparison <- function(values, how) {
  mx <- vapply(values, function(v) vapply(v, function(m) max(abs(m), na.rm = TRUE), numeric(1)),
               numeric(length(values[[1]])))
  mx <- matrix(mx, ncol = length(values)) # rows x methods
  den <- switch(how,
    panel = mx,
    row = matrix(apply(mx, 1, max), nrow(mx), ncol(mx)),
    column = matrix(apply(mx, 2, max), nrow(mx), ncol(mx), byrow = TRUE),
    all = matrix(max(mx), nrow(mx), ncol(mx))
  )
  for (m in seq_along(values)) for (i in seq_along(values[[m]])) {
    d <- den[i, m]
    values[[m]][[i]] <- if (is.finite(d) && d > 0) values[[m]][[i]] / d else values[[m]][[i]] * 0
  }
  values
}

# Whether a result array with dims `d` (batch first, then three image axes) has its
# channels first: as given, or guessed from which axis has 1 or 3 entries.
comparison_channels_first <- function(d, channels_first, n, call) {
  if (!is.null(channels_first)) return(channels_first)
  first <- d[2] %in% c(1, 3)
  last <- d[4] %in% c(1, 3)
  if (first == last) {
    innsight_abort(c("Cannot tell where the channels of entry {n} of {.arg methods} are (dimensions {paste(d, collapse = ' x ')}).",
                     "i" = "Set {.arg channels_first}."), call = call)
  }
  first
}
