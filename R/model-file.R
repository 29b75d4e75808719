# innsight's model file (safetensors with the list-format spec in its header). PLACEHOLDER.
read_model_file <- function(path, call = parent.frame()) {
  innsight_abort("Reading model files is not implemented yet.", kind = "model", call = call)
}
