# Image helpers: load_images() (PNG/JPEG decoding, RGB conversion, resizing in
# Rust), imagenet_preprocess(), imagenet_labels(), decode_predictions(). The images
# are made here; the resize is checked through exact properties (and against Pillow
# in a dev-only test when INNSIGHT_PIL_PYTHON names a Python with Pillow and numpy).

new_dir <- function() {
  d <- tempfile("innsight-images-")
  dir.create(d)
  d
}

# A PNG file written by hand (16-bit samples are not offered by png::writePNG).
# `x`: integer array (H, W, C) with C = 1 (grey), 3 (RGB) or 4 (RGBA).
write_png_raw <- function(x, path, bits = 16) {
  crc_table <- vapply(0:255, function(n) {
    c <- n
    for (k in 1:8) c <- if (bitwAnd(c, 1) == 1) bitwXor(0xEDB88320 - 2^32, bitwShiftR(c, 1)) else bitwShiftR(c, 1)
    c
  }, 0)
  crc32 <- function(bytes) {
    c <- -1L
    for (b in as.integer(bytes)) c <- bitwXor(crc_table[bitwAnd(bitwXor(c, b), 255) + 1], bitwShiftR(c, 8))
    bitwNot(c)
  }
  be32 <- function(v) as.raw(c(bitwAnd(bitwShiftR(v, 24), 255), bitwAnd(bitwShiftR(v, 16), 255),
                               bitwAnd(bitwShiftR(v, 8), 255), bitwAnd(v, 255)))
  chunk <- function(type, data) {
    td <- c(charToRaw(type), data)
    c(be32(length(data)), td, be32(crc32(td)))
  }
  d <- dim(x)
  colour <- c(`1` = 0L, `3` = 2L, `4` = 6L)[[as.character(d[3])]]
  ihdr <- c(be32(d[2]), be32(d[1]), as.raw(c(bits, colour, 0, 0, 0)))
  rows <- lapply(seq_len(d[1]), function(i) {
    v <- as.vector(t(matrix(x[i, , ], d[2], d[3])))  # pixel by pixel, channels interleaved
    bytes <- if (bits == 16) as.vector(rbind(v %/% 256, v %% 256)) else v
    c(as.raw(0), as.raw(bytes))
  })
  idat <- memCompress(do.call(c, rows), "gzip")
  writeBin(c(as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), chunk("IHDR", ihdr), chunk("IDAT", idat),
             chunk("IEND", raw(0))), path)
}

test_that("8-bit PNG in RGB, grey, grey+alpha and RGBA load exactly as 0..255 RGB", {
  skip_if_not_installed("png")
  dir <- new_dir()
  rgb <- with_seed(1, array(sample(0:255, 6 * 5 * 3, replace = TRUE), c(6, 5, 3)))
  alpha <- with_seed(2, matrix(sample(0:255, 30, replace = TRUE), 6, 5))
  png::writePNG(rgb / 255, file.path(dir, "rgb.png"))
  png::writePNG(rgb[, , 2] / 255, file.path(dir, "grey.png"))
  png::writePNG(array(c(rgb[, , 2], alpha) / 255, c(6, 5, 2)), file.path(dir, "ga.png"))
  png::writePNG(array(c(rgb, alpha) / 255, c(6, 5, 4)), file.path(dir, "rgba.png"))
  x <- load_images(file.path(dir, c("rgb.png", "grey.png", "ga.png", "rgba.png")), target_size = NULL)
  expect_equal(dim(x), c(4L, 6L, 5L, 3L))
  expect_identical(x[1, , , ], rgb * 1.0)
  grey <- array(rgb[, , 2], c(6, 5, 3))
  expect_identical(x[2, , , ], grey * 1.0)
  expect_identical(x[3, , , ], grey * 1.0)     # alpha dropped
  expect_identical(x[4, , , ], rgb * 1.0)
  # channels first
  xc <- load_images(file.path(dir, "rgb.png"), target_size = NULL, channels_first = TRUE)
  expect_equal(dim(xc), c(1L, 3L, 6L, 5L))
  expect_identical(xc[1, , , ], aperm(rgb * 1.0, c(3, 1, 2)))
  # same size: resizing is the identity, whatever the filter
  for (f in c("bilinear", "bicubic", "lanczos", "nearest")) {
    expect_identical(load_images(file.path(dir, "rgb.png"), c(6, 5), interpolation = f)[1, , , ], rgb * 1.0)
  }
})

test_that("16-bit PNGs keep their precision (scaled to 0..255)", {
  skip_if_not_installed("png")
  dir <- new_dir()
  v <- with_seed(3, array(sample(0:65535, 4 * 3 * 3, replace = TRUE), c(4, 3, 3)))
  write_png_raw(v, file.path(dir, "rgb16.png"))
  write_png_raw(v[, , 1, drop = FALSE], file.path(dir, "grey16.png"))
  write_png_raw(array(c(v, v[, , 1]), c(4, 3, 4)), file.path(dir, "rgba16.png"))
  x <- load_images(file.path(dir, c("rgb16.png", "grey16.png", "rgba16.png")), target_size = NULL)
  expect_equal(x[1, , , ], v / 65535 * 255, tolerance = 1e-12)
  expect_equal(x[2, , , ], array(v[, , 1], c(4, 3, 3)) / 65535 * 255, tolerance = 1e-12)
  expect_equal(x[3, , , ], v / 65535 * 255, tolerance = 1e-12)
  expect_false(all(x == round(x)))
  # the hand-written 8-bit path agrees with png::writePNG's
  v8 <- with_seed(4, array(sample(0:255, 4 * 3 * 3, replace = TRUE), c(4, 3, 3)))
  write_png_raw(v8, file.path(dir, "rgb8.png"), bits = 8)
  expect_identical(load_images(file.path(dir, "rgb8.png"), NULL)[1, , , ], v8 * 1.0)
})

test_that("JPEG files (colour and grey) load close to what was written", {
  skip_if_not_installed("jpeg")
  dir <- new_dir()
  img <- array(0, c(32, 48, 3))
  img[, , 1] <- outer(seq(0, 1, length.out = 32), rep(1, 48))
  img[, , 2] <- 0.5
  img[, , 3] <- outer(rep(1, 32), seq(1, 0, length.out = 48))
  jpeg::writeJPEG(img, file.path(dir, "a.jpg"), quality = 1)
  jpeg::writeJPEG(img[, , 1], file.path(dir, "g.jpeg"), quality = 1)
  x <- load_images(file.path(dir, c("a.jpg", "g.jpeg")), target_size = NULL)
  expect_equal(dim(x), c(2L, 32L, 48L, 3L))
  expect_true(all(x == round(x)) && min(x) >= 0 && max(x) <= 255)
  expect_lt(max(abs(x[1, , , ] - img * 255)), 12)                # lossy, but close
  expect_identical(x[2, , , 1], x[2, , , 2])                    # grey -> 3 equal channels
  expect_lt(max(abs(x[2, , , 3] - img[, , 1] * 255)), 12)
  # the format comes from the content, not the name
  file.copy(file.path(dir, "a.jpg"), file.path(dir, "really_a_jpeg.png"))
  expect_identical(load_images(file.path(dir, "really_a_jpeg.png"), NULL), x[1, , , , drop = FALSE])
})

test_that("resizing: constant images stay constant, checkerboards average, sizes and layout", {
  skip_if_not_installed("png")
  dir <- new_dir()
  png::writePNG(array(rep(c(0.2, 0.6, 1), each = 37 * 53), c(37, 53, 3)), file.path(dir, "const.png"))
  for (f in c("bilinear", "bicubic", "lanczos", "nearest")) {
    for (size in list(c(10, 7), c(80, 120), c(37, 10))) {
      x <- load_images(file.path(dir, "const.png"), size, interpolation = f)
      expect_equal(dim(x), c(1L, as.integer(size), 3L))
      expect_equal(range(x[1, , , 1]), c(51, 51), tolerance = 1e-12)
      expect_equal(range(x[1, , , 3]), c(255, 255), tolerance = 1e-12)
    }
  }
  # a one-pixel checkerboard halved: every inner output pixel is the average
  cb <- outer(1:40, 1:30, function(i, j) (i + j) %% 2)
  png::writePNG(cb, file.path(dir, "cb.png"))
  y <- load_images(file.path(dir, "cb.png"), c(20, 15))[1, , , 1]
  expect_equal(y[2:19, 2:14], matrix(127.5, 18, 13), tolerance = 1e-12)
  # a horizontal ramp stays a ramp in x and constant in y (rows/columns not swapped)
  ramp <- outer(rep(1, 30), seq(0, 1, length.out = 60))
  png::writePNG(ramp, file.path(dir, "ramp.png"))
  r <- load_images(file.path(dir, "ramp.png"), c(10, 20))[1, , , 1]
  expect_equal(apply(r, 2, function(v) diff(range(v))), rep(0, 20))
  expect_true(all(diff(r[1, ]) > 0))
  # shrinking sees every pixel (antialiasing): stripes of width 1 halved are flat
  # inside, where 2 x 2 bilinear sampling would pick one stripe colour
  stripes <- outer(rep(1, 8), rep(c(0, 1), 16))
  png::writePNG(stripes, file.path(dir, "stripes.png"))
  s <- load_images(file.path(dir, "stripes.png"), c(8, 16))[1, , , 1]
  expect_equal(s[, 2:15], matrix(127.5, 8, 14), tolerance = 1e-12)
})

test_that("load_images() rejects bad input with classed errors", {
  skip_if_not_installed("png")
  dir <- new_dir()
  png::writePNG(array(0.5, c(4, 4, 3)), file.path(dir, "a.png"))
  png::writePNG(array(0.5, c(5, 4, 3)), file.path(dir, "b.png"))
  writeLines("not an image", file.path(dir, "c.png"))
  writeBin(as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3)), file.path(dir, "broken.png"))
  expect_innsight_error(load_images(file.path(dir, "nope.png")), "data", regexp = "nope.png")
  expect_innsight_error(load_images(file.path(dir, c("a.png", "b.png")), NULL), "data", regexp = "different sizes")
  expect_innsight_error(load_images(file.path(dir, "c.png")), "data", regexp = "neither a PNG nor a JPEG")
  expect_innsight_error(load_images(file.path(dir, "broken.png")), "data", regexp = "decode")
  expect_innsight_error(load_images(1), "argument")
  expect_innsight_error(load_images(file.path(dir, "a.png"), c(0, 3)), "argument")
  expect_innsight_error(load_images(file.path(dir, "a.png"), interpolation = "cubic"), "argument")
  expect_equal(dim(load_images(file.path(dir, c("a.png", "b.png")), c(3, 3))), c(2L, 3L, 3L, 3L))
})

test_that("imagenet_preprocess() implements caffe, torch and tf", {
  x <- array(c(10, 20, 30, 200, 100, 0), c(2, 1, 1, 3))  # 2 pixels, channel last
  x[, , , 1] <- c(10, 200); x[, , , 2] <- c(20, 100); x[, , , 3] <- c(30, 0)
  caffe <- imagenet_preprocess(x)
  expect_equal(caffe[1, 1, 1, ], c(30 - 103.939, 20 - 116.779, 10 - 123.68))
  expect_equal(caffe[2, 1, 1, ], c(0 - 103.939, 100 - 116.779, 200 - 123.68))
  torch <- imagenet_preprocess(x, "torch")
  expect_equal(torch[2, 1, 1, ], (c(200, 100, 0) / 255 - c(0.485, 0.456, 0.406)) / c(0.229, 0.224, 0.225))
  expect_equal(imagenet_preprocess(x, "tf"), x / 127.5 - 1)
  # channels first gives the same numbers in the other layout
  xc <- aperm(x, c(1, 4, 2, 3))
  expect_equal(imagenet_preprocess(xc, "caffe", channels_first = TRUE), aperm(caffe, c(1, 4, 2, 3)))
  expect_equal(imagenet_preprocess(xc, "torch", channels_first = TRUE), aperm(torch, c(1, 4, 2, 3)))
  # a single image (H, W, 3)
  single <- array(x[1, , , ], c(1, 1, 3))
  expect_equal(dim(imagenet_preprocess(single)), c(1L, 1L, 3L))
  expect_equal(imagenet_preprocess(single)[1, 1, ], caffe[1, 1, 1, ])
  expect_innsight_error(imagenet_preprocess(x, channels_first = TRUE), "data", regexp = "length 3")
  expect_innsight_error(imagenet_preprocess(x, "keras"), "argument")
  expect_innsight_error(imagenet_preprocess(1:3), "data")
})

test_that("imagenet_labels() and decode_predictions()", {
  labs <- imagenet_labels()
  expect_length(labs, 1000)
  expect_false(anyDuplicated(labs) > 0)
  expect_equal(labs[c(1, 2, 3)], c("tench", "goldfish", "great white shark"))
  wnid <- imagenet_labels("wnid")
  expect_true(all(grepl("^n[0-9]{8}$", wnid)))
  expect_false(is.unsorted(wnid))
  expect_equal(wnid[1], "n01440764")
  tab <- imagenet_labels("table")
  expect_named(tab, c("index", "class_name", "class_description"))
  expect_equal(nrow(tab), 1000)

  p <- matrix(0, 2, 1000)
  p[1, c(3, 1, 500)] <- c(0.6, 0.3, 0.1)
  p[2, 1000] <- 0.9
  d <- decode_predictions(p, top = 3)
  expect_length(d, 2)
  expect_named(d[[1]], c("class_name", "class_description", "score"))
  expect_equal(d[[1]]$class_description, labs[c(3, 1, 500)])
  expect_equal(d[[1]]$class_name, wnid[c(3, 1, 500)])
  expect_equal(d[[1]]$score, c(0.6, 0.3, 0.1))
  expect_equal(d[[2]]$class_description[1], labs[1000])
  expect_equal(nrow(decode_predictions(p[1, ])[[1]]), 5)
  expect_innsight_error(decode_predictions(matrix(0, 1, 10)), "data")
  expect_innsight_error(decode_predictions(p, top = 0), "argument")
  expect_innsight_error(decode_predictions(p, top = 1001), "argument")
})

test_that("the image helpers feed a converted model end to end", {
  skip_if_not_installed("png")
  dir <- new_dir()
  with_seed(5, for (k in 1:2) png::writePNG(array(runif(20 * 30 * 3), c(20, 30, 3)), file.path(dir, paste0(k, ".png"))))
  x <- imagenet_preprocess(load_images(file.path(dir, c("1.png", "2.png")), c(8, 8)), "torch")
  W <- with_seed(6, matrix(rnorm(1000 * 192, sd = 0.05), 1000, 192))
  model <- list(input_dim = c(3, 8, 8), input_nodes = 1, output_nodes = 2, layers = list(
    list(type = "Flatten", data_format = "channels_last", input_layers = 0, output_layers = 2),
    list(type = "Dense", weight = W, bias = rep(0, 1000), activation_name = "softmax", input_layers = 1, output_layers = -1)))
  conv <- Converter$new(model, output_names = imagenet_labels())
  p <- predict(conv, x, channels_first = FALSE)
  d <- decode_predictions(p, top = 2)
  expect_equal(d[[1]]$class_description[1], colnames(p)[which.max(p[1, ])])
})

# Dev-only: compare with Pillow's resize, of float images (mode "F": equal to
# rounding) and of 8-bit RGB images (Pillow rounds to whole numbers: within 1).
test_that("resizing agrees with Pillow (dev check, needs INNSIGHT_PIL_PYTHON)", {
  py <- Sys.getenv("INNSIGHT_PIL_PYTHON")
  skip_if(!nzchar(py) || !file.exists(py), "INNSIGHT_PIL_PYTHON is not set")
  dir <- new_dir()
  script <- file.path(dir, "pil.py")
  writeLines(c(
    "import sys, numpy as np",
    "from PIL import Image",
    "src, h, w, oh, ow, filt, mode, dst = sys.argv[1:]",
    "h, w, oh, ow = int(h), int(w), int(oh), int(ow)",
    "f = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC, 'lanczos': Image.LANCZOS, 'nearest': Image.NEAREST}[filt]",
    "if mode == 'F':",
    "    x = Image.fromarray(np.fromfile(src, dtype='<f4').reshape(h, w), mode='F')",
    "else:",
    "    x = Image.fromarray(np.fromfile(src, dtype=np.uint8).reshape(h, w, 3), mode='RGB')",
    "np.asarray(x.resize((ow, oh), f), dtype='<f4').tofile(dst)"), script)
  pil <- function(bin, h, w, size, f, mode) {
    status <- system2(py, c(script, bin, h, w, size[1], size[2], f, mode, file.path(dir, "out.bin")))
    expect_equal(status, 0)
    v <- readBin(file.path(dir, "out.bin"), "double", prod(size) * (if (mode == "F") 1 else 3), size = 4, endian = "little")
    if (mode == "F") matrix(v, size[1], size[2], byrow = TRUE) else aperm(array(v, c(3, size[2], size[1])), c(3, 2, 1))
  }
  img <- with_seed(7, matrix(runif(97 * 131, 0, 255), 97, 131))
  writeBin(as.vector(t(img)), file.path(dir, "f.bin"), size = 4, endian = "little")
  rgb <- with_seed(8, array(sample(0:255, 97 * 131 * 3, replace = TRUE), c(97, 131, 3)))
  writeBin(as.raw(aperm(rgb, c(3, 2, 1))), file.path(dir, "rgb.bin"))
  for (f in c("bilinear", "bicubic", "lanczos", "nearest")) {
    for (size in list(c(224, 224), c(20, 31), c(97, 50), c(150, 300))) {
      what <- paste(f, paste(size, collapse = "x"))
      ours <- innsight:::image_resize(array(img, c(97, 131, 1)), size[1], size[2], f, 1, 0)[, , 1]
      expect_lt(max(abs(ours - pil(file.path(dir, "f.bin"), 97, 131, size, f, "F"))) / 255, 1e-6,
                label = paste(what, "float: max difference / 255"))
      ours8 <- round(innsight:::image_resize(rgb * 1.0, size[1], size[2], f, 0, 255))
      expect_lte(max(abs(ours8 - pil(file.path(dir, "rgb.bin"), 97, 131, size, f, "RGB"))), 1,
                 label = paste(what, "8-bit: max difference"))
    }
  }
})
