# Reading the reference fixtures in tests/fixtures (written by the pinned scripts
# in tools/fixtures) and comparing results with them.

# max |got - expected| <= tol * max(1, max |expected|), per tensor (see expect_parity)

parity_dir <- function() test_path("..", "fixtures")

read_fixture <- function(file) jsonlite::read_json(file.path(parity_dir(), file), simplifyVector = FALSE)

# A row-major {shape, data} tensor as an R array (vector for rank 1).
fixture_array <- function(t) {
  shape <- as.integer(unlist(t$shape))
  data <- as.numeric(unlist(t$data))
  if (length(shape) <= 1) return(data)
  aperm(array(data, rev(shape)), rev(seq_along(shape)))
}

fixture_tensors <- function(file) {
  if (is.null(file)) return(NULL)
  lapply(read_fixture(file), fixture_array)
}

# innsight's list model from the fixture JSON: layer entries plus their weights
# (stored separately as `weights[["layers.<i>.<name>"]]`).
fixture_model <- function(file) {
  m <- read_fixture(file)
  layers <- lapply(seq_along(m$layers), function(i) {
    layer <- lapply(m$layers[[i]], function(v) if (is.list(v)) unlist(v) else v)
    prefix <- paste0("layers.", i, ".")
    for (key in names(m$weights)[startsWith(names(m$weights), prefix)]) {
      layer[[substring(key, nchar(prefix) + 1)]] <- fixture_array(m$weights[[key]])
    }
    layer
  })
  list(input_dim = lapply(m$input_dim, function(d) as.integer(unlist(d))),
       input_nodes = as.integer(unlist(m$input_nodes)),
       output_nodes = as.integer(unlist(m$output_nodes)),
       layers = layers)
}

# Fixture output_idx (a list per model output, null = unused) in the R API's form.
fixture_output_idx <- function(idx) {
  idx <- lapply(idx, function(v) if (is.null(v)) NULL else as.integer(unlist(v)))
  if (length(idx) == 1) idx[[1]] else idx
}

expect_parity <- function(got, want, tol, what) {
  got <- unname(got)
  dim_got <- if (is.null(dim(got))) length(got) else dim(got)
  dim_want <- if (is.null(dim(want))) length(want) else dim(want)
  if (!identical(as.integer(dim_got), as.integer(dim_want))) {
    return(expect(FALSE, sprintf("%s: shape (%s), expected (%s)", what,
                                 paste(dim_got, collapse = ", "), paste(dim_want, collapse = ", "))))
  }
  err <- max(abs(as.vector(got) - as.vector(want)))
  allowed <- tol * max(1, abs(want))
  expect(isTRUE(err <= allowed), sprintf("%s: max |diff| %.3g > %.3g", what, err, allowed))
}

