# ONNX models (`Converter$new("model.onnx")`). The Rust core parses the protobuf and
# maps the graph onto innsight's list format (src/rust/crates/core/src/io/onnx); the
# result then takes the path of every list model, so it is validated and built like
# a hand-written one. A model's external-data files are read from its folder.

is_onnx_path <- function(model) {
  is.character(model) && length(model) == 1 && !is.na(model) && grepl("\\.onnx$", model, ignore.case = TRUE)
}

read_onnx_file <- function(path, call = parent.frame()) {
  full <- path.expand(path)
  if (!file.exists(full) || dir.exists(full)) {
    innsight_abort("The ONNX file {.file {path}} does not exist.", kind = "model", call = call)
  }
  res <- tryCatch(io_read_onnx(full), error = function(e) rust_file_error(e, call))
  spec <- jsonlite::fromJSON(res$model_json, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
  model <- with_weights(spec, res$weights)
  # ONNX weights are float32 values: a float converter keeps them as such
  structure(model, innsight_dtype = res$dtype, innsight_single = TRUE)
}
