# Images for ImageNet models: reading PNG/JPEG files into a batch array (resized in
# the Rust core), the three usual preprocessing conventions, the 1000 class names
# and a decoder for predictions.

#' Load PNG and JPEG images as a batch array
#'
#' Reads image files, converts them to RGB, resizes them to a common size and
#' stacks them into one array, ready for [imagenet_preprocess()] and a model.
#'
#' @details
#' * **Formats**: PNG (through the package \pkg{png}) and JPEG (through \pkg{jpeg}),
#'   recognised by their content, not their file name. 8- and 16-bit PNGs are read
#'   at full precision: 16-bit values are scaled to 0–255 and keep their
#'   fractional part. Grey images are repeated into three channels; an alpha
#'   channel is dropped (not blended), as Keras' and Pillow's RGB conversion do.
#' * **Resizing** happens in the package's compiled core. The default
#'   `"bilinear"` is Pillow's bilinear filter, which is also what torchvision's
#'   `Resize()` uses: when an image is shrunk, the filter is widened by the
#'   shrinking factor so that every source pixel contributes (antialiasing),
#'   instead of sampling only the 2 x 2 pixels nearest to each output pixel, which
#'   would alias fine detail. `"bicubic"` and `"lanczos"` are Pillow's filters of
#'   the same names (each resampling pass is clipped to 0–255, as in Pillow);
#'   `"nearest"` picks the pixel under each output pixel's centre and is what
#'   Keras' `image_load()` does by default. Rows are resampled before columns.
#'   Computations are in double precision without rounding, so results agree with
#'   Pillow's floating-point images to rounding error and with its 8-bit images
#'   (which Pillow rounds to whole numbers) to within one grey level.
#'
#' @param paths (`character`)\cr Paths of PNG or JPEG files.
#' @param target_size (`integer(2)` or `NULL`)\cr Output `c(height, width)`. With
#'   `NULL`, the images are not resized and must all have the same size.
#' @param channels_first (`logical(1)`)\cr Return `(batch, 3, height, width)`
#'   instead of `(batch, height, width, 3)`.
#' @param interpolation (`character(1)`)\cr Resizing filter: `"bilinear"`
#'   (default), `"bicubic"`, `"lanczos"` or `"nearest"`.
#' @return A double array `(batch, height, width, 3)` (or channels first) with RGB
#'   values between 0 and 255, in the order of `paths`.
#' @seealso [imagenet_preprocess()], [decode_predictions()]
#' @examples
#' if (requireNamespace("png", quietly = TRUE)) {
#'   f <- tempfile(fileext = ".png")
#'   img <- array(0, c(60, 80, 3))
#'   img[, , 1] <- outer(seq(0, 1, length.out = 60), rep(1, 80))   # red ramp
#'   img[20:40, 30:50, 3] <- 1                                       # blue square
#'   png::writePNG(img, f)
#'   x <- load_images(f, target_size = c(32, 32))
#'   dim(x)
#'   range(x)
#'   unlink(f)
#' }
#' @export
load_images <- function(paths, target_size = c(224, 224), channels_first = FALSE,
                        interpolation = "bilinear") {
  if (!is.character(paths) || length(paths) == 0 || anyNA(paths)) {
    innsight_abort("{.arg paths} must be a character vector of image file paths.")
  }
  if (!is.null(target_size)) {
    if (!is_integerish(target_size) || length(target_size) != 2 || any(target_size < 1)) {
      innsight_abort("{.arg target_size} must be {.code NULL} or two positive whole numbers: {.code c(height, width)}.")
    }
    target_size <- as.integer(target_size)
  }
  check_flag(channels_first)
  check_choice(interpolation, c("bilinear", "bicubic", "lanczos", "nearest"))
  missing_files <- paths[!file.exists(paths)]
  if (length(missing_files) > 0) {
    innsight_abort("{cli::qty(length(missing_files))}File{?s} not found: {.file {missing_files}}.", kind = "data")
  }
  images <- lapply(paths, read_image_rgb)
  if (is.null(target_size)) {
    sizes <- vapply(images, function(im) paste(dim(im)[1:2], collapse = " x "), "")
    if (length(unique(sizes)) > 1) {
      innsight_abort(c("The images have different sizes and {.arg target_size} is {.code NULL}.",
                       "x" = "Sizes: {.val {unique(sizes)}}.",
                       "i" = "Give a {.arg target_size} to resize them."), kind = "data")
    }
    target_size <- dim(images[[1]])[1:2]
  }
  out <- array(0, c(length(images), target_size, 3))
  for (b in seq_along(images)) {
    im <- images[[b]]
    if (!identical(dim(im)[1:2], target_size)) {
      im <- rust_call(image_resize(im, target_size[1], target_size[2], interpolation, 0, 255))
    }
    out[b, , , ] <- im
  }
  if (channels_first) out <- aperm(out, c(1, 4, 2, 3))
  out
}

# One file -> (H, W, 3) double array with values in 0..255.
read_image_rgb <- function(path, call = parent.frame()) {
  con <- file(path, "rb")
  magic <- tryCatch(readBin(con, "raw", 8), finally = close(con))
  is_png <- length(magic) == 8 && identical(magic, as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)))
  is_jpeg <- length(magic) >= 3 && identical(magic[1:3], as.raw(c(0xff, 0xd8, 0xff)))
  if (!is_png && !is_jpeg) {
    innsight_abort("{.file {path}} is neither a PNG nor a JPEG file.", kind = "data", call = call)
  }
  pkg <- if (is_png) "png" else "jpeg"
  if (!requireNamespace(pkg, quietly = TRUE)) {
    innsight_abort("Reading {toupper(pkg)} files needs the package {.pkg {pkg}}.", kind = "data", call = call)
  }
  x <- tryCatch(
    if (is_png) png::readPNG(path, info = TRUE) else jpeg::readJPEG(path),
    error = function(e) {
      innsight_abort(c("Could not decode {.file {path}}.", "x" = conditionMessage(e)), kind = "data", call = call)
    }
  )
  bits <- if (is_png) attr(x, "info")$bit.depth %||% 8 else 8
  attributes(x) <- list(dim = dim(x) %||% length(x))
  if (length(dim(x)) == 2) dim(x) <- c(dim(x), 1L)
  if (length(dim(x)) != 3 || !dim(x)[3] %in% 1:4) {
    innsight_abort("{.file {path}} has an unsupported layout ({length(dim(x))} axes, {dim(x)[3]} channels).",
                   kind = "data", call = call)
  }
  # grey (+ alpha) -> RGB; the alpha channel is dropped
  x <- switch(dim(x)[3], x[, , c(1, 1, 1), drop = FALSE], x[, , c(1, 1, 1), drop = FALSE],
              x, x[, , 1:3, drop = FALSE])
  # the decoders return v / (2^bits - 1); up to 8 bits the 0..255 values are whole
  x <- x * 255
  if (bits <= 8) x <- round(x)
  storage.mode(x) <- "double"
  x
}

#' Preprocess images for ImageNet models
#'
#' Applies one of the three input conventions of ImageNet-trained models to RGB
#' images with values between 0 and 255 (as returned by [load_images()]):
#'
#' * `"caffe"` (Keras' VGG16, VGG19 and ResNet50): the channels are reordered from
#'   RGB to BGR and the ImageNet channel means (B 103.939, G 116.779, R 123.68) are
#'   subtracted; no scaling.
#' * `"torch"` (torchvision and most timm models): `x / 255`, then the ImageNet mean
#'   (0.485, 0.456, 0.406) is subtracted and the result divided by the standard
#'   deviation (0.229, 0.224, 0.225), per RGB channel.
#' * `"tf"` (e.g. Keras' MobileNet, Inception): `x / 127.5 - 1`, into -1 to 1.
#'
#' @param x (`array`)\cr Images with a channel axis of length 3: `(batch, height,
#'   width, 3)`, or `(batch, 3, height, width)` when `channels_first = TRUE`; a single
#'   image `(height, width, 3)` is also accepted.
#' @param mode (`character(1)`)\cr `"caffe"`, `"torch"` or `"tf"`.
#' @param channels_first (`logical(1)`)\cr Whether the channel axis is the second
#'   axis (otherwise it is the last one).
#' @return An array of the same shape.
#' @examples
#' x <- array(c(255, 128, 0), c(1, 1, 1, 3))  # one orange pixel
#' imagenet_preprocess(x, "caffe")  # BGR order, means subtracted
#' imagenet_preprocess(x, "torch")
#' imagenet_preprocess(x, "tf")
#' @export
imagenet_preprocess <- function(x, mode = c("caffe", "torch", "tf"), channels_first = FALSE) {
  mode <- if (missing(mode)) "caffe" else mode
  check_choice(mode, c("caffe", "torch", "tf"))
  check_flag(channels_first)
  if (!is.numeric(x) || is.null(dim(x)) || length(dim(x)) < 3) {
    innsight_abort("{.arg x} must be a numeric array of images with a channel axis (at least 3 axes).", kind = "data")
  }
  axis <- if (channels_first && length(dim(x)) > 3) 2L else length(dim(x))
  if (channels_first && length(dim(x)) == 3) axis <- 1L
  if (dim(x)[axis] != 3) {
    innsight_abort(c("The channel axis of {.arg x} must have length 3 (RGB).",
                     "x" = "Axis {axis} has length {dim(x)[axis]}.",
                     "i" = "Check {.arg channels_first}."), kind = "data")
  }
  storage.mode(x) <- "double"
  switch(mode,
    caffe = {
      idx <- rep(list(TRUE), length(dim(x)))
      idx[[axis]] <- 3:1
      x <- do.call(`[`, c(list(x), idx, list(drop = FALSE)))
      sweep(x, axis, c(103.939, 116.779, 123.68), check.margin = FALSE)
    },
    torch = {
      x <- sweep(x / 255, axis, c(0.485, 0.456, 0.406), check.margin = FALSE)
      sweep(x, axis, c(0.229, 0.224, 0.225), "/", check.margin = FALSE)
    },
    tf = x / 127.5 - 1
  )
}

imagenet_label_cache <- new.env(parent = emptyenv())

#' ImageNet class names
#'
#' The 1000 classes of the ImageNet (ILSVRC 2012) classification task, in the order
#' of the outputs of ImageNet models (the class index order, which is the sorted
#' order of the WordNet ids).
#'
#' The descriptions are torchvision's short class names (unique, e.g. `"tench"`,
#' `"great white shark"`, `"crane"` and `"crane bird"`); the WordNet ids are those
#' of the ILSVRC synsets as listed by timm. See `inst/COPYRIGHTS` for their origin.
#'
#' @param what (`character(1)`)\cr `"description"` (default) for the class names,
#'   `"wnid"` for the WordNet ids, or `"table"` for a data frame with the columns
#'   `index` (1 to 1000), `class_name` (WordNet id) and `class_description`.
#' @return A character vector of length 1000, or a data frame.
#' @seealso [decode_predictions()]
#' @examples
#' head(imagenet_labels())
#' imagenet_labels("wnid")[1:3]
#' @export
imagenet_labels <- function(what = c("description", "wnid", "table")) {
  what <- if (missing(what)) "description" else what
  check_choice(what, c("description", "wnid", "table"))
  tab <- imagenet_label_cache$table
  if (is.null(tab)) {
    path <- system.file("extdata", "imagenet_labels.txt", package = "innsight")
    if (!nzchar(path)) innsight_abort("The ImageNet label file is missing from the installation.", kind = "internal")
    raw <- utils::read.delim(path, header = TRUE, colClasses = "character", quote = "", comment.char = "")
    tab <- data.frame(index = seq_len(nrow(raw)), class_name = raw$wnid, class_description = raw$description)
    imagenet_label_cache$table <- tab
  }
  switch(what, description = tab$class_description, wnid = tab$class_name, table = tab)
}

#' Decode ImageNet predictions
#'
#' The `top` most likely classes for each row of a matrix of ImageNet model outputs,
#' like Keras' `imagenet_decode_predictions()`.
#'
#' @param preds (`matrix`)\cr Model outputs `(batch, 1000)` (e.g. from
#'   [predict()][predict.Converter]); a vector of 1000 values is one row.
#' @param top (`integer(1)`)\cr Number of classes per row (1 to 1000).
#' @return A list with one data frame per row of `preds`, with the columns
#'   `class_name` (WordNet id), `class_description` and `score`, sorted by
#'   decreasing score.
#' @seealso [imagenet_labels()]
#' @examples
#' p <- matrix(0, 2, 1000)
#' p[1, c(1, 2)] <- c(0.7, 0.2)
#' p[2, 208] <- 1
#' decode_predictions(p, top = 2)
#' @export
decode_predictions <- function(preds, top = 5) {
  if (is.data.frame(preds)) preds <- as.matrix(preds)
  if (is.numeric(preds) && is.null(dim(preds))) preds <- matrix(preds, nrow = 1)
  if (!is.numeric(preds) || length(dim(preds)) != 2 || ncol(preds) != 1000) {
    innsight_abort(c("{.arg preds} must be a numeric matrix with 1000 columns (one per ImageNet class).",
                     "x" = "Got {.cls {class(preds)}} with dims {.val {paste(dim(preds) %||% length(preds), collapse = ' x ')}}."),
                   kind = "data")
  }
  if (anyNA(preds)) {
    innsight_abort("{.arg preds} must not contain missing values (NA or NaN).", kind = "data")
  }
  check_count(top)
  if (top > 1000) innsight_abort("{.arg top} must be at most 1000.")
  tab <- imagenet_labels("table")
  lapply(seq_len(nrow(preds)), function(i) {
    s <- as.numeric(preds[i, ])
    idx <- order(s, decreasing = TRUE)[seq_len(top)]
    data.frame(class_name = tab$class_name[idx], class_description = tab$class_description[idx],
               score = s[idx], stringsAsFactors = FALSE)
  })
}
