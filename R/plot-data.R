# Data preparation shared by plot(), plot_global()/boxplot() and plot_comparison():
# argument checks, the selection of instances and output nodes, channel
# aggregation, normalisation and long data frames. Everything here works on whole
# arrays (no R loop over features or pixels).

# ---- argument checks ------------------------------------------------------------

# Distinct whole numbers in [1, n].
check_index <- function(x, n, arg, call = parent.frame()) {
  if (!is_integerish(x) || length(x) == 0 || anyNA(x) || any(x < 1) || any(x > n) || anyDuplicated(x)) {
    innsight_abort(c("{.arg {arg}} must contain distinct whole numbers between 1 and {n}.",
                     "x" = "Got {.obj_type_friendly {x}}{if (is.numeric(x) && length(x) > 0 && length(x) <= 20) paste0(': ', paste(x, collapse = ', ')) else ''}."),
                   call = call)
  }
  as.integer(x)
}

check_single_index <- function(x, n, arg, call = parent.frame()) {
  if (!is_integerish(x) || length(x) != 1 || x < 1 || x > n) {
    innsight_abort("{.arg {arg}} must be a single whole number between 1 and {n}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  as.integer(x)
}

check_function <- function(x, arg, call = parent.frame()) {
  if (!is.function(x)) {
    innsight_abort("{.arg {arg}} must be a function, not {.obj_type_friendly {x}}.", call = call)
  }
  invisible(x)
}

check_aggr_channels <- function(x, call = parent.frame()) {
  if (is.function(x)) return(x)
  if (!is.character(x) || length(x) != 1 || is.na(x) || !x %in% c("sum", "mean", "norm")) {
    innsight_abort(c("{.arg aggr_channels} must be {.val sum}, {.val mean}, {.val norm} or a function.",
                     "x" = "Got {.obj_type_friendly {x}}."), call = call)
  }
  x
}

check_alpha <- function(x, arg, call = parent.frame()) {
  if (!is.numeric(x) || length(x) != 1 || !is.finite(x) || x < 0 || x > 1) {
    innsight_abort("{.arg {arg}} must be a single number between 0 and 1, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  x
}

check_colours <- function(x, arg, call = parent.frame()) {
  ok <- is.character(x) && length(x) == 3 && !anyNA(x) &&
    !inherits(try(grDevices::col2rgb(x), silent = TRUE), "try-error")
  if (!ok) {
    innsight_abort(c("{.arg {arg}} must be three colours: for negative values, zero and positive values.",
                     "x" = "Got {.obj_type_friendly {x}}."), call = call)
  }
  x
}

check_string <- function(x, arg, allow_null = FALSE, call = parent.frame()) {
  if (allow_null && is.null(x)) return(x)
  if (!is.character(x) || length(x) != 1 || is.na(x)) {
    innsight_abort("{.arg {arg}} must be a single string{if (allow_null) ' or NULL' else ''}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  x
}

# Packages in Suggests: a classed error when missing.
require_suggested <- function(pkg, what, call = parent.frame()) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    innsight_abort(c("{what} needs the package {.pkg {pkg}}.",
                     "i" = "Install it with {.code install.packages(\"{pkg}\")}."),
                   kind = "dependency", call = call)
  }
  invisible(TRUE)
}

# ---- what the plots show --------------------------------------------------------

# Label of the values: Relevance, Gradient, Contribution, Relative Importance.
method_value_label <- function(m) {
  if (inherits(m, "GradientBased") && isTRUE(m$times_input)) return("Relevance")
  m$.__enclos_env__$private$value_name %||% "Relevance"
}

is_global_cw <- function(m) inherits(m, "ConnectionWeights") && !isTRUE(m$times_input)

# Output nodes to plot: a list (per output layer) of model output indices, a subset
# of the computed ones. A vector selects in output layer 1; a list covers several.
# Default: the first computed node of the first explained output layer.
plot_output_selection <- function(m, output_idx, output_label, call = parent.frame()) {
  computed <- m$output_idx
  K <- length(computed)
  fmt_nodes <- function(k) {
    if (is.null(computed[[k]])) return("none")
    paste0(computed[[k]], " (", as.character(m$output_label[[k]]), ")", collapse = ", ")
  }
  if (!is.null(output_idx) && !is.null(output_label)) {
    innsight_warn(c("Both {.arg output_idx} and {.arg output_label} were passed.",
                    "i" = "{.arg output_label} is ignored; {.arg output_idx} is used."))
    output_label <- NULL
  }
  if (is.null(output_idx) && is.null(output_label)) {
    k <- explained_layers(m)[1]
    sel <- rep(list(NULL), K)
    sel[[k]] <- computed[[k]][1]
    return(sel)
  }
  arg <- if (is.null(output_idx)) "output_label" else "output_idx"
  x <- if (is.null(output_idx)) output_label else output_idx
  if (!is.list(x)) x <- list(x)
  if (length(x) > K) {
    innsight_abort("{.arg {arg}} has {length(x)} entries, but the model has {K} output layer{?s}.", call = call)
  }
  x <- c(x, rep(list(NULL), K - length(x)))
  sel <- lapply(seq_len(K), function(k) {
    v <- x[[k]]
    if (is.null(v)) return(NULL)
    if (arg == "output_idx") {
      if (!is_integerish(v) || length(v) == 0 || anyDuplicated(v) || !all(v %in% computed[[k]])) {
        innsight_abort(c("{.arg output_idx} for output layer {k} must select distinct nodes the method computed.",
                         "x" = "Got {.obj_type_friendly {v}}{if (is.numeric(v)) paste0(': ', paste(v, collapse = ', ')) else ''}.",
                         "i" = "Computed nodes of output layer {k}: {fmt_nodes(k)}."), call = call)
      }
      return(as.integer(v))
    }
    if (!(is.character(v) || is.factor(v)) || length(v) == 0 || anyDuplicated(as.character(v))) {
      innsight_abort(c("{.arg output_label} must contain distinct labels (character or factor).",
                       "x" = "Got {.obj_type_friendly {v}}."), call = call)
    }
    pos <- match(as.character(v), as.character(m$output_label[[k]]))
    if (anyNA(pos)) {
      innsight_abort(c("{.arg output_label} for output layer {k} must name nodes the method computed.",
                       "x" = "Unknown or not computed: {.val {as.character(v)[is.na(pos)]}}.",
                       "i" = "Computed nodes of output layer {k}: {fmt_nodes(k)}."), call = call)
    }
    computed[[k]][pos]
  })
  if (all(vapply(sel, is.null, logical(1)))) {
    innsight_abort("{.arg {arg}} selects no output node.", call = call)
  }
  sel
}

# data_idx of plot(): checked against the batch size. Global ConnectionWeights has
# a single row: any other value is replaced by 1, with a message.
plot_data_idx <- function(m, data_idx, call = parent.frame()) {
  if (is_global_cw(m)) {
    if (!identical(as.numeric(data_idx), 1)) {
      cli::cli_inform(c("i" = "Global ConnectionWeights has a single result: {.arg data_idx} is set to 1."),
                      class = "innsight_message")
    }
    return(1L)
  }
  check_index(data_idx, result_batch_size(m), "data_idx", call = call)
}

# ---- arrays -----------------------------------------------------------------

# Result of (explained layer r, input j), channels first, restricted to the
# instances `data_idx` and the output positions `s_pos`; NULL if not connected.
plot_block_array <- function(m, r, j, data_idx, s_pos) {
  a <- m$result[[r]][[j]]
  if (is.null(a)) return(NULL)
  rank <- length(m$converter$input_dim[[j]])
  a <- to_channels_first(a, rank, m$channels_first)
  args <- c(list(a, data_idx), rep(list(TRUE), rank), list(s_pos))
  out <- do.call(`[`, c(args, list(drop = FALSE)))
  dimnames(out) <- NULL
  out
}

# Aggregate the channel axis (axis 2) of a channels-first array (B, C, ..., S):
# returns (B, ..., S). The built-in choices are vectorised; a function is applied
# to the channel vector of every position (through apply()).
aggregate_channels <- function(a, aggr, call = parent.frame()) {
  d <- dim(a)
  if (length(d) < 4) return(a) # tabular: (B, F, S), nothing to aggregate
  C <- d[2]
  keep <- d[-2]
  if (is.character(aggr)) {
    mat <- matrix(aperm(a, c(seq_along(d)[-2], 2)), ncol = C)
    v <- switch(aggr, sum = rowSums(mat), mean = rowMeans(mat), norm = sqrt(rowSums(mat^2)))
    return(array(v, keep))
  }
  v <- tryCatch(apply(a, seq_along(d)[-2], aggr), error = function(e) {
    innsight_abort(c("The function {.arg aggr_channels} failed.", "x" = conditionMessage(e)), call = call)
  })
  if (!is.numeric(v) || length(v) != prod(keep)) {
    innsight_abort("The function {.arg aggr_channels} must return a single number for a vector of channel values.",
                   call = call)
  }
  array(as.numeric(v), keep)
}

# Divide `value` by the largest absolute value within each group (a factor or a
# list of factors); groups that are all zero stay zero.
normalise_groups <- function(value, group) {
  g <- if (is.list(group)) interaction(group, drop = TRUE, lex.order = TRUE) else factor(group)
  mx <- vapply(split(abs(value), g), function(v) suppressWarnings(max(v, na.rm = TRUE)), numeric(1))
  den <- mx[as.integer(g)]
  out <- value / den
  out[!is.finite(den) | den == 0] <- 0
  out
}

# Type-7 quantiles of the columns of a matrix (rows = instances), without a loop
# over columns: every column is sorted by one order() call.
column_quantiles <- function(mat, probs) {
  n <- nrow(mat)
  sorted <- matrix(mat[order(col(mat), mat)], n)
  out <- vapply(probs, function(p) {
    h <- (n - 1) * p + 1
    lo <- floor(h)
    hi <- pmin(lo + 1, n)
    sorted[lo, ] + (h - lo) * (sorted[hi, ] - sorted[lo, ])
  }, numeric(ncol(mat)))
  matrix(out, ncol = length(probs))
}

# ---- long data frames -------------------------------------------------------

# One (output layer, input layer) block of plot data. `a` has the shape
# (B', spatial..., S') after channel aggregation (tabular: (B', F, S')).
# Columns: data, model_input, model_output, feature, feature_2, x, y,
# output_node, value.
plot_block_df <- function(a, rank, names, data_idx, node_labels, j, k) {
  d <- dim(a)
  n <- length(a)
  B <- d[1]
  S <- d[length(d)]
  sp <- d[-c(1, length(d))] # spatial shape
  # index of the column-major position along axis `ax` of `a`
  along <- function(ax) rep(rep(seq_len(d[ax]), each = prod(d[seq_len(ax - 1)])), length.out = n)
  b <- along(1)
  s <- along(length(d))
  feat_names <- if (rank == 1) names[[1]] else names[[2]]
  pos1 <- along(2)
  df <- data.frame(
    data = factor(paste0("data_", data_idx)[b], levels = paste0("data_", data_idx)),
    model_input = rep(paste0("Input_", j), n),
    model_output = rep(paste0("Output_", k), n),
    feature = factor(as.character(feat_names)[pos1], levels = as.character(feat_names)),
    stringsAsFactors = FALSE
  )
  if (rank == 3) {
    pos2 <- along(3)
    df$feature_2 <- factor(as.character(names[[3]])[pos2], levels = as.character(names[[3]]))
    df$x <- pos2
    df$y <- pos1
  } else {
    df$x <- pos1
  }
  df$output_node <- factor(node_labels[s], levels = unique(node_labels))
  df$value <- as.vector(a)
  df$input_dimension <- rep(as.integer(rank), n)
  df
}

# Everything plot() needs from a method: a list of cells, one per (explained
# output layer k, selected node s, input layer j), each with its long data frame
# (or NULL when the input is not connected to the output) and the per-instance
# info (prediction, sum, goal).
plot_cells <- function(m, data_idx, selection, aggr, call = parent.frame()) {
  map_cells(m, selection, data_idx, function(a, cell) {
    pick <- function(mat) if (is.null(mat)) NULL else matrix(mat[data_idx, cell$s_pos, drop = FALSE], length(data_idx))
    info <- list(pred = pick(m$preds[[cell$k]]), goal = pick(m$decomp_goal[[cell$k]]))
    if (is.null(a)) return(c(list(df = NULL, sum = NULL), info))
    d <- length(dim(a))
    dsum <- matrix(rowSums(matrix(aperm(a, c(1, d, seq_len(d)[-c(1, d)])), nrow = length(data_idx) * length(cell$s_pos))),
                   length(data_idx))
    df <- plot_block_df(aggregate_channels(a, aggr, call), cell$rank, m$converter$input_names[[cell$j]],
                        data_idx, cell$node_labels, cell$j, cell$k)
    c(list(df = df, sum = dsum), info)
  })
}

# One cell per explained output layer with selected nodes and per input layer:
# `block(a, cell)` gets the result block of the instances `rows` (NULL when the input
# layer is not connected to the output) and the cell's fields (k, j, nodes,
# node_labels, s_pos, rank) and returns the fields to add (data frame, sums, ...).
map_cells <- function(m, selection, rows, block) {
  layers <- explained_layers(m)
  cells <- list()
  for (k in seq_along(selection)) {
    nodes <- selection[[k]]
    if (is.null(nodes)) next
    s_pos <- match(nodes, m$output_idx[[k]])
    node_labels <- as.character(m$converter$output_names[[k]][[1]])[nodes]
    for (j in seq_along(m$converter$input_dim)) {
      cell <- list(k = k, j = j, nodes = nodes, node_labels = node_labels, s_pos = s_pos,
                   rank = length(m$converter$input_dim[[j]]))
      a <- plot_block_array(m, match(k, layers), j, rows, s_pos)
      cells[[length(cells) + 1]] <- c(cell, block(a, cell))
    }
  }
  cells
}

# Info box text per (data, node): "Pred.: ..., Sum: ..., Goal: ..." (4 significant
# digits). Returns a data frame with the facet columns and `label`.
info_box_df <- function(cell, data_idx) {
  if (is.null(cell$df)) return(NULL)
  B <- length(data_idx)
  S <- length(cell$nodes)
  fmt <- function(z) format(signif(z, 4), digits = 4, trim = TRUE)
  lab <- rep("", B * S)
  add <- function(lab, name, mat) {
    if (is.null(mat)) return(lab)
    v <- vapply(as.vector(mat), function(z) fmt(z), character(1))
    ifelse(lab == "", paste0(name, ": ", v), paste0(lab, "\n", name, ": ", v))
  }
  lab <- add(lab, "Pred.", cell$pred)
  lab <- add(lab, "Sum", cell$sum)
  lab <- add(lab, "Goal", cell$goal)
  data.frame(
    data = factor(paste0("data_", data_idx), levels = paste0("data_", data_idx))[rep(seq_len(B), S)],
    output_node = factor(cell$node_labels, levels = unique(cell$node_labels))[rep(seq_len(S), each = B)],
    model_input = paste0("Input_", cell$j),
    label = lab,
    stringsAsFactors = FALSE
  )
}
