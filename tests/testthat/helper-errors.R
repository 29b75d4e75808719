# Every bad input must raise a classed `innsight_error` (with a stable subclass
# where one is given), and no message may leak Rust panic text or source locations.
expect_innsight_error <- function(expr, subclass = NULL, regexp = NULL) {
  label <- paste(deparse(substitute(expr)), collapse = " ")
  cls <- if (is.null(subclass)) "innsight_error" else paste0("innsight_error_", subclass)
  e <- expect_error(expr, regexp = regexp, class = cls, label = label)
  if (inherits(e, "condition")) {
    msg <- conditionMessage(e)
    expect_false(grepl("panicked", msg, fixed = TRUE), label = paste("panic text in:", msg))
    expect_false(grepl("\\.rs:[0-9]", msg), label = paste("Rust source location in:", msg))
    expect_s3_class(e, "innsight_error")
  }
  invisible(e)
}
