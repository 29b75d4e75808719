# cli summaries of converters and methods.

fmt_dim <- function(d) paste0("(*, ", paste(d, collapse = ", "), ")")

axis_labels <- function(rank) {
  switch(rank, "Feature", c("Channels", "Signal length"), c("Channels", "Image height", "Image width"))
}

fmt_names <- function(f, width = cli::console_width() - 30) {
  s <- paste(as.character(f), collapse = ", ")
  if (nchar(s) > width) paste0(substr(s, 1, max(10, width - 3)), "...") else s
}

print_converter <- function(x) {
  cli::cli_h1("Converter (innsight)")
  cli::cli_text("Fields:")
  for (j in seq_along(x$input_dim)) {
    cli::cli_bullets(c("*" = "Input layer {j}: shape {.val {fmt_dim(x$input_dim[[j]])}}"))
    labs <- axis_labels(length(x$input_dim[[j]]))
    for (a in seq_along(labs)) cli::cli_bullets(c(" " = "{labs[a]}: {fmt_names(x$input_names[[j]][[a]])}"))
  }
  for (k in seq_along(x$output_dim)) {
    cli::cli_bullets(c("*" = "Output layer {k}: shape {.val {fmt_dim(x$output_dim[[k]])}}"))
    cli::cli_bullets(c(" " = "Output node/Class: {fmt_names(x$output_names[[k]][[1]])}"))
  }
  cli::cli_bullets(c("*" = "{.field model_as_list}: {if (is.null(x$model_as_list)) 'not included' else 'included'}"))
  layers <- x$model$layers()
  cli::cli_text("Layers ({length(layers)}):")
  for (i in seq_along(layers)) {
    l <- layers[[i]]
    ins <- paste(vapply(l$dim_in, fmt_dim, character(1)), collapse = " + ")
    cli::cli_bullets(c(" " = "{i}. {l$type}: {ins} -> {fmt_dim(l$dim_out)}"))
  }
}

summarise_values <- function(a) {
  v <- as.vector(a)
  fin <- v[!is.nan(v)]
  if (length(fin) == 0) return("all NaN")
  q <- stats::quantile(fin, c(0, 0.5, 1), names = FALSE)
  sprintf("min %s, median %s, max %s, %d NaN", format(q[1], digits = 4), format(q[2], digits = 4),
          format(q[3], digits = 4), sum(is.nan(v)))
}

print_method <- function(m, private) {
  cli::cli_h1("Method {private$method_name} (innsight)")
  fields <- private$print_fields()
  for (nm in names(fields)) cli::cli_bullets(c("*" = "{.field {nm}}: {fields[[nm]]}"))
  for (k in seq_along(m$output_idx)) {
    idx <- m$output_idx[[k]]
    txt <- if (is.null(idx)) "not applied!" else paste0(paste(idx, collapse = ", "), " (", fmt_names(m$output_label[[k]]), ")")
    cli::cli_bullets(c("*" = "{.field output_idx} of output layer {k}: {txt}"))
  }
  cli::cli_bullets(c("*" = "{.field ignore_last_act}: {m$ignore_last_act}",
                     "*" = "{.field channels_first}: {m$channels_first}",
                     "*" = "{.field dtype}: {.val {m$dtype}}"))
  cli::cli_text("Result:")
  layers <- explained_layers(m)
  if (is.null(m$result) && !is.null(m$result_summary)) {
    n <- if (length(m$preds) && !is.null(m$preds[[layers[1]]])) nrow(m$preds[[layers[1]]]) else NA
    cli::cli_bullets(c(" " = "summarised over {n} instance{?s} by {.fn explain_dataset}; see {.fn summary} and {.fn plot_global}"))
    if (!is.null(m$chunk_files)) cli::cli_bullets(c(" " = "{length(m$chunk_files)} chunk file{?s} in {.field chunk_files}"))
    return(invisible(m))
  }
  for (r in seq_along(m$result)) {
    for (j in seq_along(m$result[[r]])) {
      a <- m$result[[r]][[j]]
      what <- if (is.null(a)) "not connected to this output" else
        paste0("shape (", paste(dim(a), collapse = ", "), "), ", summarise_values(a))
      cli::cli_bullets(c(" " = "Output_{layers[r]}, Input_{j}: {what}"))
    }
  }
}

fmt_ref <- function(x) {
  if (is.null(x)) return("zeros")
  v <- unlist(lapply(x, as.vector))
  if (all(v == 0)) return("zeros")
  q <- stats::quantile(v, c(0, 0.25, 0.5, 0.75, 1), names = FALSE)
  sprintf("mean %s (quartiles %s)", format(mean(v), digits = 4), paste(format(q, digits = 3), collapse = ", "))
}
