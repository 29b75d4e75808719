# innsight's model file: one safetensors file. The weights are its tensors
# (`layers.<i>.<name>`, F32 or F64 as the converter's dtype, row-major); the header's
# `__metadata__` holds the normalised list-format description with the input and
# output names as JSON (`innsight_model`), the precision (`innsight_dtype`), the
# format version (`innsight_format`) and a checksum (`innsight_checksum`). Parsing,
# validation and the checksum live in the Rust core (`io` module); here the
# description is turned back into a list model, which then takes the same path as
# any list model (so a file is checked exactly like a hand-written list).

#' Save and load converted models
#'
#' `save_model()` writes a [`Converter`] to one
#' [safetensors](https://github.com/huggingface/safetensors) file; `load_model()`
#' (or `Converter$new(path)`) reads it back. The file holds the weights as tensors
#' in the converter's precision (`F32` for `dtype = "float"`, `F64` for
#' `"double"`) and, in the header's metadata, the model description (innsight's
#' list format as JSON, with the input and output names), the precision, a format
#' version and a checksum. Any safetensors reader (e.g. Python's `safetensors`)
#' can open it; `vignette("model-files", package = "innsight")` describes the
#' format.
#'
#' Reading is bit-exact: the loaded converter has the same weights (as stored),
#' names, shapes and precision. Unreadable, truncated or corrupt files raise an
#' error of class `innsight_error_io`; readable files that do not describe a valid
#' model (missing or extra weights, wrong shapes, an unknown format version) raise
#' `innsight_error_model`.
#'
#' @param converter A [`Converter`].
#' @param path (`character(1)`)\cr The file path (conventionally ending in
#'   `.safetensors`). An existing file is replaced.
#' @param dtype (`character(1)` or `NULL`)\cr `NULL` (default) keeps the stored
#'   precision; `"float"` or `"double"` override it.
#' @return `save_model()`: `path`, invisibly. `load_model()`: a [`Converter`].
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(c(0.5, -1, 2, 1, 0, -0.5), 2, 3),
#'        bias = c(0.1, -0.1), activation_name = "softmax",
#'        input_layers = 0, output_layers = -1)))
#' conv <- convert(model, input_names = c("a", "b", "c"), output_names = c("no", "yes"))
#' path <- tempfile(fileext = ".safetensors")
#' save_model(conv, path)
#' conv2 <- load_model(path)
#' x <- matrix(rnorm(6), 2, 3)
#' identical(predict(conv2, x), predict(conv, x))
#' # the same through the constructor
#' Converter$new(path)
#' unlink(path)
#' @name model_files
NULL

#' @rdname model_files
#' @export
save_model <- function(converter, path) {
  check_converter(converter)
  check_path(path)
  model_json <- model_file_json(converter)
  meta <- list(innsight_version = getNamespaceVersion("innsight")[[1]])
  rust_call(io_save_model(path.expand(path), model_json, converter$model$get_weights(),
                          converter$model$dtype(), meta))
  invisible(path)
}

#' @rdname model_files
#' @export
load_model <- function(path, dtype = NULL) {
  check_path(path)
  if (!file.exists(path.expand(path)) || dir.exists(path.expand(path))) {
    innsight_abort("The model file {.file {path}} does not exist.", kind = "io")
  }
  if (is.null(dtype)) Converter$new(path) else Converter$new(path, dtype = dtype)
}

check_path <- function(path, arg = "path", call = parent.frame()) {
  if (!is.character(path) || length(path) != 1 || is.na(path) || !nzchar(path)) {
    innsight_abort("{.arg {arg}} must be a single file path, not {.obj_type_friendly {path}}.", call = call)
  }
  invisible(path)
}

# The converter's description plus its names, as stored under `innsight_model`.
# The names are spliced into the description's JSON as it is (no re-encoding).
model_file_json <- function(converter) {
  spec_json <- converter$model$spec()
  names_json <- to_json(list(input_names = encode_names(converter$input_names),
                             output_names = encode_names(converter$output_names)))
  paste0(sub("\\}\\s*$", ",", spec_json), substring(names_json, 2))
}

# Names (list per layer of lists per axis of factors) -> JSON-ready lists. An axis
# is an array of strings; when its factor's levels are not its values in order
# (duplicates, or a user-chosen level order), it is an object {values, levels}.
encode_names <- function(names) {
  lapply(names, function(layer) {
    lapply(layer, function(f) {
      values <- as.character(f)
      if (identical(levels(f), values)) I(values) else list(values = I(values), levels = I(levels(f)))
    })
  })
}

decode_names <- function(x, what, call) {
  bad <- function() {
    innsight_abort("The model file's {.field {what}} are malformed.", kind = "model", call = call)
  }
  strings <- function(v) {
    if (!is.list(v) || !all(vapply(v, function(s) is.character(s) && length(s) == 1 && !is.na(s), logical(1)))) bad()
    unlist(v, use.names = FALSE) %||% character()
  }
  if (is.null(x)) return(NULL)
  if (!is.list(x) || length(x) == 0) bad()
  lapply(x, function(layer) {
    if (!is.list(layer) || !is.null(names(layer))) bad()
    lapply(layer, function(axis) {
      if (is.list(axis) && identical(sort(names(axis)), c("levels", "values"))) {
        values <- strings(axis$values)
        levels <- strings(axis$levels)
        if (anyDuplicated(levels) || !all(values %in% levels)) bad()
        factor(values, levels = levels)
      } else {
        values <- strings(axis)
        if (anyDuplicated(values)) bad()
        factor(values, levels = values)
      }
    })
  })
}

# Read a model file into innsight's list format (with attributes `innsight_dtype`
# and `innsight_file`). Called by as_list_model() for a path.
read_model_file <- function(path, call = parent.frame()) {
  check_path(path, "model", call = call)
  full <- path.expand(path)
  if (!file.exists(full) || dir.exists(full)) {
    # a string that names no file is a wrong `model` argument (not a broken file)
    innsight_abort(c("The model file {.file {path}} does not exist.",
                     "i" = "A character {.arg model} is read as the path of a file written by {.fn save_model}."),
                   kind = "model", call = call)
  }
  res <- tryCatch(io_load_model(full), error = function(e) rust_file_error(e, call))
  spec <- tryCatch(
    jsonlite::fromJSON(res$model_json, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE),
    error = function(e) NULL
  )
  raw <- tryCatch(jsonlite::fromJSON(res$model_json, simplifyVector = FALSE), error = function(e) NULL)
  if (!is.list(spec) || !is.list(spec$layers) || !is.list(raw)) {
    innsight_abort("The model file {.file {path}} has a malformed model description.", kind = "model", call = call)
  }
  model <- c(with_weights(spec, res$weights), list(
    input_names = decode_names(raw$input_names, "input_names", call),
    output_names = decode_names(raw$output_names, "output_names", call)
  ))
  structure(model, innsight_dtype = res$dtype, innsight_file = path)
}

# A parsed description (list format without weights) plus the weights named
# `layers.<i>.<name>` (validated in Rust) -> a list model.
with_weights <- function(spec, weights) {
  layers <- spec$layers
  for (nm in names(weights)) {
    parts <- strsplit(nm, ".", fixed = TRUE)[[1]]
    i <- as.integer(parts[2])
    layers[[i]][[parts[3]]] <- weights[[nm]]
  }
  list(input_dim = spec$input_dim, input_nodes = spec$input_nodes, output_nodes = spec$output_nodes, layers = layers)
}

# The core's tagged errors about a file as classed conditions. Like rust_call(), but
# with the message used as it is (rlang instead of cli formatting: a damaged file
# is a common, cheap-to-report event, and the fuzz test reads 1,000 of them).
rust_file_error <- function(e, call) {
  msg <- conditionMessage(e)
  m <- regmatches(msg, regexec("^\\[innsight:([a-z_]+)\\] (.*)$", msg))[[1]]
  if (length(m) != 3) m <- c(msg, "internal", paste("Unexpected failure in the Rust core:", msg))
  rlang::abort(m[3], class = c(paste0("innsight_error_", m[2]), "innsight_error"), call = call)
}

# Evaluate `expr` (which checks a model file's content); an error other than an
# I/O one becomes a model error that names the file, with the original error as
# its cause.
in_model_file <- function(path, expr, call = parent.frame()) {
  if (is.null(path)) return(expr)
  tryCatch(expr, innsight_error = function(e) {
    if (inherits(e, "innsight_error_io")) stop(e)
    rlang::abort(sprintf("The model file '%s' does not describe a valid model.", path),
                 class = c("innsight_error_model", "innsight_error"), call = call, parent = e)
  })
}
