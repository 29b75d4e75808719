# output_idx / output_label: which output nodes to explain. Returns both as lists of
# length K (number of output layers); NULL entries for unused layers.

normalise_output_idx <- function(output_idx, output_label, output_dim, output_names, call = parent.frame()) {
  K <- length(output_dim)
  as_list <- function(x, arg) {
    if (is.null(x)) return(NULL)
    if (!is.list(x)) x <- list(x)
    if (length(x) > K) {
      innsight_abort("{.arg {arg}} has {length(x)} entries, but the model has {K} output layer{?s}.", call = call)
    }
    c(x, rep(list(NULL), K - length(x)))
  }
  idx <- as_list(output_idx, "output_idx")
  lab <- as_list(output_label, "output_label")
  if (!is.null(idx)) {
    for (k in seq_len(K)) {
      v <- idx[[k]]
      if (is.null(v)) next
      if (!is_integerish(v) || length(v) == 0 || any(v < 1) || any(v > output_dim[[k]][1]) || anyDuplicated(v)) {
        innsight_abort(c("{.arg output_idx} for output layer {k} must contain distinct indices between 1 and {output_dim[[k]][1]}.",
                         "x" = "Got {.val {v}}."), call = call)
      }
      idx[[k]] <- as.integer(v)
    }
  }
  if (!is.null(lab)) {
    lab_idx <- lapply(seq_len(K), function(k) {
      v <- lab[[k]]
      if (is.null(v)) return(NULL)
      if (!(is.character(v) || is.factor(v))) {
        innsight_abort("{.arg output_label} must contain character vectors or factors, not {.obj_type_friendly {v}}.", call = call)
      }
      levels_k <- as.character(output_names[[k]][[1]])
      m <- match(as.character(v), levels_k)
      if (anyNA(m)) {
        innsight_abort(c("{.arg output_label} for output layer {k} contains unknown labels: {.val {as.character(v)[is.na(m)]}}.",
                         "i" = "Known labels: {.val {levels_k}}."), call = call)
      }
      if (length(m) == 0 || anyDuplicated(m)) {
        innsight_abort(c("{.arg output_label} for output layer {k} must contain distinct labels.",
                         "x" = "Got {.val {as.character(v)}}."), call = call)
      }
      m
    })
    if (is.null(idx)) {
      idx <- lab_idx
    } else {
      for (k in seq_len(K)) {
        same <- (is.null(idx[[k]]) && is.null(lab_idx[[k]])) ||
          (!is.null(idx[[k]]) && !is.null(lab_idx[[k]]) && setequal(idx[[k]], lab_idx[[k]]))
        if (!same) {
          innsight_abort("Both {.arg output_idx} and {.arg output_label} were passed, but they do not select the same output nodes of output layer {k}.",
                         call = call)
        }
      }
    }
  }
  if (is.null(idx)) {
    idx <- c(list(seq_len(min(10, output_dim[[1]][1]))), rep(list(NULL), K - 1))
  }
  if (all(vapply(idx, is.null, logical(1)))) {
    innsight_abort("{.arg output_idx} selects no output node.", call = call)
  }
  label <- lapply(seq_len(K), function(k) {
    if (is.null(idx[[k]])) return(NULL)
    f <- output_names[[k]][[1]]
    factor(as.character(f[idx[[k]]]), levels = levels(f))
  })
  list(idx = idx, label = label)
}
