# A prepared model: a model the Rust core has already translated, as its list-format
# description (JSON) and its weights (one safetensors raw vector, the form a
# ConvertedModel keeps). ONNX files arrive this way. The Converter builds it
# without the R checks of the list format, which would need the weights as R
# arrays (VGG16: 1.1 GB of doubles): the core checks every layer, shape and weight
# when it builds the graph, as it does for a list model.

prepared_model <- function(spec_json, blob, dtype) {
  structure(list(spec_json = spec_json, blob = blob), innsight_dtype = dtype, class = "innsight_prepared_model")
}

is_prepared_model <- function(x) inherits(x, "innsight_prepared_model")

# The list format of a prepared model (for `save_model_as_list = TRUE`).
prepared_as_list <- function(x) {
  spec <- jsonlite::fromJSON(x$spec_json, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
  with_weights(spec, rust_call(weights_from_blob(x$blob)))
}
