# Step 3 of `make demo-models`: turn the PyTorch weights written by train.py into
# innsight list models, check them against PyTorch, and write the package's files.
#
#   Rscript tools/demo-models/export.R WORKDIR [OUTDIR]
#
# OUTDIR defaults to inst/extdata. Needs the installed innsight (for convert() and
# save_model(); the weights are read with the package's internal safetensors reader).
# Writes
#   OUTDIR/<name>.safetensors          the four models (innsight model files, float)
#   OUTDIR/fashion_mnist_examples.rds  100 Fashion-MNIST test images with labels
#   OUTDIR/demo_models.json            per model: accuracies, parity, training details
# and stops with an error when a converted model's logits differ from PyTorch's by
# more than 1e-4 (relative to the largest absolute logit of the image or row).
suppressPackageStartupMessages(library(innsight))
args <- commandArgs(trailingOnly = TRUE)
work <- if (length(args)) args[1] else stop("usage: Rscript export.R WORKDIR [OUTDIR]")
out <- if (length(args) > 1) args[2] else file.path("inst", "extdata")
fmnist_dir <- Sys.getenv("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
report <- jsonlite::read_json(file.path(work, "report.json"))
classes <- unlist(report$fmnist_classes)
`%||%` <- function(a, b) if (is.null(a)) b else a
read_st <- function(file) innsight:::io_read_safetensors(file.path(work, file))$tensors

# ---- the list models ------------------------------------------------------------

# `layers` carry `input_layers`; the `output_layers` are derived from them and the
# last layer is the model's output.
as_graph <- function(layers, input_dim, ...) {
  n <- length(layers)
  for (i in seq_len(n)) {
    succ <- which(vapply(layers, function(l) i %in% l$input_layers, logical(1)))
    layers[[i]]$output_layers <- if (i == n) -1L else succ
  }
  list(input_dim = input_dim, input_nodes = 1L, output_nodes = n, layers = layers, ...)
}

# Builders in PyTorch's terms: w = state dict; `from` = predecessor(s).
conv2d <- function(w, key, from, padding = 0, act = "linear") {
  weight <- w[[paste0(key, ".weight")]]
  bias <- w[[paste0(key, ".bias")]] %||% numeric(dim(weight)[1])  # bias = False in torch
  list(type = "Conv2D", weight = weight, bias = as.vector(bias), padding = padding,
       activation_name = act, input_layers = from)
}
batchnorm <- function(w, key, from) {
  g <- as.vector(w[[paste0(key, ".weight")]])
  list(type = "BatchNorm", num_features = length(g), eps = 1e-5, gamma = g,
       beta = as.vector(w[[paste0(key, ".bias")]]),
       run_mean = as.vector(w[[paste0(key, ".running_mean")]]),
       run_var = as.vector(w[[paste0(key, ".running_var")]]), input_layers = from)
}
dense <- function(w, key, from, act) {
  list(type = "Dense", weight = w[[paste0(key, ".weight")]], bias = as.vector(w[[paste0(key, ".bias")]]),
       activation_name = act, input_layers = from)
}
relu <- function(from) list(type = "Activation", act_name = "relu", input_layers = from)
# Dropout is the identity at inference; the list format's Skipping layer keeps it
# visible in the converted model.
dropout <- function(from) list(type = "Skipping", input_layers = from)

fmnist_cnn <- function(w) {
  as_graph(list(
    conv2d(w, "conv1", 0, padding = 1),                                        # 1: 16 x 28 x 28
    batchnorm(w, "bn1", 1),                                                    # 2
    relu(2),                                                                   # 3
    list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 3),      # 4: 16 x 14 x 14
    conv2d(w, "conv2", 4, padding = 1),                                        # 5: 32 x 14 x 14
    batchnorm(w, "bn2", 5),                                                    # 6
    relu(6),                                                                   # 7
    list(type = "AveragePooling2D", kernel_size = c(2, 2), input_layers = 7),  # 8: 32 x 7 x 7
    list(type = "Flatten", input_layers = 8),                                  # 9: 1568, channels first like torch
    dropout(9),                                                                # 10
    dense(w, "fc1", 10, "relu"),                                               # 11: 64
    dropout(11),                                                               # 12
    dense(w, "fc2", 12, "softmax")                                             # 13: 10
  ), input_dim = c(1L, 28L, 28L))
}

fmnist_resnet <- function(w) {
  as_graph(list(
    conv2d(w, "stem_conv", 0, padding = 1),                                    # 1: 16 x 28 x 28
    batchnorm(w, "stem_bn", 1),                                                # 2
    relu(2),                                                                   # 3
    list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 3),      # 4: 16 x 14 x 14
    conv2d(w, "b1_conv1", 4, padding = 1),                                     # 5: residual block 1
    batchnorm(w, "b1_bn1", 5),                                                 # 6
    relu(6),                                                                   # 7
    conv2d(w, "b1_conv2", 7, padding = 1),                                     # 8
    batchnorm(w, "b1_bn2", 8),                                                 # 9
    list(type = "Add", input_layers = c(9, 4)),                                # 10
    relu(10),                                                                  # 11
    conv2d(w, "cat_a", 11, act = "relu"),                                      # 12: 1 x 1 branch
    conv2d(w, "cat_b", 11, padding = 1, act = "relu"),                         # 13: 3 x 3 branch
    list(type = "Concatenate", axis = 2, input_layers = c(12, 13)),            # 14: 32 x 14 x 14
    list(type = "AveragePooling2D", kernel_size = c(2, 2), input_layers = 14), # 15: 32 x 7 x 7
    conv2d(w, "b2_conv1", 15, padding = 1),                                    # 16: residual block 2
    batchnorm(w, "b2_bn1", 16),                                                # 17
    relu(17),                                                                  # 18
    conv2d(w, "b2_conv2", 18, padding = 1),                                    # 19
    batchnorm(w, "b2_bn2", 19),                                                # 20
    list(type = "Add", input_layers = c(20, 15)),                              # 21
    relu(21),                                                                  # 22
    list(type = "Flatten", input_layers = 22),                                 # 23: 1568
    dense(w, "fc", 23, "softmax")                                              # 24: 10
  ), input_dim = c(1L, 28L, 28L))
}

mlp <- function(w) {
  n_in <- dim(w[["fc1.weight"]])[2]
  as_graph(list(
    dense(w, "fc1", 0, "relu"),
    dense(w, "fc2", 1, "relu"),
    dense(w, "fc3", 2, "softmax")
  ), input_dim = n_in)
}

# ---- data ------------------------------------------------------------------------

read_idx <- function(file) {
  con <- gzfile(file.path(fmnist_dir, file), "rb")
  on.exit(close(con))
  magic <- readBin(con, "integer", 1, size = 4, endian = "big")
  dims <- readBin(con, "integer", magic %% 256, size = 4, endian = "big")
  bytes <- readBin(con, "raw", prod(dims))
  # row-major (n, 28, 28) -> R array (n, 28, 28)
  if (length(dims) == 1) return(as.integer(bytes))
  aperm(array(as.integer(bytes), rev(dims)), rev(seq_along(dims)))
}
test_x <- read_idx("t10k-images-idx3-ubyte.gz")
test_y <- read_idx("t10k-labels-idx1-ubyte.gz")
fmnist_x <- array(test_x / 255, c(dim(test_x)[1], 1, 28, 28))

tabular <- function(csv) {
  d <- utils::read.csv(file.path(work, csv))
  list(x = as.matrix(d[, setdiff(names(d), c("label", "test"))]), y = d$label, test = d$test)
}
iris_d <- tabular("iris.csv")
peng_d <- tabular("penguins.csv")

# ---- convert, check, write ----------------------------------------------------------

# max over rows of max |a - b| / max |b|
rel_diff <- function(a, b) max(apply(abs(a - b), 1, max) / apply(abs(b), 1, max))

# Logits in batches of 1000 rows. Not just for memory: when this script was written,
# the core's Winograd convolution gave wrong outputs for some rows of batches of 6633
# or more 16 x 14 x 14 inputs (3 x 3 kernel, padding 1); smaller batches are exact.
logits <- function(conv, x, dtype = NULL) {
  n <- dim(x)[1]
  chunks <- split(seq_len(n), (seq_len(n) - 1L) %/% 1000L)
  take <- function(i) if (length(dim(x)) == 2) x[i, , drop = FALSE] else x[i, , , , drop = FALSE]
  do.call(rbind, lapply(chunks, function(i) predict(conv, take(i), type = "preactivation", dtype = dtype)))
}

models <- list(
  fmnist_cnn = list(build = fmnist_cnn, x = fmnist_x, y = test_y, outputs = classes,
                    inputs = NULL, data = "Fashion-MNIST",
                    description = "CNN: Conv2D, BatchNorm, ReLU, max pooling, Conv2D, BatchNorm, ReLU, average pooling, Flatten, Dropout, Dense, Dropout, Dense"),
  fmnist_resnet = list(build = fmnist_resnet, x = fmnist_x, y = test_y, outputs = classes,
                       inputs = NULL, data = "Fashion-MNIST",
                       description = "residual CNN: stem, residual block (Add), two parallel convolutions (Concatenate), average pooling, residual block (Add), Flatten, Dense"),
  iris_mlp = list(build = mlp, x = iris_d$x, y = iris_d$y, test = iris_d$test,
                  outputs = levels(iris$Species), inputs = colnames(iris_d$x), data = "iris",
                  description = "MLP 4 -> 16 -> 16 -> 3 (ReLU) on the raw measurements"),
  penguin_mlp = list(build = mlp, x = peng_d$x, y = peng_d$y, test = peng_d$test,
                     outputs = c("Adelie", "Chinstrap", "Gentoo"), inputs = colnames(peng_d$x),
                     data = "palmerpenguins",
                     description = "MLP 4 -> 16 -> 16 -> 3 (ReLU) on the raw body measurements")
)

dir.create(out, showWarnings = FALSE, recursive = TRUE)
ex_idx <- unlist(report$fmnist_examples) + 1L  # 1-based test-set rows
info <- list()
for (name in names(models)) {
  m <- models[[name]]
  w <- read_st(paste0(name, ".safetensors"))
  ref <- read_st(paste0(name, "_logits.safetensors"))
  stopifnot(all(ref$labels == m$y))
  conv <- convert(m$build(w), input_names = m$inputs, output_names = m$outputs)
  file <- file.path(out, paste0(name, ".safetensors"))
  save_model(conv, file)
  shipped <- load_model(file)  # what users get: float weights as stored
  parity <- vapply(c("float", "double"), function(dt) {
    rel_diff(logits(shipped, m$x, dt), ref$logits)
  }, numeric(1))
  pred <- max.col(logits(shipped, m$x), ties.method = "first") - 1L
  torch_rep <- report$models[[name]]
  rows <- if (is.null(m$test)) seq_along(m$y) else which(m$test)
  acc <- mean(pred[rows] == m$y[rows])
  cat(sprintf("%-14s test accuracy PyTorch %.4f, innsight %.4f (n = %d); max relative logit difference: float %.2e, double %.2e; %s bytes\n",
              name, torch_rep$test_accuracy, acc, length(rows), parity[["float"]], parity[["double"]],
              format(file.size(file), big.mark = ",")))
  if (any(parity > 1e-4)) stop(name, ": converted logits differ from PyTorch's by more than 1e-4")
  entry <- list(
    file = basename(file), data = m$data, description = m$description,
    input_dim = I(unlist(conv$input_dim)), classes = I(m$outputs),
    test_accuracy = round(acc, 6), test_accuracy_pytorch = round(torch_rep$test_accuracy, 6),
    n_test = length(rows), train_accuracy_pytorch = round(torch_rep$train_accuracy, 6),
    n_train = torch_rep$n_train, parameters = torch_rep$parameters,
    epochs = torch_rep$epochs, training_seconds = torch_rep$seconds,
    parity_max_rel_diff = list(float = signif(parity[["float"]], 3), double = signif(parity[["double"]], 3)),
    file_bytes = file.size(file)
  )
  if (is.null(m$test)) {
    # the shipped examples: accuracy and PyTorch's logits, re-checked by the tests
    entry$examples_accuracy <- mean(pred[ex_idx] == m$y[ex_idx])
    entry$examples_logits <- I(unname(lapply(ex_idx, function(i) signif(ref$logits[i, ], 7))))
  } else {
    entry$features <- I(m$inputs)
    entry$test_rows <- "every third row (rows 3, 6, 9, ...)"
    entry$test_logits <- I(unname(lapply(rows, function(i) signif(ref$logits[i, ], 7))))
  }
  info[[name]] <- entry
}

examples <- list(
  x = array(as.raw(test_x[ex_idx, , ]), c(length(ex_idx), 28, 28)),
  y = factor(classes[test_y[ex_idx] + 1L], levels = classes),
  test_index = ex_idx,
  source = "Fashion-MNIST test set (Zalando Research, MIT licence), Debian package dataset-fashion-mnist"
)
saveRDS(examples, file.path(out, "fashion_mnist_examples.rds"), compress = "xz", version = 2)

meta <- list(
  about = "innsight's demo models, trained by tools/demo-models (see its README.md)",
  seed = report$seed, torch = report$torch, threads = report$threads,
  fmnist_classes = I(classes), models = info
)
jsonlite::write_json(meta, file.path(out, "demo_models.json"), auto_unbox = TRUE, pretty = TRUE, digits = NA)
cat("wrote", length(models), "models, fashion_mnist_examples.rds and demo_models.json to", out, "\n")
sizes <- file.size(file.path(out, c(paste0(names(models), ".safetensors"), "fashion_mnist_examples.rds", "demo_models.json")))
cat("total size:", format(sum(sizes), big.mark = ","), "bytes\n")
