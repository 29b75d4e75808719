#' Summary of the attributions over instances
#'
#' One row per input feature (and channel) and explained output node, with the
#' number of instances `n` and the `mean`, mean absolute value `mean_abs`,
#' standard deviation `sd`, `min`, `max` and the quantiles `probs` (columns
#' `q5`, `q25`, ... for `probs = c(0.05, 0.25, ...)`) of the attributions.
#' For a method with its full result the values are exact (type-7 quantiles);
#' for one run by [explain_dataset()] with `keep = "summary"` they come from
#' the merged chunk summaries (see its section "Summary accuracy").
#'
#' @param object An interpretation method object.
#' @param probs (`numeric`)\cr Probabilities of the quantile columns.
#' @param ... Unused.
#' @return A data frame with the columns `model_input`, `model_output`,
#'   `feature`, `feature_2` (images), `channel` (images and signals),
#'   `output_node`, `n`, `mean`, `mean_abs`, `sd`, `min`, `max` and one column per
#'   quantile.
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(6), 2, 3), bias = c(0, 1),
#'        activation_name = "tanh", input_layers = 0, output_layers = -1)))
#' grad <- run_grad(convert(model), matrix(rnorm(300), 100, 3))
#' summary(grad)
#' @export
summary.InterpretingMethod <- function(object, probs = c(0.05, 0.25, 0.5, 0.75, 0.95), ...) {
  call <- environment()
  check_no_dots(..., call = call)
  if (!is.numeric(probs) || length(probs) == 0 || anyNA(probs) || any(probs < 0 | probs > 1)) {
    innsight_abort("{.arg probs} must be numbers between 0 and 1, not {.obj_type_friendly {probs}}.", call = call)
  }
  if (is_global_cw(object)) {
    innsight_abort("Global ConnectionWeights has a single result, which cannot be summarised over instances.",
                   call = call)
  }
  blocks <- summary_blocks(object)
  stats <- lapply(blocks, function(blk) {
    rank <- length(object$converter$input_dim[[blk$j]])
    s <- if (!is.null(blk$sketch)) {
      sketch_stats(blk$sketch, probs)
    } else if (!is.null(blk$leaf)) {
      exact_stats(to_channels_first(blk$leaf, rank, object$channels_first), probs)
    } else {
      empty_stats(nrow(blk$df), probs)
    }
    cbind(blk$df, s)
  })
  df <- do.call(rbind, stats)
  rownames(df) <- NULL
  df
}

# Per (explained output layer r, input layer j): the label columns of every
# feature x output cell, in the cells' column-major order (channels first), with
# the result array `leaf` or the sketch `sketch` (NULL when disconnected).
summary_blocks <- function(m) {
  layers <- explained_layers(m)
  ranks <- lengths(m$converter$input_dim)
  K <- length(m$output_idx)
  labels <- c("model_input", "model_output", "feature", "feature_2", "channel", "output_node")
  out <- list()
  for (r in seq_along(layers)) {
    k <- layers[r]
    for (j in seq_along(ranks)) {
      sketch <- m$result_summary[[r]][[j]]$raw
      leaf <- m$result[[r]][[j]]
      # a batch-1 stand-in gives result_block()'s labels in the cells' order
      one <- list(output_idx = m$output_idx, output_label = m$output_label, converter = m$converter,
                  channels_first = TRUE, preds = rep(list(NULL), K), decomp_goal = rep(list(NULL), K),
                  result = rep(list(rep(list(NULL), length(ranks))), length(layers)))
      if (!is.null(sketch) || !is.null(leaf)) {
        one$result[[r]][[j]] <- array(0, c(1, m$converter$input_dim[[j]], length(m$output_idx[[k]])))
      }
      df <- result_block(one, r, k, j)[labels]
      if (all(ranks <= 2)) df$feature_2 <- NULL
      if (all(ranks <= 1)) df$channel <- NULL
      out[[length(out) + 1]] <- list(r = r, j = j, df = df, leaf = leaf, sketch = sketch)
    }
  }
  out
}

quantile_names <- function(probs) sprintf("q%s", format(100 * probs, trim = TRUE, drop0trailing = TRUE))

# Exact statistics of the columns of a (B, ...) array.
exact_stats <- function(a, probs) {
  mat <- matrix(a, nrow = dim(a)[1])
  n <- nrow(mat)
  mean <- colMeans(mat)
  qs <- column_quantiles(mat, c(0, 1, probs))
  sd <- if (n > 1) sqrt(pmax(0, (colSums(mat^2) - n * mean^2) / (n - 1))) else rep(NA_real_, ncol(mat))
  stats_df(rep(n, ncol(mat)), mean, colMeans(abs(mat)), sd, qs[, 1], qs[, 2], qs[, -(1:2), drop = FALSE], probs)
}

# Statistics from a sketch (rust list, see sketch_block()).
sketch_stats <- function(s, probs) {
  n <- s$count
  mean <- s$sum / n
  sd <- ifelse(n > 1, sqrt(pmax(0, (s$sum_sq - n * mean^2) / (n - 1))), NA_real_)
  qs <- rust_call(sketch_quantiles(s, probs, FALSE))
  stats_df(n, mean, s$sum_abs / n, sd, s$min, s$max, matrix(qs, ncol = length(probs)), probs)
}

empty_stats <- function(n_cells, probs) {
  na <- rep(NA_real_, n_cells)
  stats_df(rep(NA_real_, n_cells), na, na, na, na, na, matrix(NA_real_, n_cells, length(probs)), probs)
}

stats_df <- function(n, mean, mean_abs, sd, min, max, qs, probs) {
  df <- data.frame(n = n, mean = mean, mean_abs = mean_abs, sd = sd, min = min, max = max)
  q <- as.data.frame(qs)
  names(q) <- quantile_names(probs)
  cbind(df, q)
}
