test_that("saveRDS()/readRDS() round trip in the same session", {
  conv <- convert(make_conv1d_model())
  x <- rand_data(2, c(3, 16))
  g <- run_grad(conv, x, times_input = TRUE, verbose = FALSE)
  path_c <- withr::local_tempfile(fileext = ".rds")
  path_g <- withr::local_tempfile(fileext = ".rds")
  saveRDS(conv, path_c)
  saveRDS(g, path_g)
  conv2 <- readRDS(path_c)
  g2 <- readRDS(path_g)
  expect_s3_class(conv2, "Converter")
  expect_identical(predict(conv2, x), predict(conv, x))
  expect_identical(predict(conv2, x, dtype = "double"), predict(conv, x, dtype = "double"))
  expect_identical(get_result(g2), get_result(g))
  expect_identical(get_result(g2, "data.frame"), get_result(g, "data.frame"))
  expect_identical(get_result(run_grad(conv2, x, times_input = TRUE, verbose = FALSE)), get_result(g))
  # the method's own converter works after reading, too
  expect_identical(predict(g2$converter, x), predict(conv, x))
  expect_match(print_text(conv2), "Conv1D")
  expect_match(print_text(g2), "Gradient")
})

test_that("a Converter and a Gradient read back in a new R process give the same values", {
  m <- make_graph_model()
  conv <- convert(m)
  x <- list(rand_data(3, 3, seed = 1), rand_data(3, 5, seed = 2))
  g <- run_grad(conv, x, output_idx = list(c(1, 3), 2), verbose = FALSE)
  dir <- withr::local_tempdir()
  saveRDS(conv, file.path(dir, "conv.rds"))
  saveRDS(g, file.path(dir, "grad.rds"))
  saveRDS(x, file.path(dir, "x.rds"))
  script <- file.path(dir, "child.R")
  writeLines(c(
    sprintf(".libPaths(%s)", paste(deparse(.libPaths()), collapse = "")),
    "suppressPackageStartupMessages(library(innsight))",
    "options(innsight.threads = 2L)",
    sprintf("dir <- %s", deparse(dir)),
    "conv <- readRDS(file.path(dir, 'conv.rds'))",
    "g <- readRDS(file.path(dir, 'grad.rds'))",
    "x <- readRDS(file.path(dir, 'x.rds'))",
    "out <- list(",
    "  pred = predict(conv, x),",
    "  grad_new = get_result(run_grad(conv, x, output_idx = list(c(1, 3), 2), verbose = FALSE)),",
    "  grad_read = get_result(g),",
    "  df_read = get_result(g, 'data.frame'),",
    "  pred_of_method_converter = predict(g$converter, x)",
    ")",
    "saveRDS(out, file.path(dir, 'out.rds'))",
    "print(conv)",
    "cat('child done\\n')"
  ), script)
  log <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", shQuote(script)),
                                  stdout = TRUE, stderr = TRUE))
  status <- attr(log, "status")
  expect_true(is.null(status) || status == 0, label = paste(log, collapse = "\n"))
  expect_true(any(grepl("child done", log)), label = paste(log, collapse = "\n"))
  expect_true(any(grepl("Converter", log)))
  expect_true(file.exists(file.path(dir, "out.rds")))
  out <- readRDS(file.path(dir, "out.rds"))
  expect_identical(out$pred, predict(conv, x))
  expect_identical(out$grad_new, get_result(g))
  expect_identical(out$grad_read, get_result(g))
  expect_identical(out$df_read, get_result(g, "data.frame"))
  expect_identical(out$pred_of_method_converter, predict(conv, x))
})
