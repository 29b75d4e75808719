# neuralnet objects (class "nn") -> innsight's list format. PLACEHOLDER.
neuralnet_to_list <- function(model, call = parent.frame()) {
  innsight_abort("Converting {.pkg neuralnet} models is not implemented yet.", kind = "model", call = call)
}
