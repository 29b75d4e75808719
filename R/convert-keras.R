# Keras models (through reticulate) -> innsight's list format. PLACEHOLDER.
is_keras_model <- function(model) {
  any(grepl("^keras", class(model)))
}

keras_to_list <- function(model, call = parent.frame()) {
  innsight_abort("Converting Keras models is not implemented yet.", kind = "model", call = call)
}
