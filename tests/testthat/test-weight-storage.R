# How a converted model stores its weights: one raw vector (a safetensors blob),
# single precision in a float converter only when that loses nothing or the weights
# are single-precision values by definition.

blob_of <- function(conv) conv$model$.__enclos_env__$private$blob
n_params <- function(m) sum(vapply(m$layers, function(l) length(l$weight) + length(l$bias), numeric(1)))
to_single <- function(x) {
  # round doubles to the nearest float, as the core does
  v <- readBin(writeBin(as.vector(x), raw(), size = 4), "double", length(x), size = 4)
  if (is.null(dim(x))) v else array(v, dim(x))
}
single_model <- function(m) {
  m$layers <- lapply(m$layers, function(l) {
    for (k in intersect(c("weight", "bias"), names(l))) l[[k]] <- to_single(l[[k]])
    l
  })
  m
}

test_that("a float converter keeps R's doubles unless they are floats", {
  m <- make_conv1d_model()
  n <- n_params(m)
  conv <- Converter$new(m)
  expect_true(is.raw(blob_of(conv)))
  expect_gt(length(blob_of(conv)), 8 * n) # doubles
  # the weights come back exactly as given
  w <- conv$model$get_weights()
  expect_identical(unname(w[["layers.1.weight"]]), unname(m$layers[[1]]$weight))
  # and double-precision results equal a double converter's
  x <- rand_data(2, c(3, 16))
  expect_identical(predict(conv, x, dtype = "double"), predict(Converter$new(m, dtype = "double"), x))

  ms <- single_model(m)
  conv_s <- Converter$new(ms)
  expect_lt(length(blob_of(conv_s)), 4 * n + 4096) # floats
  expect_identical(conv_s$model$get_weights()[["layers.1.weight"]], ms$layers[[1]]$weight)
  expect_identical(predict(conv_s, x), predict(Converter$new(ms, dtype = "double"), x, dtype = "float"))
  # a double converter always keeps doubles
  expect_gt(length(blob_of(Converter$new(ms, dtype = "double"))), 8 * n)
})

test_that("weights marked single are rounded once by a float converter", {
  m <- make_mlp_model()
  attr(m, "innsight_single") <- TRUE
  conv <- Converter$new(m)
  w <- conv$model$get_weights()[["layers.1.weight"]]
  expect_identical(unname(w), unname(to_single(m$layers[[1]]$weight)))
  expect_false(identical(unname(w), unname(m$layers[[1]]$weight)))
  # a double converter ignores the mark
  w2 <- Converter$new(m, dtype = "double")$model$get_weights()[["layers.1.weight"]]
  expect_identical(unname(w2), unname(m$layers[[1]]$weight))
})

test_that("the blob survives saveRDS() and rebuilt handles borrow from the read blob", {
  m <- single_model(make_conv2d_model())
  conv <- Converter$new(m)
  x <- rand_data(3, c(3, 8, 8))
  p <- predict(conv, x)
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(conv, path)
  conv2 <- readRDS(path)
  expect_identical(blob_of(conv2), blob_of(conv))
  expect_identical(predict(conv2, x), p)
  expect_identical(predict(conv2, x, dtype = "double"), predict(conv, x, dtype = "double"))
})

test_that("weights of every rank reach the blob in row-major order", {
  # dims chosen so that no axis length repeats: a transposition slip cannot hide
  w <- list(a = array(rnorm(5 * 7), c(5, 7)), b = array(rnorm(2 * 3 * 4), c(2, 3, 4)),
            c = array(rnorm(2 * 3 * 4 * 5), c(2, 3, 4, 5)), d = rnorm(6), big = array(rnorm(130 * 67), c(130, 67)))
  back <- innsight:::weights_from_blob(innsight:::rust_call(innsight:::weights_blob(w, "double", FALSE)))
  for (k in names(w)) expect_identical(as.vector(back[[k]]), as.vector(w[[k]]), label = k)
  expect_identical(dim(back$c), c(2L, 3L, 4L, 5L))
  # float storage when `single`: each value rounded once
  back32 <- innsight:::weights_from_blob(innsight:::rust_call(innsight:::weights_blob(w, "float", TRUE)))
  expect_identical(as.vector(back32$big), as.vector(to_single(w$big)))
})

test_that("bad weights are refused while streaming them into the blob", {
  expect_innsight_error(innsight:::rust_call(innsight:::weights_blob(list(a = c(1, NA)), "float", FALSE)), regexp = "non-finite")
  expect_innsight_error(innsight:::rust_call(innsight:::weights_blob(list(a = c(1, 1e300)), "float", TRUE)),
                        regexp = "single precision.s range")
  # without `single`, such values keep double precision instead
  blob <- innsight:::rust_call(innsight:::weights_blob(list(a = c(1, 1e300)), "float", FALSE))
  expect_identical(as.vector(innsight:::weights_from_blob(blob)$a), c(1, 1e300))
})

test_that("weights drawn in chunks into the blob equal weights drawn whole", {
  withr::local_options(innsight.draw_chunk = 7)
  build <- function(init) {
    set.seed(3)
    m <- innsight:::inet_resnet(c(1, 2), init, widths = c(8, 16), n_classes = 10, input_dim = c(3L, 32L, 32L))
    attr(m, "innsight_single") <- TRUE
    Converter$new(m)
  }
  eager <- build("random")
  lazy <- build("lazy")
  expect_identical(blob_of(lazy), blob_of(eager))
  # a draw is a recipe, not values
  d <- innsight:::inet_rnorm(c(4, 3), 1, lazy = TRUE)
  expect_s3_class(d, "innsight_draw")
  expect_identical(d$dims, c(4L, 3L))
})
