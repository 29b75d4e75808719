# Views of a method's result: arrays with dimnames, and the long data frame.

# Explained output layers, in the order of `result`.
explained_layers <- function(m) which(!vapply(m$output_idx, is.null, logical(1)))

# Axis names of input layer j in the caller's layout.
input_axis_names <- function(m, j) {
  nm <- lapply(m$converter$input_names[[j]], as.character)
  if (!m$channels_first && length(nm) > 1) nm <- c(nm[-1], nm[1])
  nm
}

result_arrays <- function(m) {
  layers <- explained_layers(m)
  n_in <- length(m$converter$input_dim)
  per_out <- lapply(seq_along(m$result), function(r) {
    k <- layers[r]
    leaves <- lapply(seq_len(n_in), function(j) {
      a <- m$result[[r]][[j]]
      if (is.null(a)) return(NaN)
      dimnames(a) <- c(list(NULL), input_axis_names(m, j), list(as.character(m$output_label[[k]])))
      a
    })
    if (n_in == 1) leaves[[1]] else stats::setNames(leaves, paste0("Input_", seq_len(n_in)))
  })
  if (length(per_out) == 1) per_out[[1]] else stats::setNames(per_out, paste0("Output_", layers))
}

# Number of instances in the result: from the result arrays (global
# ConnectionWeights has one row and no data), else from the data.
result_batch_size <- function(m) {
  for (per_out in m$result) for (a in per_out) if (!is.null(a)) return(dim(a)[1])
  if (length(m$data) > 0) dim(m$data[[1]])[1] else 1L
}

# Move the channel axis of a caller-layout array (B, ..., C, S) to position 2.
to_channels_first <- function(a, rank, channels_first) {
  if (channels_first || rank < 2) return(a)
  aperm(a, c(1, rank + 1, seq(2, rank), rank + 2))
}

result_block <- function(m, r, k, j) {
  shape <- m$converter$input_dim[[j]]
  rank <- length(shape)
  names <- m$converter$input_names[[j]]
  B <- result_batch_size(m)
  a <- m$result[[r]][[j]]
  S <- length(m$output_idx[[k]])
  n_feat <- prod(shape)
  n <- B * n_feat * S
  value <- if (is.null(a)) rep(NaN, n) else as.vector(to_channels_first(a, rank, m$channels_first))
  # column-major order of (B, C, H, W, S): data fastest, output node slowest
  axis_col <- function(a_idx) {
    before <- B * prod(shape[seq_len(a_idx - 1)])
    rep(rep(names[[a_idx]], each = before), times = n / (before * shape[a_idx]))
  }
  b_idx <- rep(seq_len(B), times = n_feat * S)
  s_idx <- rep(seq_len(S), each = B * n_feat)
  # a disconnected leaf (input j does not reach output k) has no sum, prediction or goal
  pick <- function(mat) if (is.null(mat) || is.null(a)) rep(NA_real_, n) else as.vector(mat)[b_idx + B * (s_idx - 1)]
  dsum <- if (is.null(a)) NULL else {
    a3 <- array(value, c(B, n_feat, S))
    apply(a3, c(1, 3), sum)
  }
  na_factor <- factor(rep(NA_character_, n))
  out_names <- m$converter$output_names[[k]][[1]]
  data.frame(
    data = factor(paste0("data_", b_idx), levels = paste0("data_", seq_len(B))),
    model_input = rep(paste0("Input_", j), n),
    model_output = factor(rep(paste0("Output_", k), n), levels = paste0("Output_", seq_along(m$output_idx))),
    feature = if (rank == 1) axis_col(1) else axis_col(2),
    feature_2 = if (rank == 3) axis_col(3) else na_factor,
    channel = if (rank >= 2) axis_col(1) else na_factor,
    output_node = factor(as.character(out_names[m$output_idx[[k]]])[s_idx], levels = levels(out_names)),
    value = value,
    pred = pick(m$preds[[k]]),
    decomp_sum = pick(dsum),
    decomp_goal = pick(m$decomp_goal[[k]]),
    input_dimension = rep(as.integer(rank), n),
    stringsAsFactors = FALSE
  )
}

result_data_frame <- function(m) {
  layers <- explained_layers(m)
  blocks <- list()
  for (r in seq_along(layers)) {
    for (j in seq_along(m$converter$input_dim)) {
      blocks[[length(blocks) + 1]] <- result_block(m, r, layers[r], j)
    }
  }
  df <- do.call(rbind, blocks)
  rownames(df) <- NULL
  if (all(df$input_dimension <= 2)) df$feature_2 <- NULL
  if (all(df$input_dimension <= 1)) df$channel <- NULL
  df
}

method_result <- function(m, type, call) {
  if (identical(type, "torch_tensor") || identical(type, "torch.tensor")) {
    innsight_abort(c("{.code type = \"{type}\"} is not available: this package computes without torch.",
                     "i" = "Use {.code type = \"array\"} or {.code type = \"data.frame\"}."), call = call)
  }
  check_choice(type, c("array", "data.frame"), "type", call = call)
  require_full_result(m, "get_result()", call)
  if (type == "array") result_arrays(m) else result_data_frame(m)
}

# A classed error for methods run by explain_dataset(keep = "summary").
require_full_result <- function(m, what, call) {
  if (is.null(m$result) && !is.null(m$result_summary)) {
    files <- !is.null(m$chunk_files)
    innsight_abort(c("{.code {what}} needs the individual attributions, but this method kept only their summary.",
                     "i" = "Use {.fn summary} or {.fn plot_global}, or run {.fn explain_dataset} with {.code keep = \"result\"}.",
                     if (files) c("i" = "The results of every chunk are in the files of the field {.field chunk_files}.")),
                   kind = "summary", call = call)
  }
  invisible(m)
}

`%||%` <- function(a, b) if (is.null(a)) b else a
