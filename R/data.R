# Data arguments (data, x_ref, data_ref): one array per input layer, batch axis
# first, in the caller's layout; checked against the model's input shapes.

# `input_dim`: list of channels-first shapes. Returns a list of double arrays.
# `allow_empty`: whether a batch of 0 instances is accepted (only for predictions:
# a method needs at least one instance, a reference at least one row).
prepare_data <- function(data, input_dim, channels_first, arg = "data", call = parent.frame(),
                         allow_empty = identical(arg, "x")) {
  if (!is.list(data) || is.data.frame(data)) data <- list(data)
  if (length(data) != length(input_dim)) {
    innsight_abort(c("{.arg {arg}} must hold one array per input layer ({length(input_dim)}), but it holds {length(data)}.",
                     "i" = "For several input layers, pass a list of arrays."),
                   kind = "data", call = call)
  }
  lapply(seq_along(data), function(i) {
    x <- data[[i]]
    what <- if (length(input_dim) > 1) paste0(arg, "[[", i, "]]") else arg
    if (is.data.frame(x)) x <- as.matrix(x)
    x <- tryCatch(as.array(x), error = function(e) NULL)
    if (is.null(x) || !(is.numeric(x) || is.logical(x))) {
      innsight_abort("Failed to convert {.arg {what}} to a numeric array (got {.obj_type_friendly {data[[i]]}}).",
                     kind = "data", call = call)
    }
    shape <- input_dim[[i]]
    expected <- if (channels_first || length(shape) == 1) shape else c(shape[-1], shape[1])
    d <- dim(x)
    if (length(d) == 1 && length(shape) == 1) {
      innsight_abort(c("{.arg {what}} has no batch axis.",
                       "i" = "Pass one instance as a 1 x {shape} matrix, e.g. {.code matrix(x, nrow = 1)}."),
                     kind = "data", call = call)
    }
    if (length(d) != length(shape) + 1 || any(d[-1] != expected)) {
      innsight_abort(c("Unmatch in model input dimension (*, {paste(expected, collapse = ', ')}) and dimension of {.arg {what}} ({paste(d, collapse = ', ')}).",
                       "i" = "The batch axis comes first.{if (length(shape) > 1) ' Try to change the argument `channels_first`.' else ''}"),
                     kind = "data", call = call)
    }
    if (!allow_empty && d[1] == 0) {
      innsight_abort("{.arg {what}} must contain at least one instance (its first axis has length 0).",
                     kind = "data", call = call)
    }
    # min() and max() are NA for a missing value and infinite for an infinite
    # one, and unlike is.finite(x) (or range(), which copies) they allocate
    # nothing the size of the data
    if (length(x) > 0 && !all(is.finite(c(min(x), max(x))))) {
      innsight_abort("{.arg {what}} contains missing or non-finite values (NA, NaN or Inf).", kind = "data", call = call)
    }
    # (a double array is kept as it is: no copy of the caller's data)
    if (!is.double(x)) storage.mode(x) <- "double"
    x
  })
}
