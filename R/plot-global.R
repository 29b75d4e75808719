#' Plot summaries of a method's result over many instances
#'
#' @description
#' `plot_global(x, ...)` (or `x$plot_global(...)`) summarises the attributions of
#' many instances:
#' * **tabular inputs and 1D signals**: a boxplot per feature (or signal
#'   position) over the instances `data_idx`, optionally with the values of one
#'   instance (`ref_data_idx`) drawn as red lines;
#' * **images**: a heatmap of the pixel-wise median over `data_idx`, divided by
#'   its largest absolute value (the colour scale is centred on zero).
#'
#' The columns are the output nodes (and input layers). `boxplot(x, ...)` does the
#' same, but warns for image inputs (which get no boxplots). Neither changes the
#' method object.
#'
#' The plotly version (`as_plotly = TRUE`) adds a menu to switch between boxes
#' and violins, a menu to show the values of single instances (`ref_data_idx`
#' and the first `individual_max` of `individual_data_idx`) and, for images, a
#' slider over the quantiles (minimum, 12.5%, ..., median, ..., maximum).
#'
#' Global [`ConnectionWeights`] (one result, no instances) cannot be summarised:
#' that is an error.
#'
#' @param x A method object (e.g. from [run_grad()]).
#' @param output_idx,output_label The output nodes, as for
#'   [plot()][innsight_plot]. Default: the first computed node.
#' @param data_idx (`"all"` or `integer`)\cr The instances summarised. Default
#'   `"all"`.
#' @param ref_data_idx (`integer(1)` or `NULL`)\cr One instance whose values are
#'   drawn over the boxplots (tabular and 1D inputs); it may lie outside
#'   `data_idx`. Default `NULL` (none).
#' @param aggr_channels (`character(1)` or `function`)\cr How the channels of
#'   signals and images are combined, as for [plot()][innsight_plot]. Default
#'   `"sum"`.
#' @param preprocess_FUN (`function`)\cr Applied to the values before the
#'   summary, e.g. [abs()] (default) for the magnitude or [identity()] to keep the
#'   sign. It gets the whole result array and must return an array of the same
#'   size (it is vectorised, like `abs`).
#' @param as_plotly (`logical(1)`)\cr Return an [`innsight_plotly`] object
#'   (needs \pkg{plotly}). Default `FALSE`.
#' @param individual_data_idx (`integer` or `NULL`)\cr The instances offered in
#'   the plotly menu of single instances. Default (`NULL`): all.
#' @param individual_max (`integer(1)`)\cr At most this many of
#'   `individual_data_idx` are offered (capped at the number of instances).
#'   Default `20`.
#' @param ... Unused; other arguments are an error.
#' @return An [`innsight_ggplot2`] or [`innsight_plotly`] object.
#' @examples
#' set.seed(3)
#' model <- list(input_dim = 4, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(24), 6, 4), bias = rnorm(6),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(12), 2, 6), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' dl <- run_deeplift(conv, matrix(rnorm(200), 50, 4), verbose = FALSE)
#' plot_global(dl)
#' boxplot(dl, output_idx = 1:2, ref_data_idx = 3, preprocess_FUN = identity)
#' plot_global(dl, data_idx = 1:25)
#'
#' # images: the median heatmap
#' cnn <- list(input_dim = c(1, 10, 10), input_nodes = 1, output_nodes = 3, layers = list(
#'   list(type = "Conv2D", weight = array(rnorm(18), c(2, 1, 3, 3)), bias = rnorm(2),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Flatten", input_layers = 1, output_layers = 3),
#'   list(type = "Dense", weight = matrix(rnorm(128, sd = 0.1), 1, 128), bias = 0,
#'        activation_name = "sigmoid", input_layers = 2, output_layers = -1)))
#' grad <- run_grad(convert(cnn), array(rnorm(2000), c(20, 1, 10, 10)), verbose = FALSE)
#' plot_global(grad)
#'
#' if (requireNamespace("plotly", quietly = TRUE)) {
#'   plot_global(dl, as_plotly = TRUE, ref_data_idx = 1)
#' }
#' @export
plot_global <- function(x, ...) {
  check_method_object(x)
  UseMethod("plot_global")
}

#' @rdname plot_global
#' @export
plot_global.InterpretingMethod <- function(x, output_idx = NULL, output_label = NULL, data_idx = "all",
                                           ref_data_idx = NULL, aggr_channels = "sum", preprocess_FUN = abs,
                                           as_plotly = FALSE, individual_data_idx = NULL, individual_max = 20,
                                           ...) {
  check_no_dots(...)
  x$plot_global(output_idx = output_idx, output_label = output_label, data_idx = data_idx,
                ref_data_idx = ref_data_idx, aggr_channels = aggr_channels, preprocess_FUN = preprocess_FUN,
                as_plotly = as_plotly, individual_data_idx = individual_data_idx, individual_max = individual_max)
}

#' @rdname plot_global
#' @importFrom graphics boxplot
#' @export
boxplot.InterpretingMethod <- function(x, output_idx = NULL, output_label = NULL, data_idx = "all",
                                       ref_data_idx = NULL, aggr_channels = "sum", preprocess_FUN = abs,
                                       as_plotly = FALSE, individual_data_idx = NULL, individual_max = 20, ...) {
  check_no_dots(...)
  x$boxplot(output_idx = output_idx, output_label = output_label, data_idx = data_idx,
            ref_data_idx = ref_data_idx, aggr_channels = aggr_channels, preprocess_FUN = preprocess_FUN,
            as_plotly = as_plotly, individual_data_idx = individual_data_idx, individual_max = individual_max)
}

check_no_dots <- function(..., call = parent.frame()) {
  if (...length() > 0) {
    nms <- names(list(...)) %||% rep("", ...length())
    innsight_abort("Unknown argument{?s}: {.val {ifelse(nms == '', '<unnamed>', nms)}}.", call = call)
  }
}

warn_boxplot_images <- function(m) {
  if (any(lengths(m$converter$input_dim) == 3)) {
    innsight_warn(c("Boxplots are not drawn for image inputs: they get the median heatmap.",
                    "i" = "Use {.fn plot_global} for images."))
  }
}

# The body of InterpretingMethod$plot_global().
plot_global_method <- function(m, output_idx = NULL, output_label = NULL, data_idx = "all", ref_data_idx = NULL,
                               aggr_channels = "sum", preprocess_FUN = abs, as_plotly = FALSE,
                               individual_data_idx = NULL, individual_max = 20, call = parent.frame()) {
  if (is_global_cw(m)) {
    innsight_abort(c("Global ConnectionWeights has a single result, which cannot be summarised over instances.",
                     "i" = "Only the local method ({.code times_input = TRUE}) has one result per instance; use {.fn plot} here."),
                   call = call)
  }
  if (!is.null(m$result_summary)) {
    return(plot_global_summary(m, output_idx, output_label, data_idx, ref_data_idx, aggr_channels, preprocess_FUN,
                               as_plotly, individual_data_idx, call))
  }
  B <- result_batch_size(m)
  if (identical(data_idx, "all")) {
    data_idx <- seq_len(B)
  } else {
    if (is.character(data_idx)) {
      innsight_abort("{.arg data_idx} must be {.val all} or whole numbers between 1 and {B}, not {.val {data_idx}}.",
                     call = call)
    }
    data_idx <- check_index(data_idx, B, "data_idx", call = call)
  }
  if (!is.null(ref_data_idx)) ref_data_idx <- check_single_index(ref_data_idx, B, "ref_data_idx", call = call)
  aggr <- check_aggr_channels(aggr_channels, call = call)
  check_function(preprocess_FUN, "preprocess_FUN", call = call)
  check_flag(as_plotly, call = call)
  individual_data_idx <- if (is.null(individual_data_idx)) seq_len(B) else
    check_index(individual_data_idx, B, "individual_data_idx", call = call)
  individual_max <- min(check_count(individual_max, "individual_max", call = call), B)
  selection <- plot_output_selection(m, output_idx, output_label, call = call)
  if (as_plotly) require_suggested("plotly", "{.code as_plotly = TRUE}", call = call)

  individual <- unique(c(ref_data_idx, if (as_plotly) individual_data_idx[seq_len(min(individual_max, length(individual_data_idx)))]))
  rows <- sort(unique(c(data_idx, individual)))
  cells <- global_cells(m, rows, data_idx, individual, selection, aggr, preprocess_FUN,
                        probs = if (as_plotly) seq(0, 1, by = 0.125) else 0.5, call = call)
  n_in <- length(m$converter$input_dim)
  multiplot <- n_in > 1 || sum(!vapply(selection, is.null, logical(1))) > 1
  opts <- list(value_label = method_value_label(m), ref_data_idx = ref_data_idx, individual = individual)
  if (as_plotly) return(plotly_global_plot(cells, multiplot, opts))
  gg_global_plot(cells, multiplot, opts)
}

# Cells as in plot_cells(), with the summary data: for tabular and 1D inputs the
# long data frame of the instances `rows` with the flags `boxplot_data` (in
# data_idx) and `individual_data`; for images the pixel-wise quantiles `probs`
# over data_idx (columns q_1, q_2, ...; `value` is the median when included).
global_cells <- function(m, rows, data_idx, individual, selection, aggr, FUN, probs, call) {
  map_cells(m, selection, rows, function(a, cell) {
    if (is.null(a)) return(list(df = NULL, probs = probs))
    pa <- tryCatch(FUN(a), error = function(e) {
      innsight_abort(c("{.arg preprocess_FUN} failed on the result array.", "x" = conditionMessage(e)), call = call)
    })
    if (!is.numeric(pa) || length(pa) != length(a)) {
      innsight_abort("{.arg preprocess_FUN} must return numbers, one for every value of the result array.",
                     call = call)
    }
    a <- aggregate_channels(array(as.numeric(pa), dim(a)), aggr, call)
    names_j <- m$converter$input_names[[cell$j]]
    if (cell$rank < 3) {
      df <- plot_block_df(a, cell$rank, names_j, rows, cell$node_labels, cell$j, cell$k)
      idx <- rows[as.integer(df$data)]
      df$boxplot_data <- idx %in% data_idx
      df$individual_data <- idx %in% individual
    } else {
      df <- image_quantile_df(a, rows %in% data_idx, probs, names_j, cell$node_labels, cell$j, cell$k)
    }
    list(df = df, probs = probs)
  })
}

# Pixel-wise quantiles of an image block (B', H, W, S) over the rows `use`:
# a data frame (x, y, output_node, q_1..q_n, value = median or first quantile,
# fill = value / max |value| per output node).
image_quantile_df <- function(a, use, probs, names, node_labels, j, k) {
  d <- dim(a)
  sub <- a[use, , , , drop = FALSE]
  qs <- column_quantiles(matrix(sub, sum(use)), probs)
  first <- array(sub[1, , , , drop = FALSE], c(1, d[-1]))
  df <- plot_block_df(first, 3, names, 0, node_labels, j, k)
  df$data <- NULL
  for (q in seq_along(probs)) df[[paste0("q_", q)]] <- qs[, q]
  med <- match(0.5, probs)
  df$value <- if (is.na(med)) qs[, 1] else qs[, med]
  df$fill <- normalise_groups(df$value, df$output_node)
  df
}

# ---- ggplot2 ---------------------------------------------------------------------

gg_global_panel <- function(cell, col_var, opts) {
  df <- cell$df
  facet <- ggplot2::facet_grid(cols = ggplot2::vars(.data[[col_var]]))
  if (cell$rank == 3) {
    return(ggplot2::ggplot(df, ggplot2::aes(x = .data$x, y = .data$y, fill = .data$fill)) +
             ggplot2::geom_raster() +
             diverging_fill_scale(df$fill, paste0(opts$value_label, "\n (median)")) +
             ggplot2::scale_y_reverse(expand = c(0, 0)) +
             ggplot2::scale_x_continuous(expand = c(0, 0)) +
             ggplot2::coord_fixed() +
             facet +
             ggplot2::labs(x = "Image Width", y = "Image Height"))
  }
  box <- df[df$boxplot_data, , drop = FALSE]
  x_var <- if (cell$rank == 1) "feature" else "x"
  width <- if (cell$rank == 1) 0.75 else 0.8
  boxes <- if (is.null(box$lower)) {
    ggplot2::geom_boxplot(fill = "grey80", outlier.size = 0.6, width = width)
  } else {
    # a summarised result: the box statistics are given
    ggplot2::geom_boxplot(ggplot2::aes(ymin = .data$ymin, lower = .data$lower, middle = .data$middle,
                                       upper = .data$upper, ymax = .data$ymax),
                          stat = "identity", fill = "grey80", width = width)
  }
  p <- ggplot2::ggplot(box, ggplot2::aes(x = .data[[x_var]], y = .data$value, group = .data[[x_var]])) +
    boxes +
    facet +
    ggplot2::labs(x = if (cell$rank == 1) "Feature" else "Signal Length", y = opts$value_label)
  if (!is.null(opts$ref_data_idx)) {
    ref <- df[df$data == paste0("data_", opts$ref_data_idx), , drop = FALSE]
    p <- p + ggplot2::geom_errorbar(data = ref, ggplot2::aes(x = .data[[x_var]], ymin = .data$value, ymax = .data$value),
                                    inherit.aes = FALSE, colour = "red", width = 0.75, linewidth = 0.8)
  }
  p
}

gg_global_plot <- function(cells, multiplot, opts) {
  if (!multiplot) {
    p <- gg_global_panel(cells[[1]], "output_node", opts)
    return(new_innsight_ggplot2(matrix(list(p), 1, 1), multiplot = FALSE, boxplot = TRUE))
  }
  cols <- list()
  for (cell_k in split(cells, vapply(cells, function(cell) cell$k, numeric(1)))) {
    for (s in seq_along(cell_k[[1]]$nodes)) {
      for (cell in cell_k) cols[[length(cols) + 1]] <- list(cell = cell, s = s)
    }
  }
  grobs <- matrix(list(), 1, length(cols))
  for (c in seq_along(cols)) {
    cell <- cols[[c]]$cell
    node <- cell$node_labels[cols[[c]]$s]
    if (is.null(cell$df)) {
      grobs[[1, c]] <- gg_unconnected("summary", paste0("Input_", cell$j)) + ggplot2::facet_null() +
        ggplot2::facet_grid(cols = ggplot2::vars(.data$model_input))
      next
    }
    cell$df <- cell$df[cell$df$output_node == node, , drop = FALSE]
    grobs[[1, c]] <- gg_global_panel(cell, "model_input", opts)
  }
  strip_labels <- vapply(cols, function(x) paste0("Output_", x$cell$k, ": ", x$cell$node_labels[x$s]), "")
  new_innsight_ggplot2(grobs, multiplot = TRUE, strip_labels = strip_labels, boxplot = TRUE)
}
