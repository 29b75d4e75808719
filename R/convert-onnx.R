# ONNX models (`Converter$new("model.onnx")`). The Rust core parses the protobuf and
# maps the graph onto innsight's list format (src/rust/crates/core/src/io/onnx). The
# result comes back as a prepared model (R/prepared-model.R): the description as
# JSON and the weights as one blob, so a large network's weights never become R
# arrays. A model's external-data files are read from its folder.

is_onnx_path <- function(model) {
  is.character(model) && length(model) == 1 && !is.na(model) && grepl("\\.onnx$", model, ignore.case = TRUE)
}

read_onnx_file <- function(path, call = parent.frame()) {
  full <- path.expand(path)
  if (!file.exists(full) || dir.exists(full)) {
    innsight_abort("The ONNX file {.file {path}} does not exist.", kind = "model", call = call)
  }
  res <- tryCatch(io_read_onnx(full), error = function(e) rust_file_error(e, call))
  # ONNX weights are float32 values: a converter is single precision unless asked
  prepared_model(res$model_json, res$blob, dtype = "float")
}
