#' @param dtype (`character(1)`)\cr Precision of the computation: `"float"` (default) or `"double"`. The converter is not changed.
