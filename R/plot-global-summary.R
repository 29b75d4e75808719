# plot_global() of a method run by explain_dataset(keep = "summary"): the same
# panels as plot_global() (median heatmaps of images, boxplots of tabular and
# signal inputs), drawn from the merged summary instead of the instances.
# Boxplots show quartiles and whiskers to the most extreme value within 1.5 IQR
# (as far as the summary knows it: min and max clamp them); no outlier points.

plot_global_summary <- function(m, output_idx, output_label, data_idx, ref_data_idx, aggr_channels,
                                preprocess_FUN, as_plotly, individual_data_idx, call) {
  needs_rows <- c(data_idx = !identical(data_idx, "all"), ref_data_idx = !is.null(ref_data_idx),
                  individual_data_idx = !is.null(individual_data_idx), as_plotly = isTRUE(as_plotly))
  if (any(needs_rows)) {
    arg <- names(needs_rows)[needs_rows][1]
    innsight_abort(c("{.arg {arg}} needs the individual attributions, but this method kept only their summary.",
                     "i" = "Run {.fn explain_dataset} with {.code keep = \"result\"} (or read its chunk files) for this plot."),
                   kind = "summary", call = call)
  }
  absolute <- summary_preprocess(preprocess_FUN, call)
  aggr <- check_aggr_channels(aggr_channels, call = call)
  selection <- plot_output_selection(m, output_idx, output_label, call = call)
  layers <- explained_layers(m)
  cells <- list()
  for (k in seq_along(selection)) {
    nodes <- selection[[k]]
    if (is.null(nodes)) next
    node_labels <- as.character(m$converter$output_names[[k]][[1]])[nodes]
    for (j in seq_along(m$converter$input_dim)) {
      cell <- list(k = k, j = j, nodes = nodes, node_labels = node_labels, s_pos = match(nodes, m$output_idx[[k]]),
                   rank = length(m$converter$input_dim[[j]]))
      sk <- m$result_summary[[match(k, layers)]][[j]]
      cell$df <- if (is.null(sk)) NULL else summary_cell_df(m, sk, cell, absolute, aggr, call)
      cells[[length(cells) + 1]] <- cell
    }
  }
  multiplot <- length(m$converter$input_dim) > 1 || sum(!vapply(selection, is.null, logical(1))) > 1
  gg_global_plot(cells, multiplot, list(value_label = method_value_label(m), ref_data_idx = NULL, individual = NULL))
}

# TRUE for abs, FALSE for identity: the two preprocessings a sketch answers.
summary_preprocess <- function(FUN, call) {
  if (identical(FUN, abs)) return(TRUE)
  if (identical(FUN, identity) || identical(FUN, base::identity)) return(FALSE)
  innsight_abort(c("A summarised result is plotted with {.code preprocess_FUN = abs} or {.code identity} only.",
                   "i" = "Run {.fn explain_dataset} with {.code keep = \"result\"} for another {.arg preprocess_FUN}."),
                 kind = "summary", call = call)
}

# The plot data of one (output layer, input layer) cell from its sketches.
summary_cell_df <- function(m, sk, cell, absolute, aggr, call) {
  shape <- m$converter$input_dim[[cell$j]]
  channels <- if (cell$rank >= 2) shape[1] else 1L
  spatial <- if (cell$rank == 1) shape else shape[-1]
  if (channels > 1) {
    if (!identical(aggr, "sum")) {
      innsight_abort(c("A summarised result with several channels is plotted with {.code aggr_channels = \"sum\"} only.",
                       "i" = "Run {.fn explain_dataset} with {.code keep = \"result\"} for another aggregation."),
                     kind = "summary", call = call)
    }
    sketch <- if (absolute) sk$abs_sum else sk$sum
    fold <- FALSE
  } else {
    if (is.function(aggr)) {
      innsight_abort("A summarised result is plotted with {.code aggr_channels} {.val sum}, {.val mean} or {.val norm} only.",
                     kind = "summary", call = call)
    }
    sketch <- sk$raw
    fold <- absolute || identical(aggr, "norm") # one channel: its norm is |x|
  }
  probs <- if (cell$rank == 3) 0.5 else c(0, 0.25, 0.5, 0.75, 1)
  qs <- matrix(rust_call(sketch_quantiles(sketch, probs, fold)), ncol = length(probs))
  n_feat <- prod(spatial)
  rows <- as.vector(outer(seq_len(n_feat), (cell$s_pos - 1) * n_feat, "+"))
  qs <- qs[rows, , drop = FALSE]
  names_j <- m$converter$input_names[[cell$j]]
  df <- plot_block_df(array(0, c(1, spatial, length(cell$nodes))), cell$rank, names_j, 0, cell$node_labels,
                      cell$j, cell$k)
  df$data <- NULL
  if (cell$rank == 3) {
    df$q_1 <- qs[, 1]
    df$value <- qs[, 1]
    df$fill <- normalise_groups(df$value, df$output_node)
    return(df)
  }
  iqr <- qs[, 4] - qs[, 2]
  df$ymin <- pmax(qs[, 1], qs[, 2] - 1.5 * iqr)
  df$lower <- qs[, 2]
  df$middle <- qs[, 3]
  df$upper <- qs[, 4]
  df$ymax <- pmin(qs[, 5], qs[, 4] + 1.5 * iqr)
  df$value <- qs[, 3]
  df$boxplot_data <- TRUE
  df
}
