#' @param converter (`Converter`)\cr The converted model, an instance of [`Converter`].
