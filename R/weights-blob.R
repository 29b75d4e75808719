# The converter's weight blob (one safetensors raw vector) from the named weights of
# a normalised list model. Arrays are streamed into it by the core
# (`weights_blob()`); weights given as draws (`inet_draw()`, imagenet_model()'s
# random initialisation) are drawn here in chunks of `innsight.draw_chunk` values
# (default 2^22) and written into a preallocated blob, so that no such tensor ever
# exists whole as R doubles. Chunked draws give exactly the values of one draw of
# the whole tensor: R's rnorm() and runif() consume the stream value by value.
weights_to_blob <- function(weights, dtype, single) {
  lazy <- vapply(weights, inherits, logical(1), what = "innsight_draw")
  if (!any(lazy)) return(rust_call(weights_blob(weights, dtype, single)))
  dims <- lapply(weights, function(w) {
    if (inherits(w, "innsight_draw")) w$dims else as.integer(dim(w) %||% length(w))
  })
  # drawn values are single-precision by definition only when the caller says so
  store <- if (identical(dtype, "float") && isTRUE(single)) "float" else "double"
  builder <- rust_call(BlobBuilder$new(names(weights), dims, store))
  chunk <- getOption("innsight.draw_chunk", 2^22)
  for (i in seq_along(weights)) {
    w <- weights[[i]]
    if (!lazy[i]) {
      rust_call(builder$fill(i, 0, w))
      next
    }
    n <- prod(w$dims)
    start <- 0
    while (start < n) {
      k <- min(chunk, n - start)
      rust_call(builder$fill(i, start, draw_values(w, k)))
      start <- start + k
    }
  }
  rust_call(builder$finish())
}
