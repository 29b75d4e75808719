# PyTorch modules reached through reticulate: exported to ONNX in a temporary file
# with torch's own exporter, then read like any ONNX file (one path, no second
# converter). The TorchScript exporter is tried first (fast, quiet); torch versions
# without it use torch.export.

is_torch_module <- function(model) {
  inherits(model, "python.builtin.object") && inherits(model, "torch.nn.modules.module.Module")
}

torch_to_list <- function(model, input_dim, call = parent.frame()) {
  if (is.null(input_dim)) {
    innsight_abort(c("A PyTorch module needs {.arg input_dim}: the input shape(s) without the batch axis, channels first.",
                     "i" = "For example {.code input_dim = c(3, 224, 224)}, or a list of shapes for several inputs."),
                   kind = "model", call = call)
  }
  dims <- as_dim_list(input_dim, "input_dim", call)
  torch <- reticulate::import("torch", convert = FALSE)
  path <- tempfile(fileext = ".onnx")
  on.exit(unlink(path), add = TRUE)
  dummy <- reticulate::tuple(lapply(dims, function(d) torch$zeros(reticulate::tuple(as.list(c(1L, d))))))
  # `training` is an R logical for modules with conversion on (py$m), a Python bool otherwise
  was_training <- model$training
  if (inherits(was_training, "python.builtin.object")) was_training <- reticulate::py_to_r(was_training)
  model$eval()
  on.exit(if (isTRUE(was_training)) model$train(), add = TRUE)
  names_in <- as.list(paste0("input_", seq_along(dims)))
  export <- function(dynamo) {
    torch$onnx$export(model, dummy, path, dynamo = dynamo, opset_version = if (dynamo) 18L else 17L,
                      input_names = names_in)
  }
  ok <- tryCatch({ export(FALSE); TRUE }, error = function(e) e)
  if (!isTRUE(ok)) {
    ok <- tryCatch({ suppressMessages(export(TRUE)); TRUE }, error = function(e) e)
  }
  if (!isTRUE(ok)) {
    innsight_abort(c("torch could not export the module to ONNX.", "x" = conditionMessage(ok)), kind = "model", call = call)
  }
  read_onnx_file(path, call = call)
}
