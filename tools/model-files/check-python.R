# Dev-only check: files written by save_model() are readable by Python's
# `safetensors` with the same tensors (names, dtypes, shapes, values bit for bit),
# the documented metadata and a checksum Python recomputes by the documented rule.
#
#   Rscript tools/model-files/check-python.R [PYTHON]
#
# PYTHON defaults to $INNSIGHT_PYTHON or ~/.cache/peers-venv/bin/python (any Python
# with safetensors >= 0.4 and numpy). Not part of CI: nothing in tests/ needs Python.
library(innsight)
args <- commandArgs(trailingOnly = TRUE)
python <- if (length(args)) args[1] else Sys.getenv("INNSIGHT_PYTHON", path.expand("~/.cache/peers-venv/bin/python"))
script <- file.path("tools", "model-files", "read_model_file.py")
stopifnot(file.exists(script), file.exists(python))

set.seed(1)
rn <- function(...) array(rnorm(prod(c(...))), c(...))
model <- list(
  input_dim = list(c(2, 8, 8), 5), input_nodes = c(1, 5), output_nodes = 7,
  layers = list(
    list(type = "Conv2D", weight = rn(3, 2, 3, 3), bias = rn(3), padding = 1, activation_name = "relu",
         input_layers = 0, output_layers = 2),
    list(type = "BatchNorm", num_features = 3, eps = 1e-5, gamma = runif(3), beta = rn(3), run_mean = rn(3),
         run_var = runif(3) + 0.5, input_layers = 1, output_layers = 3),
    list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 2, output_layers = 4),
    list(type = "Flatten", input_layers = 3, output_layers = 6),
    list(type = "Dense", weight = rn(4, 5), bias = rn(4), activation_name = "tanh", input_layers = 0, output_layers = 6),
    list(type = "Concatenate", axis = 2, input_layers = c(4, 5), output_layers = 7),
    list(type = "Dense", weight = rn(3, 52), bias = rn(3), activation_name = "softmax", input_layers = 6,
         output_layers = -1)
  )
)
fails <- 0
check <- function(ok, what) {
  cat(if (ok) "ok  " else "FAIL", what, "\n")
  if (!ok) fails <<- fails + 1
}
for (dtype in c("float", "double")) {
  conv <- convert(model, dtype = dtype, output_names = c("a", "b", "c"))
  path <- tempfile(fileext = ".safetensors")
  out <- tempfile(fileext = ".json")
  save_model(conv, path)
  status <- system2(python, c(script, path, out))
  check(status == 0 && file.exists(out), paste(dtype, ": Python read the file"))
  rep <- jsonlite::fromJSON(out, simplifyVector = FALSE)
  cat("     safetensors", rep$safetensors_version, "\n")
  w <- conv$model$get_weights()
  st_dtype <- if (dtype == "float") "F32" else "F64"
  check(setequal(names(rep$tensors), names(w)), paste(dtype, ": tensor names"))
  exact <- vapply(names(w), function(nm) {
    t <- rep$tensors[[nm]]
    a <- w[[nm]]
    if (dtype == "float") a <- array(readBin(writeBin(as.vector(a), raw(), size = 4), "double", length(a), size = 4), dim(a))
    # R arrays are column-major: aperm to row-major order before flattening
    rm <- if (length(dim(a)) > 1) as.vector(aperm(a)) else as.vector(a)
    identical(t$dtype, st_dtype) && identical(as.integer(unlist(t$shape)), dim(a)) &&
      identical(unlist(t$values), rm)
  }, logical(1))
  check(all(exact), paste(dtype, ": dtypes, shapes and values bit for bit"))
  m <- rep$metadata
  check(identical(m$innsight_format, "1") && identical(m$innsight_dtype, dtype), paste(dtype, ": format and dtype keys"))
  check(isTRUE(rep$checksum_ok), paste(dtype, ": checksum recomputed in Python:", rep$checksum_computed))
  check(identical(unlist(rep$model$output_names), c("a", "b", "c")), paste(dtype, ": description with names"))
}
cat(if (fails == 0) "all checks passed\n" else sprintf("%d check(s) failed\n", fails))
quit(status = fails > 0)
