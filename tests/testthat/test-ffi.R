# The R <-> Rust boundary: memory layout, stale handles, bad internal calls.

# Flatten (3, 4, 5) followed by an identity Dense layer: output j is input element j
# in row-major (C, H, W) order.
identity_model <- function() {
  list(input_dim = c(3, 4, 5), input_nodes = 1, output_nodes = 2,
       layers = list(
         list(type = "Flatten", input_layers = 0, output_layers = 2),
         dense_layer(diag(60), rep(0, 60), "linear", 1, -1)
       ))
}

test_that("rust_dims() sees R's dims", {
  expect_identical(innsight:::rust_dims(array(0, c(2, 3, 4, 5))), c(2L, 3L, 4L, 5L))
  expect_identical(innsight:::rust_dims(matrix(0, 0, 3)), c(0L, 3L))
  expect_identical(innsight:::rust_dims(1:7), 7L)
})

test_that("a 2x3x4x5 array makes a column-major round trip through the core", {
  conv <- convert(identity_model())
  x <- array(seq_len(120) / 7, c(2, 3, 4, 5))
  # forward: each instance arrives as the (C, H, W) array it is in R
  out <- predict(conv, x, dtype = "double")
  expect_identical(dim(out), c(2L, 60L))
  for (b in 1:2) expect_equal(unname(out[b, ]), ref_flatten(instance(x, b)), tolerance = tol_exact)
  # forward and back: Gradient x Input summed over all 60 outputs is x itself
  g <- run_grad(conv, x, output_idx = 1:60, times_input = TRUE, dtype = "double", verbose = FALSE)
  res <- get_result(g)
  expect_identical(dim(res), c(2L, 3L, 4L, 5L, 60L))
  expect_equal(unname(apply(res, 1:4, sum)), x, tolerance = tol_exact)
  # output j's gradient is one-hot at the element it copies
  onehot <- numeric(60)
  onehot[(2 - 1) * 20 + (3 - 1) * 5 + 4] <- x[2, 2, 3, 4]
  expect_equal(unname(res[2, 2, 3, 4, ]), onehot, tolerance = tol_exact)
  # channels last in, channels last out
  xl <- to_channels_last(x)
  expect_equal(predict(conv, xl, channels_first = FALSE, dtype = "double"), out, tolerance = tol_exact)
  gl <- run_grad(conv, xl, channels_first = FALSE, output_idx = 1:60, times_input = TRUE, dtype = "double",
                 verbose = FALSE)
  expect_identical(dim(get_result(gl)), c(2L, 4L, 5L, 3L, 60L))
  expect_equal(unname(apply(get_result(gl), 1:4, sum)), xl, tolerance = tol_exact)
  # integer and logical input is accepted as numeric
  xi <- array(1:120, c(2, 3, 4, 5))
  expect_equal(unname(predict(conv, xi, dtype = "double")[1, ]), ref_flatten(instance(xi, 1)),
               tolerance = tol_exact)
})

test_that("a stale handle of a readRDS()'d converter is rebuilt", {
  conv <- convert(make_mlp_model())
  x <- rand_data(2, 4)
  conv$model$handle("double")
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(conv, path)
  conv2 <- readRDS(path)
  priv <- conv2$model$.__enclos_env__$private
  stale <- priv$handles[["float"]]
  expect_false(innsight:::handle_alive(stale))
  expect_false(innsight:::handle_alive(priv$handles[["double"]]))
  # using the stale pointer directly is an error, not a crash
  expect_error(stale$dtype())
  expect_identical(predict(conv2, x), predict(conv, x))
  expect_true(innsight:::handle_alive(priv$handles[["float"]]))
  expect_identical(conv2$model$handle("double")$dtype(), "double")
})

test_that("internal run_method() with a NULL or stale model errors instead of crashing", {
  args <- list(model = NULL, spec_json = '{"method":"gradient","output_idx":[[1]],"ignore_last_act":true}',
               data = list(matrix(1, 1, 4)), x_ref = NULL, data_ref = NULL, channels_first = TRUE,
               n_threads = 1L, progress = NULL)
  run <- function(a) do.call(innsight:::run_method, a[intersect(names(a), names(formals(innsight:::run_method)))])
  expect_error(run(args))
  args$model <- "not a model"
  expect_error(run(args))
  conv <- convert(make_mlp_model())
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(conv, path)
  args$model <- readRDS(path)$model$.__enclos_env__$private$handles[["float"]]
  expect_error(run(args))
  # a bad method description is a classed error from the core
  args$model <- conv$model$handle()
  args$spec_json <- "not json"
  e <- expect_error(run(args))
  expect_match(conditionMessage(e), "^\\[innsight:")
  # and a valid call works
  args$spec_json <- '{"method":"gradient","output_idx":[[1]],"ignore_last_act":true,"times_input":false}'
  res <- run(args)
  expect_identical(dim(res$result[[1]][[1]]), c(1L, 4L, 1L))
  # the process is still alive and the package usable
  expect_identical(dim(predict(conv, matrix(1, 1, 4))), c(1L, 3L))
})

test_that("the thread option does not change results", {
  conv <- convert(make_conv2d_model())
  x <- rand_data(3, c(3, 8, 8))
  a <- withr::with_options(list(innsight.threads = 1L), get_result(run_grad(conv, x, dtype = "double",
                                                                             verbose = FALSE)))
  b <- withr::with_options(list(innsight.threads = 3L), get_result(run_grad(conv, x, dtype = "double",
                                                                             verbose = FALSE)))
  expect_equal(a, b, tolerance = tol_exact)
})
