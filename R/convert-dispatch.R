# Every supported model source is first turned into innsight's named-list format,
# or, when the Rust core translates it (ONNX), into a prepared model (description
# plus weight blob, R/prepared-model.R). One importer per source, one file each.

as_list_model <- function(model, input_dim = NULL, call = parent.frame()) {
  if (is_onnx_path(model)) return(read_onnx_file(model, call = call))
  if (is.character(model) && length(model) == 1) return(read_model_file(model, call = call))
  if (is_torch_module(model)) return(torch_to_list(model, input_dim, call = call))
  if (inherits(model, "nn")) return(neuralnet_to_list(model, call = call))
  if (is_keras_model(model)) return(keras_to_list(model, call = call))
  if (is.list(model) && !is.object(model)) return(model)
  innsight_abort(c("Unknown argument {.arg model} of class {.cls {class(model)}}.",
                   "i" = "Supported: innsight's named-list format, a model file written by {.fn save_model},",
                   " " = "an ONNX file ({.file .onnx}), a {.pkg neuralnet} model, or a Keras model or",
                   " " = "PyTorch module (through {.pkg reticulate})."),
                 kind = "model", call = call)
}
