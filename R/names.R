# Input and output names: normalise the accepted forms into
# list(<per layer> list(<per axis> factor)), generate defaults and check lengths.

# `output = TRUE`: output nodes are named Y1..YO (inputs X1..XF, C/L, C/H/W).
default_axis_names <- function(dim, output = FALSE) {
  prefixes <- if (output) "Y" else switch(length(dim), "X", c("C", "L"), c("C", "H", "W"))
  lapply(seq_along(dim), function(a) {
    lv <- paste0(prefixes[a], seq_len(dim[a]))
    factor(lv, levels = lv)
  })
}

as_name_factor <- function(x, arg, call) {
  if (is.factor(x)) return(x)
  if (is.character(x) && !anyNA(x)) return(factor(x, levels = unique(x)))
  innsight_abort("Every entry of {.arg {arg}} must be a character vector or a factor.", call = call)
}

# `several_vectors_ok`: a list of plain vectors may mean one vector per layer
# (used for output names of models with several rank-1 outputs).
normalise_names <- function(names, dims, arg, several_vectors_ok = FALSE, call = parent.frame()) {
  if (is.null(names)) return(lapply(dims, default_axis_names, output = identical(arg, "output_names")))
  if (is.character(names) || is.factor(names)) {
    names <- list(list(names))
  } else if (is.list(names) && length(names) > 0 && !is.list(names[[1]])) {
    if (several_vectors_ok && length(names) == length(dims) && length(dims) > 1 && all(lengths(dims) == 1)) {
      names <- lapply(names, list)
    } else {
      names <- list(names)
    }
  } else if (!is.list(names) || length(names) == 0) {
    innsight_abort("{.arg {arg}} must be a character vector, a factor, or a list of them.", call = call)
  }
  if (length(names) != length(dims)) {
    innsight_abort("{.arg {arg}} describes {length(names)} layer{?s}, but the model has {length(dims)}.", call = call)
  }
  lapply(seq_along(dims), function(k) {
    layer <- lapply(names[[k]], as_name_factor, arg = arg, call = call)
    got <- lengths(layer)
    if (length(layer) != length(dims[[k]]) || any(got != dims[[k]])) {
      innsight_abort(c("{.arg {arg}} does not fit the shape of layer {k}.",
                       "x" = "Names have lengths ({paste(got, collapse = ', ')}), the shape is ({paste(dims[[k]], collapse = ', ')})."),
                     call = call)
    }
    layer
  })
}
