# The demo models and data that ship in inst/extdata: four small networks trained
# with PyTorch by tools/demo-models (see its README.md), stored as innsight model
# files, their recorded accuracies (demo_models.json) and 100 Fashion-MNIST test
# images (fashion_mnist_examples.rds).

demo_model_names <- c("fmnist_cnn", "fmnist_resnet", "iris_mlp", "penguin_mlp")

demo_cache <- new.env(parent = emptyenv())

demo_file <- function(file, call = parent.frame()) {
  path <- system.file("extdata", file, package = "innsight")
  if (!nzchar(path)) {
    innsight_abort("The demo file {.file {file}} is missing from the installation.", kind = "internal", call = call)
  }
  path
}

demo_models_json <- function(call = parent.frame()) {
  if (is.null(demo_cache$json)) {
    demo_cache$json <- jsonlite::read_json(demo_file("demo_models.json", call = call))
  }
  demo_cache$json
}

#' Trained demo models
#'
#' innsight ships four small networks trained on real data, so that examples,
#' tests and vignettes can explain models that have learned something.
#' `innsight_demo_model()` loads one as a [`Converter`] (or returns the path of its
#' model file); `innsight_demo_models()` lists them with their test accuracies.
#'
#' | Name | Data | Input | Architecture |
#' |---|---|---|---|
#' | `"fmnist_cnn"` | Fashion-MNIST | `1 x 28 x 28` image | Conv2D, BatchNorm, ReLU, max pooling, Conv2D, BatchNorm, ReLU, average pooling, Flatten, Dropout, Dense (64), Dropout, Dense (10) |
#' | `"fmnist_resnet"` | Fashion-MNIST | `1 x 28 x 28` image | stem (Conv2D, BatchNorm, ReLU, max pooling), a residual block (Add), two parallel convolutions joined by Concatenate, average pooling, a second residual block, Flatten, Dense (10) |
#' | `"iris_mlp"` | [iris][datasets::iris] | the four measurements (cm) | Dense 16, 16, 3 (ReLU) |
#' | `"penguin_mlp"` | palmerpenguins' `penguins` | `bill_length_mm`, `bill_depth_mm`, `flipper_length_mm`, `body_mass_g` | Dense 16, 16, 3 (ReLU) |
#'
#' The image models take Fashion-MNIST images scaled to `[0, 1]`, channels first
#' (`(batch, 1, 28, 28)`, as [fashion_mnist_examples()] returns them; pass
#' `channels_first = FALSE` to the methods for `(batch, 28, 28, 1)`), and give
#' softmax probabilities for the ten classes. The tabular models take the raw
#' measurements (the standardisation used in training is part of the first layer);
#' their output names are the species. Dropout is the identity at inference and
#' appears as a `Skipping` layer.
#'
#' The models were trained with PyTorch on the CPU with fixed seeds by the scripts in
#' the package sources' `tools/demo-models/`, which also check that the converted
#' models give PyTorch's logits. The Fashion-MNIST models were trained on the 60,000
#' training images and tested on the 10,000 test images; the tabular models were
#' tested on every third row of the data (iris: 50 rows; penguins with all four
#' measurements: 114 of 342 rows) and trained on the others.
#'
#' @param name (`character(1)`)\cr One of `"fmnist_cnn"` (default),
#'   `"fmnist_resnet"`, `"iris_mlp"` and `"penguin_mlp"`.
#' @param path (`logical(1)`)\cr `TRUE` returns the path of the model file instead
#'   of a converter (e.g. for [load_model()] or `Converter$new()`).
#' @param dtype (`character(1)` or `NULL`)\cr Passed to [load_model()]: `NULL` keeps
#'   the stored precision (`"float"`), `"double"` converts.
#' @return `innsight_demo_model()`: a [`Converter`], or a file path with
#'   `path = TRUE`. `innsight_demo_models()`: a data frame with one row per model
#'   and the columns `name`, `data`, `input`, `classes` (number of classes),
#'   `test_accuracy`, `n_test` (the number of test images or rows), `parameters` and
#'   `description`.
#' @seealso [fashion_mnist_examples()], [innsight_demo()]
#' @examples
#' innsight_demo_models()[, c("name", "data", "test_accuracy", "n_test")]
#'
#' # a CNN for Fashion-MNIST
#' conv <- innsight_demo_model("fmnist_cnn")
#' ex <- fashion_mnist_examples(4)
#' round(predict(conv, ex$x), 2)
#' ex$y
#'
#' # an MLP for iris, on the raw measurements
#' mlp <- innsight_demo_model("iris_mlp")
#' x <- iris[c(1, 51, 101), 1:4]
#' predict(mlp, x)
#' res <- run_grad(mlp, x, times_input = TRUE, output_idx = 1:3)
#' get_result(res)[, , 1]
#'
#' # the model file itself
#' innsight_demo_model("penguin_mlp", path = TRUE)
#' @export
innsight_demo_model <- function(name = "fmnist_cnn", path = FALSE, dtype = NULL) {
  check_choice(name, demo_model_names, "name")
  check_flag(path)
  if (!is.null(dtype)) check_dtype(dtype)
  file <- demo_file(paste0(name, ".safetensors"))
  if (path) file else load_model(file, dtype = dtype)
}

#' @rdname innsight_demo_model
#' @export
innsight_demo_models <- function() {
  info <- demo_models_json()$models[demo_model_names]
  data.frame(
    name = demo_model_names,
    data = vapply(info, function(m) m$data, ""),
    input = vapply(info, function(m) paste(unlist(m$input_dim), collapse = " x "), ""),
    classes = vapply(info, function(m) length(m$classes), 0L),
    test_accuracy = vapply(info, function(m) m$test_accuracy, 0),
    n_test = vapply(info, function(m) as.integer(m$n_test), 0L),
    parameters = vapply(info, function(m) as.integer(m$parameters), 0L),
    description = vapply(info, function(m) m$description, ""),
    row.names = NULL, stringsAsFactors = FALSE
  )
}

#' Fashion-MNIST example images
#'
#' 100 images of the Fashion-MNIST test set (Zalando Research; MIT licence) with
#' their labels, for the demo models [innsight_demo_model()]`("fmnist_cnn")` and
#' `("fmnist_resnet")`. They are the first ten test images of each of the ten
#' classes, interleaved by class: image `i` shows class `(i - 1) %% 10 + 1`, so any
#' ten consecutive images show each class once. The demo models were not trained on
#' them.
#'
#' @param n (`integer(1)`)\cr How many images, 1 to 100 (default 16).
#' @param channels_first (`logical(1)`)\cr `TRUE` (default) for the layout
#'   `(n, 1, 28, 28)` the models expect; `FALSE` for `(n, 28, 28, 1)`, in which case
#'   the methods need `channels_first = FALSE`.
#' @return A list with `x`, a numeric array of the images with grey values in
#'   `[0, 1]` (0 is the black background; rows are the images' rows from top to
#'   bottom), and `y`, a factor of the labels with the ten class names as levels:
#'   `"T-shirt/top"`, `"Trouser"`, `"Pullover"`, `"Dress"`, `"Coat"`, `"Sandal"`,
#'   `"Shirt"`, `"Sneaker"`, `"Bag"` and `"Ankle boot"`.
#' @seealso [innsight_demo_model()]
#' @examples
#' ex <- fashion_mnist_examples(10)
#' dim(ex$x)
#' ex$y
#' # the first image (the channel axis dropped), as a picture
#' image(t(ex$x[1, 1, 28:1, ]), col = grey.colors(256, 0, 1), axes = FALSE,
#'       main = ex$y[1])
#' # channels last
#' dim(fashion_mnist_examples(2, channels_first = FALSE)$x)
#' @export
fashion_mnist_examples <- function(n = 16, channels_first = TRUE) {
  n <- check_count(n)
  check_flag(channels_first)
  if (is.null(demo_cache$fmnist)) demo_cache$fmnist <- readRDS(demo_file("fashion_mnist_examples.rds"))
  ex <- demo_cache$fmnist
  total <- dim(ex$x)[1]
  if (n > total) {
    innsight_abort("{.arg n} must be at most {total}, the number of shipped images, not {n}.")
  }
  x <- array(as.integer(ex$x[seq_len(n), , , drop = FALSE]) / 255, c(n, 28, 28))
  x <- if (channels_first) array(x, c(n, 1, 28, 28)) else array(x, c(n, 28, 28, 1))
  list(x = x, y = ex$y[seq_len(n)])
}
