#' @param verbose (`logical(1)`)\cr Show progress messages. Default `interactive()`.
