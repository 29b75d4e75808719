# save_model() / load_model(): innsight's model file (one safetensors file).

# ---- helpers: the file's parts -------------------------------------------------------

read_raw <- function(path) readBin(path, "raw", file.size(path))

# Split a safetensors file into its header (parsed JSON, lists only) and data bytes.
st_parts <- function(bytes) {
  n <- sum(as.numeric(bytes[1:8]) * 256^(0:7))
  list(header = jsonlite::fromJSON(rawToChar(bytes[8 + seq_len(n)]), simplifyVector = FALSE),
       data = bytes[-seq_len(8 + n)])
}

# Reassemble a file from a header text (padded to 8 bytes) and data bytes.
st_bytes <- function(header_text, data) {
  h <- charToRaw(header_text)
  h <- c(h, rep(charToRaw(" "), (8 - length(h) %% 8) %% 8))
  n <- length(h)
  len <- as.raw(floor(n / 256^(0:7)) %% 256)
  c(len, h, data)
}

# A minimal JSON writer for parsed headers (lists, strings, numbers): jsonlite's
# toJSON() is slow enough to dominate building 1,000 variants.
header_json <- function(x) {
  str <- function(s) paste0('"', gsub('(["\\\\])', "\\\\\\1", s), '"')
  if (is.list(x) && !is.null(names(x))) {
    if (length(x) == 0) return("{}")
    return(paste0("{", paste0(str(names(x)), ":", vapply(x, header_json, ""), collapse = ","), "}"))
  }
  if (is.list(x)) return(paste0("[", paste(vapply(x, header_json, ""), collapse = ","), "]"))
  if (is.character(x)) return(str(x))
  as.character(x)
}

# A file from a header (list) and data; with `fix_checksum`, the checksum is made to
# match the new content (a deliberate edit), otherwise the old one is kept.
st_file <- function(header, data, fix_checksum) {
  bytes <- st_bytes(header_json(header), data)
  if (!fix_checksum) return(bytes)
  sum <- tryCatch(innsight:::io_checksum(bytes), error = function(e) NULL)  # NULL: unreadable anyway
  if (is.null(sum)) return(bytes)
  header[["__metadata__"]]$innsight_checksum <- sum
  st_bytes(header_json(header), data)
}

# A small model with every kind of weight: Conv1D -> BatchNorm -> Flatten -> Dense.
make_file_model <- function(seed = 7) {
  with_seed(seed, list(
    input_dim = c(2, 6), input_nodes = 1, output_nodes = 4,
    layers = list(
      list(type = "Conv1D", weight = rand_w(3, 2, 3), bias = stats::rnorm(3), activation_name = "relu",
           input_layers = 0, output_layers = 2),
      list(type = "BatchNorm", num_features = 3, eps = 1e-5, gamma = stats::runif(3, 0.5, 1.5),
           beta = stats::rnorm(3), run_mean = stats::rnorm(3), run_var = stats::runif(3, 0.5, 2),
           input_layers = 1, output_layers = 3),
      list(type = "Flatten", input_layers = 2, output_layers = 4),
      dense_layer(rand_w(2, 12), stats::rnorm(2), "softmax", 3, -1)
    )
  ))
}

weights_of <- function(conv) {
  w <- conv$model$get_weights()
  w[order(names(w))]
}

# Hyper-parameters of every kind: activation_args, Padding mode/value, a channels-last
# Flatten, Concatenate, Add, declared dim_in/dim_out (one shape or a list of shapes).
make_params_model <- function(seed = 8) {
  with_seed(seed, list(
    input_dim = list(c(2, 5, 5)), input_nodes = 1, output_nodes = 7,
    layers = list(
      list(type = "Padding", padding = c(1, 1, 0, 1), mode = "reflect", value = 0,
           input_layers = 0, output_layers = c(2, 3), dim_in = c(2, 5, 5), dim_out = c(2, 6, 7)),
      list(type = "Conv2D", weight = rand_w(3, 2, 2, 2), bias = stats::rnorm(3), stride = c(1, 2),
           activation_name = "leaky_relu", activation_args = list(negative_slope = 0.2),
           input_layers = 1, output_layers = 4),
      list(type = "Conv2D", weight = rand_w(3, 2, 2, 2), bias = stats::rnorm(3), stride = c(1, 2),
           activation_name = "elu", activation_args = list(alpha = 1.5), input_layers = 1, output_layers = 4),
      list(type = "Add", input_layers = c(2, 3), output_layers = 5, dim_in = list(c(3, 5, 3), c(3, 5, 3))),
      list(type = "Activation", act_name = "softplus", activation_args = list(beta = 2),
           input_layers = 4, output_layers = 6),
      list(type = "Flatten", data_format = "channels_last", input_layers = 5, output_layers = 7),
      dense_layer(rand_w(2, 45), stats::rnorm(2), "sigmoid", 6, -1)
    )
  ))
}

# ---- round trips --------------------------------------------------------------------

test_that("a double converter round-trips bit-exactly", {
  models <- list(mlp = make_mlp_model(), graph = make_graph_model(), conv1d = make_conv1d_model(),
                 conv2d = make_conv2d_model(), bn = make_bn_model(), file = make_file_model(),
                 params = make_params_model())
  for (nm in names(models)) {
    conv <- convert(models[[nm]], dtype = "double")
    path <- withr::local_tempfile(fileext = ".safetensors")
    expect_identical(save_model(conv, path), path)
    conv2 <- load_model(path)
    expect_s3_class(conv2, "Converter")
    expect_identical(conv2$model$dtype(), "double")
    expect_identical(conv2$model$spec(), conv$model$spec(), label = nm)
    expect_identical(lapply(weights_of(conv2), unname), lapply(weights_of(conv), unname), label = nm)
    expect_identical(conv2$input_dim, conv$input_dim)
    expect_identical(conv2$output_dim, conv$output_dim)
    expect_identical(conv2$input_names, conv$input_names)
    expect_identical(conv2$output_names, conv$output_names)
    dims <- conv$input_dim
    x <- lapply(seq_along(dims), function(k) rand_data(3, dims[[k]], seed = k))
    if (length(x) == 1) x <- x[[1]]
    expect_identical(predict(conv2, x), predict(conv, x), label = nm)
    # writing the loaded converter gives the same bytes
    path2 <- withr::local_tempfile(fileext = ".safetensors")
    save_model(conv2, path2)
    expect_identical(read_raw(path2), read_raw(path), label = nm)
  }
})

test_that("a float converter stores single precision and round-trips bit-exactly", {
  m <- make_file_model()
  conv <- convert(m)
  path <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv, path)
  conv2 <- Converter$new(path)
  expect_identical(conv2$model$dtype(), "float")
  st <- innsight:::io_read_safetensors(path)
  expect_true(all(st$dtypes == "F32"))
  # the stored weights are the converter's rounded to single precision
  to_f32 <- function(a) {
    r <- readBin(writeBin(as.vector(a), raw(), size = 4), "double", length(a), size = 4)
    array(r, dim(a))
  }
  w <- weights_of(conv)
  expect_identical(lapply(weights_of(conv2), unname), lapply(w, function(a) unname(to_f32(a))))
  # ... and the loaded converter equals one built from those rounded weights
  m32 <- m
  for (i in seq_along(m32$layers)) {
    for (p in c("weight", "bias", "gamma", "beta", "run_mean", "run_var")) {
      if (!is.null(m32$layers[[i]][[p]])) m32$layers[[i]][[p]] <- to_f32(as.array(m32$layers[[i]][[p]]))
    }
  }
  x <- rand_data(4, c(2, 6))
  expect_identical(predict(conv2, x), predict(convert(m32), x))
  expect_equal(predict(conv2, x), predict(conv, x), tolerance = 1e-6)
  path2 <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv2, path2)
  expect_identical(read_raw(path2), read_raw(path))
  # the precision can be overridden on loading
  expect_identical(load_model(path, dtype = "double")$model$dtype(), "double")
  expect_identical(Converter$new(path, dtype = "double")$model$dtype(), "double")
})

test_that("names with their own level order and duplicates survive", {
  m <- make_mlp_model()
  inn <- factor(c("b", "a", "c", "d"), levels = c("d", "c", "b", "a"))
  out <- factor(c("y", "y", "z"), levels = c("z", "y"))
  conv <- convert(m, input_names = inn, output_names = list(list(out)), dtype = "double")
  path <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv, path)
  conv2 <- load_model(path)
  expect_identical(conv2$input_names, conv$input_names)
  expect_identical(conv2$output_names, conv$output_names)
  # names given on loading override the stored ones
  conv3 <- Converter$new(path, input_names = c("p", "q", "r", "s"))
  expect_identical(levels(conv3$input_names[[1]][[1]]), c("p", "q", "r", "s"))
  expect_innsight_error(Converter$new(path, input_names = c("p", "q")), "argument")
  expect_innsight_error(Converter$new(path, input_dim = 3), "model", "input_dim")
  expect_s3_class(Converter$new(path, input_dim = 4), "Converter")
})

test_that("the file is a plain safetensors file with the documented metadata", {
  conv <- convert(make_graph_model(), dtype = "double")
  path <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv, path)
  st <- innsight:::io_read_safetensors(path)
  expect_setequal(names(st$tensors), names(conv$model$get_weights()))
  expect_true(all(st$dtypes == "F64"))
  for (nm in names(st$tensors)) {
    expect_identical(unname(st$tensors[[nm]]), unname(conv$model$get_weights()[[nm]]))
  }
  meta <- st$metadata
  expect_identical(meta[["innsight_format"]], "1")
  expect_identical(meta[["innsight_dtype"]], "double")
  expect_match(meta[["innsight_checksum"]], "^crc32:[0-9a-f]{8}$")
  desc <- jsonlite::fromJSON(meta[["innsight_model"]], simplifyVector = FALSE)
  expect_setequal(names(desc), c("input_dim", "input_nodes", "output_nodes", "layers", "input_names", "output_names"))
  expect_identical(unlist(desc$input_names[[2]][[1]]), paste0("b", 1:5))
  expect_identical(unlist(desc$output_names[[1]][[1]]), c("cat", "dog", "fish"))
  # the description is the one the converter hands to the core, plus the names
  expect_identical(sub(',"input_names".*$', "}", meta[["innsight_model"]]), conv$model$spec())
})

test_that("bad paths and non-model files raise classed errors", {
  conv <- convert(make_mlp_model())
  expect_innsight_error(save_model(conv, 3), "argument")
  expect_innsight_error(save_model(conv, NA_character_), "argument")
  expect_innsight_error(save_model("conv", tempfile()), "argument")
  expect_innsight_error(save_model(conv, file.path(tempfile(), "no", "dir.safetensors")), "io")
  expect_innsight_error(load_model(tempfile(fileext = ".safetensors")), "io", "does not exist")
  expect_innsight_error(load_model(tempdir()), "io")
  expect_innsight_error(Converter$new(tempfile(fileext = ".safetensors")), "model", "does not exist")
  txt <- withr::local_tempfile(fileext = ".safetensors")
  writeLines("not a model", txt)
  expect_innsight_error(load_model(txt), "io", "safetensors")
  empty <- withr::local_tempfile(fileext = ".safetensors")
  file.create(empty)
  expect_innsight_error(load_model(empty), "io")
  # a safetensors file of weights (a state dict) is not a model file
  sd <- withr::local_tempfile(fileext = ".safetensors")
  innsight:::io_write_safetensors(sd, list(fc.weight = matrix(as.numeric(1:6), 2)), "F32", list())
  expect_innsight_error(load_model(sd), "model", "innsight_format")
})

# ---- the fuzz test: 1,000 corrupted files -------------------------------------------

test_that("1,000 corrupted, truncated or mismatched files raise classed errors only", {
  conv <- convert(make_file_model())
  path <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv, path)
  good <- read_raw(path)
  parts <- st_parts(good)
  header <- parts$header
  meta <- header[["__metadata__"]]
  desc <- jsonlite::fromJSON(meta$innsight_model, simplifyVector = FALSE)
  tensor_names <- setdiff(names(header), "__metadata__")
  x <- rand_data(3, c(2, 6))
  loaded <- load_model(path)
  ref <- predict(loaded, x)
  n_header <- length(good) - length(parts$data) - 8

  # variants, each a function of the seed-specific random draw
  with_description <- function(d, fix_checksum = TRUE) {
    h <- header
    h[["__metadata__"]]$innsight_model <- header_json(d)
    st_file(h, parts$data, fix_checksum)
  }
  without_tensor <- function(name, fix_checksum) {
    info <- header[[name]]
    off <- unlist(info$data_offsets)
    h <- header
    h[[name]] <- NULL
    for (t in setdiff(tensor_names, name)) {
      o <- unlist(h[[t]]$data_offsets)
      if (o[1] >= off[2]) h[[t]]$data_offsets <- as.list(o - (off[2] - off[1]))
    }
    data <- if (off[2] > off[1]) parts$data[-seq(off[1] + 1, off[2])] else parts$data
    st_file(h, data, fix_checksum)
  }
  with_shape <- function(name, shape, fix_checksum = TRUE) {
    h <- header
    h[[name]]$shape <- as.list(shape)
    st_file(h, parts$data, fix_checksum)
  }
  with_meta <- function(key, value, fix_checksum = TRUE) {
    h <- header
    h[["__metadata__"]][[key]] <- value
    st_file(h, parts$data, fix_checksum && key != "innsight_checksum")
  }
  le64 <- function(v) as.raw(floor(v / 256^(0:7)) %% 256)

  set.seed(20240601)
  variants <- list()
  add <- function(kind, bytes) variants[[length(variants) + 1]] <<- list(kind = kind, bytes = bytes)
  # 1. truncations (every cut in the first 64 bytes, then random ones)
  for (cut in c(0:63, sample(64:(length(good) - 1), 136))) add("truncated", good[seq_len(cut)])
  # 2. flipped bytes: one or a few random bytes XOR a random non-zero value
  for (k in 1:300) {
    b <- good
    pos <- sample(length(good), sample(1:3, 1))
    b[pos] <- xor(b[pos], as.raw(sample(1:255, length(pos), replace = TRUE)))
    add("flipped", b)
  }
  # 3. bad header lengths
  for (v in c(0, 1, 7, 9, n_header - 8, n_header - 1, n_header + 1, n_header + 8, length(good),
              length(good) - 8, 1e8, 1e8 + 1, 2^40, 2^53, 2^63)) {
    add("header length", c(le64(v), good[-(1:8)]))
  }
  for (k in 1:85) add("header length", c(le64(sample(0:(2 * length(good)), 1)), good[-(1:8)]))
  # 4. wrong JSON in the header
  htext <- rawToChar(good[8 + seq_len(n_header)])
  junk <- c("", "{", "}", "[]", "null", "42", "\"text\"", "{\"__metadata__\": 3}",
            "{\"__metadata__\": {\"innsight_format\": 1}}",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", \"4\"]}}",
            "{\"a\": {\"dtype\": \"X99\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [99999999999], \"data_offsets\": [0, 4]}}",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 0]}}")
  for (j in junk) add("wrong JSON", st_bytes(j, parts$data))
  for (k in 1:86) {
    cut <- sample(nchar(htext) - 1, 1)
    t <- if (k %% 2 == 0) substr(htext, 1, cut) else paste0(substr(htext, 1, cut), substr(htext, cut + 2, nchar(htext)))
    add("wrong JSON", st_bytes(t, parts$data))
  }
  # 5. missing tensors (mostly with a matching checksum, so the structural check speaks)
  for (k in 1:100) add("missing tensor", without_tensor(sample(tensor_names, 1), fix_checksum = k %% 4 != 0))
  # 6. wrong shapes: same element count (caught when the layers are built) or not
  for (k in 1:100) {
    name <- sample(tensor_names, 1)
    s <- unlist(header[[name]]$shape)
    shape <- switch(k %% 4 + 1, rev(s), c(s, 1), c(1, prod(s)), c(s[-1], s[1] + 1))
    if (identical(as.numeric(shape), as.numeric(s))) shape <- c(prod(s), 1, 1)
    add("wrong shape", with_shape(name, shape, fix_checksum = k %% 5 != 0))
  }
  # 7. mismatched metadata and descriptions
  metas <- list(
    list("innsight_format", "2"), list("innsight_format", ""), list("innsight_dtype", "double"),
    list("innsight_dtype", "half"), list("innsight_checksum", "crc32:00000000"),
    list("innsight_checksum", "sha256:abc"), list("innsight_checksum", NULL), list("innsight_model", "{}"),
    list("innsight_model", "not json"), list("innsight_model", NULL)
  )
  for (mm in metas) add("metadata", with_meta(mm[[1]], mm[[2]]))
  d_edits <- list(
    function(d) { d$layers[[1]]$activation_name <- "bogus"; d },
    function(d) { d$layers[[1]]$type <- "Conv2D"; d },
    function(d) { d$layers[[2]]$type <- "Dense"; d },
    function(d) { d$layers[[2]]$num_features <- 4; d },
    function(d) { d$layers[[4]]$input_layers <- list(7); d },
    function(d) { d$layers[[4]]$input_layers <- list(4); d },
    function(d) { d$layers[[3]]$output_layers <- list(9); d },
    function(d) { d$layers <- d$layers[1:3]; d },
    function(d) { d$layers <- list(); d },
    function(d) { d$input_dim <- list(list(3, 6)); d },
    function(d) { d$input_dim <- list(list(2, 2)); d },
    function(d) { d$input_dim <- NULL; d },
    function(d) { d$output_nodes <- list(9); d },
    function(d) { d$input_names <- list(list(list("a"), list("b"))); d },
    function(d) { d$input_names <- list(list(list(1, 2), list("b"))); d },
    function(d) { d$output_names <- list(list(list("y", "y"))); d },
    function(d) { d$output_names <- list(list(list(values = list("a", "b"), levels = list("a")))); d },
    function(d) { d$output_names <- "x"; d },
    function(d) { d$layers[[1]]$stride <- list(0); d },
    function(d) { d$layers[[1]]$padding <- list(1, 2, 3); d },
    function(d) { d$layers[[2]]$eps <- -1; d },
    function(d) { d$layers[[3]]$type <- "Unknown"; d }
  )
  while (length(variants) < 1000) {
    f <- d_edits[[(length(variants) %% length(d_edits)) + 1]]
    add("description", with_description(f(desc), fix_checksum = length(variants) %% 7 != 0))
  }
  expect_length(variants, 1000)

  file <- withr::local_tempfile(fileext = ".safetensors")
  outcome <- character(length(variants))
  for (i in seq_along(variants)) {
    writeBin(variants[[i]]$bytes, file)
    res <- tryCatch(load_model(file), error = function(e) e)
    outcome[i] <- if (inherits(res, "innsight_error_io")) {
      "io"
    } else if (inherits(res, "innsight_error_model")) {
      "model"
    } else if (inherits(res, "error")) {
      paste("unclassed:", conditionMessage(res))
    } else if (identical(predict(res, x), ref) && identical(weights_of(res), weights_of(loaded)) &&
               identical(res$model$spec(), loaded$model$spec())) {
      "accepted (same model)"
    } else {
      "accepted a changed model"
    }
    if (inherits(res, "error")) {
      # the messages of the error and its cause (unformatted: formatting costs time)
      msg <- paste(res$message, res$parent$message)
      if (grepl("panicked|\\.rs:[0-9]", msg)) outcome[i] <- paste("panic text:", msg)
    }
  }
  kinds <- vapply(variants, `[[`, "", "kind")
  bad <- !outcome %in% c("io", "model")
  expect_identical(paste(kinds[bad], outcome[bad]), character(0))
  # both error classes occur
  expect_true(all(c("io", "model") %in% outcome))
})
