# Keras through reticulate, for test-keras.R. Nothing is ever installed: the tests
# run only when RETICULATE_PYTHON points to a Python that can import keras
# (`make test-keras` sets that up) and are skipped otherwise.

keras_python_ok <- function(module) {
  py <- Sys.getenv("RETICULATE_PYTHON")
  if (!nzchar(py) || !file.exists(py)) return(FALSE)
  if (!requireNamespace("reticulate", quietly = TRUE)) return(FALSE)
  isTRUE(tryCatch(reticulate::py_module_available(module), error = function(e) FALSE))
}

# Python Keras (any version) is importable from RETICULATE_PYTHON.
keras_available <- function() keras_python_ok("keras")

# Keras 2 (the tf_keras package) is importable as well (KERAS2=1 make test-keras).
tf_keras_available <- function() keras_available() && keras_python_ok("tf_keras")

keras_module <- function(name = "keras") {
  Sys.setenv(KERAS_BACKEND = Sys.getenv("KERAS_BACKEND", "tensorflow"),
             TF_CPP_MIN_LOG_LEVEL = Sys.getenv("TF_CPP_MIN_LOG_LEVEL", "2"),
             TF_ENABLE_ONEDNN_OPTS = Sys.getenv("TF_ENABLE_ONEDNN_OPTS", "0"))
  reticulate::import(name)
}

# max |a - b| / max |b|: the relative error of a whole output array.
rel_err <- function(a, b) {
  a <- unname(as.array(a))
  b <- unname(as.array(b))
  max(abs(a - b)) / max(abs(b))
}

# Record a measured difference (`make test-keras` prints the collected lines).
report_keras <- function(what, err) {
  f <- Sys.getenv("INNSIGHT_KERAS_REPORT")
  if (nzchar(f)) cat(sprintf("%-45s max relative difference %.3g\n", what, err), file = f, append = TRUE)
}

# Convert `model`, evaluate it on `x` (Keras layout) and compare with Keras' predict.
expect_keras_parity <- function(model, x, what, tol = 1e-5, channels_first = FALSE, x_keras = x, ref_model = model) {
  ref <- ref_model$predict(x_keras, verbose = 0L)
  conv <- innsight::Converter$new(model)
  ours <- stats::predict(conv, x, channels_first = channels_first)
  if (is.list(ref) && !is.array(ref)) {
    err <- max(mapply(rel_err, ours, ref))
  } else {
    err <- rel_err(ours, ref)
  }
  report_keras(what, err)
  expect_lt(err, tol, label = paste(what, "relative difference"))
  invisible(conv)
}

# Random but plausible batch-norm statistics, so that BN layers do something.
randomise_batchnorm <- function(model, seed = 1) {
  with_seed(seed, {
    for (l in model$layers) {
      if (grepl("BatchNormalization$", class(l)[1])) {
        w <- l$get_weights()
        n <- length(w[[1]])
        new <- lapply(seq_along(w), function(k) array(if (k == length(w) || k == 1) stats::runif(n, 0.5, 1.5) else stats::rnorm(n, 0, 0.2)))
        l$set_weights(new)
      }
    }
  })
  invisible(model)
}
