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
