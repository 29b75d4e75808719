# Chunked runs, future workers and dataset summaries: the numbers must not
# depend on the chunk size, the plan or the number of workers.

# Every method on a model, with a fixed seed; returns the result arrays.
run_every_method <- function(conv, x, ref, seed = 7, graph = FALSE) {
  set.seed(seed)
  out <- list(
    grad = run_grad(conv, x, dtype = "double"),
    gxi = run_grad(conv, x, times_input = TRUE, dtype = "double"),
    smooth = run_smoothgrad(conv, x, n = 4, dtype = "double"),
    intgrad = run_intgrad(conv, x, n = 6, dtype = "double"),
    expgrad = run_expgrad(conv, x, data_ref = ref, n = 4, dtype = "double"),
    lrp = run_lrp(conv, x, rule_name = "epsilon", dtype = "double"),
    deeplift = run_deeplift(conv, x, dtype = "double"),
    deepshap = run_deepshap(conv, x, data_ref = ref, limit_ref = 5, dtype = "double"),
    cw = run_cw(conv, x, times_input = TRUE, dtype = "double")
  )
  if (!graph) {
    out$shap <- run_shap(conv, x, data_ref = ref, n_coalitions = 30, dtype = "double")
    out$lime <- run_lime(conv, x, data_ref = ref, n_samples = 40, dtype = "double")
  }
  lapply(out, function(m) list(result = m$get_result(), preds = m$preds, goal = m$decomp_goal))
}

expect_same_runs <- function(a, b, tol = 1e-12) {
  expect_identical(names(a), names(b))
  for (nm in names(a)) {
    expect_equal(b[[nm]]$result, a[[nm]]$result, tolerance = tol, label = nm)
    expect_equal(b[[nm]]$preds, a[[nm]]$preds, tolerance = tol, label = paste(nm, "preds"))
    expect_equal(b[[nm]]$goal, a[[nm]]$goal, tolerance = tol, label = paste(nm, "goal"))
  }
}

mlp_case <- function() {
  conv <- convert(make_mlp_model())
  list(conv = conv, x = rand_data(23, 4, seed = 301), ref = rand_data(9, 4, seed = 302))
}

test_that("chunked runs in this process equal the single call, for every method and chunk size", {
  case <- mlp_case()
  whole <- run_every_method(case$conv, case$x, case$ref)
  for (size in c(1, 5, 22)) {
    withr::local_options(innsight.chunk_size = size)
    expect_same_runs(whole, run_every_method(case$conv, case$x, case$ref))
  }
})

test_that("chunked runs work for models with several inputs and outputs and for images", {
  conv <- convert(make_graph_model())
  x <- list(rand_data(11, 3, seed = 303), rand_data(11, 5, seed = 304))
  ref <- list(rand_data(4, 3, seed = 305), rand_data(4, 5, seed = 306))
  whole <- run_every_method(conv, x, ref, graph = TRUE)
  withr::local_options(innsight.chunk_size = 4)
  expect_same_runs(whole, run_every_method(conv, x, ref, graph = TRUE))

  img <- convert(make_conv2d_model())
  xi <- rand_data(7, c(3, 8, 8), seed = 307)
  withr::local_options(innsight.chunk_size = NULL)
  set.seed(9)
  a <- run_smoothgrad(img, xi, n = 3, dtype = "double")$get_result()
  withr::local_options(innsight.chunk_size = 2)
  set.seed(9)
  expect_equal(run_smoothgrad(img, xi, n = 3, dtype = "double")$get_result(), a, tolerance = 1e-12)
})

test_that("SmoothGrad's noise follows the global row, not the chunk", {
  case <- mlp_case()
  set.seed(11)
  whole <- run_smoothgrad(case$conv, case$x, n = 5, noise_level = 0.5, dtype = "double")$get_result()
  withr::local_options(innsight.chunk_size = 3)
  set.seed(11)
  chunked <- run_smoothgrad(case$conv, case$x, n = 5, noise_level = 0.5, dtype = "double")$get_result()
  expect_equal(chunked, whole, tolerance = 1e-12)
  # and the noise differs between rows: row 4 alone is not row 1's noise
  set.seed(11)
  first <- run_smoothgrad(case$conv, case$x[c(4, 4), ], n = 5, noise_level = 0.5, dtype = "double")$get_result()
  expect_false(isTRUE(all.equal(first[1, , ], whole[4, , ])))
})

test_that("chunk options are checked", {
  case <- mlp_case()
  withr::local_options(innsight.chunk_size = 0)
  expect_error(run_grad(case$conv, case$x), class = "innsight_error")
  withr::local_options(innsight.chunk_size = NULL, innsight.memory_budget = -1)
  expect_error(explain_dataset(run_grad, case$conv, case$x), class = "innsight_error")
})

# ---- future workers ------------------------------------------------------------

skip_without_future <- function() {
  skip_on_cran()
  skip_if_not_installed("future")
  skip_if_not_installed("parallelly")
}

test_that("multisession workers give the sequential results, also for the random methods", {
  skip_without_future()
  case <- mlp_case()
  whole <- run_every_method(case$conv, case$x, case$ref)
  future::plan(future::multisession, workers = 2)
  withr::defer(future::plan(future::sequential))
  expect_same_runs(whole, run_every_method(case$conv, case$x, case$ref))
  withr::local_options(innsight.chunk_size = 4)
  expect_same_runs(whole, run_every_method(case$conv, case$x, case$ref))
})

test_that("cluster workers on loopback give the sequential results", {
  skip_without_future()
  case <- mlp_case()
  whole <- run_every_method(case$conv, case$x, case$ref)
  cl <- parallelly::makeClusterPSOCK(c("localhost", "localhost"), verbose = FALSE)
  withr::defer(parallel::stopCluster(cl))
  future::plan(future::cluster, workers = cl)
  withr::defer(future::plan(future::sequential), priority = "first")
  expect_same_runs(whole, run_every_method(case$conv, case$x, case$ref))
})

test_that("a user's pred_fun and the objects it uses reach the workers", {
  skip_without_future()
  set.seed(3)
  df <- data.frame(a = stats::rnorm(40), b = stats::rnorm(40))
  df$y <- 2 * df$a - df$b + stats::rnorm(40, sd = 0.1)
  fit <- stats::lm(y ~ a + b, df)
  pf <- function(newdata) stats::predict(fit, newdata)
  set.seed(5)
  seq_res <- run_shap(fit, df[1:10, 1:2], data_ref = df[, 1:2], pred_fun = pf)$get_result()
  future::plan(future::multisession, workers = 2)
  withr::defer(future::plan(future::sequential))
  set.seed(5)
  par_res <- run_shap(fit, df[1:10, 1:2], data_ref = df[, 1:2], pred_fun = pf)$get_result()
  expect_equal(par_res, seq_res, tolerance = 1e-12)
  # a linear model: the SHAP values are the closed form coef * (x - mean(ref))
  closed <- sweep(as.matrix(df[1:10, 1:2]), 2, colMeans(df[, 1:2])) * rep(stats::coef(fit)[-1], each = 10)
  expect_equal(unname(par_res[, , 1]), unname(closed), tolerance = 1e-8)
})

test_that("a failing chunk stops the run with a classed error naming it", {
  skip_without_future()
  case <- mlp_case()
  # the prediction of all instances works; the perturbed rows of the chunk
  # holding instance 20 fail
  target <- case$x[20, ]
  pf <- function(newdata) {
    m <- as.matrix(newdata)
    if (nrow(m) > 30 && any(abs(m[, 1] - target[1]) < 1e-12)) stop("model server unreachable")
    case$conv$model$forward(list(m), dtype = "double")[[1]]
  }
  future::plan(future::multisession, workers = 2)
  withr::defer(future::plan(future::sequential))
  withr::local_options(innsight.chunk_size = 6)
  err <- expect_error(run_shap(case$conv, case$x, data_ref = case$ref, pred_fun = pf, n_coalitions = 20),
                      class = "innsight_error_chunk")
  expect_match(conditionMessage(err), "Chunk 4 of 4 \\(data rows 19-23\\)")
  expect_match(conditionMessage(err), "model server unreachable")
  expect_s3_class(err, "innsight_error_prediction")
  # in this process too
  future::plan(future::sequential)
  err <- expect_error(run_shap(case$conv, case$x, data_ref = case$ref, pred_fun = pf, n_coalitions = 20),
                      class = "innsight_error_chunk")
  expect_match(conditionMessage(err), "Chunk 4 of 4")
})

test_that("a worker that dies gives a classed error, not a partial result", {
  skip_without_future()
  case <- mlp_case()
  pf <- function(newdata) {
    m <- as.matrix(newdata)
    if (nrow(m) > 30) quit(save = "no", status = 1)
    case$conv$model$forward(list(m), dtype = "double")[[1]]
  }
  future::plan(future::multisession, workers = 2)
  withr::defer(future::plan(future::sequential))
  err <- expect_error(run_shap(case$conv, case$x, data_ref = case$ref, pred_fun = pf, n_coalitions = 20),
                      class = "innsight_error_chunk")
  expect_match(conditionMessage(err), "failed on its worker")
})

test_that("each worker gets its share of the threads", {
  withr::local_options(innsight.threads = 8, innsight.worker_threads = NULL)
  expect_identical(innsight:::worker_threads(2L), 4L)
  expect_identical(innsight:::worker_threads(16L), 1L)
  withr::local_options(innsight.worker_threads = 3)
  expect_identical(innsight:::worker_threads(2L), 3L)
})

# ---- dataset summaries -----------------------------------------------------------

# Whether sketch quantiles lie within relative error alpha of the order
# statistics around each rank (column-wise for the matrix `mat`).
expect_quantiles_close <- function(q, mat, probs, alpha = 0.005) {
  n <- nrow(mat)
  for (c in seq_len(ncol(mat))) {
    s <- sort(mat[, c])
    for (p in seq_along(probs)) {
      h <- probs[p] * (n - 1) + 1
      around <- s[c(floor(h), ceiling(h))]
      lo <- min(around) - alpha * max(abs(around)) - 1e-300
      hi <- max(around) + alpha * max(abs(around)) + 1e-300
      expect_true(q[c, p] >= lo && q[c, p] <= hi,
                  label = sprintf("cell %d, p = %g: %g in [%g, %g]", c, probs[p], q[c, p], lo, hi))
    }
  }
}

test_that("explain_dataset() keeps a summary equal to the full result's statistics", {
  case <- mlp_case()
  x <- rand_data(200, 4, seed = 310)
  full <- run_intgrad(case$conv, x, n = 8, dtype = "double")
  withr::local_options(innsight.chunk_size = 37)
  summ <- explain_dataset(run_intgrad, case$conv, x, n = 8, dtype = "double")
  expect_null(summ$result)
  expect_false(is.null(summ$result_summary))
  expect_equal(summ$preds, full$preds, tolerance = 1e-12)
  exact <- summary(full)
  approx <- summary(summ)
  expect_identical(approx[1:2], exact[1:2])
  expect_equal(approx$n, rep(200, nrow(exact)))
  for (col in c("mean", "mean_abs", "sd", "min", "max")) {
    expect_equal(approx[[col]], exact[[col]], tolerance = 1e-10, label = col)
  }
  a <- full$get_result()
  mat <- matrix(a, nrow = 200)
  probs <- c(0.05, 0.25, 0.5, 0.75, 0.95)
  expect_quantiles_close(as.matrix(approx[paste0("q", c(5, 25, 50, 75, 95))]), mat, probs)
  # exact summary from the full result: type-7 quantiles
  expect_equal(exact$q50, unname(apply(mat, 2, stats::median)))
  expect_equal(exact$sd, unname(apply(mat, 2, stats::sd)))
})

test_that("the summary does not depend on the chunks or the workers", {
  case <- mlp_case()
  x <- rand_data(120, 4, seed = 311)
  set.seed(2)
  withr::local_options(innsight.chunk_size = 50)
  a <- summary(explain_dataset(run_smoothgrad, case$conv, x, n = 3, dtype = "double"))
  withr::local_options(innsight.chunk_size = 7)
  set.seed(2)
  b <- summary(explain_dataset(SmoothGrad, case$conv, x, n = 3, dtype = "double"))
  expect_equal(b, a, tolerance = 1e-12)
  skip_without_future()
  future::plan(future::multisession, workers = 2)
  withr::defer(future::plan(future::sequential))
  set.seed(2)
  c <- summary(explain_dataset(run_smoothgrad, case$conv, x, n = 3, dtype = "double"))
  expect_equal(c, a, tolerance = 1e-12)
})

test_that("summarised results are plotted from the summary, and other views say why not", {
  case <- mlp_case()
  x <- rand_data(60, 4, seed = 312)
  withr::local_options(innsight.chunk_size = 25)
  m <- explain_dataset(run_grad, case$conv, x, output_idx = 1:2)
  p <- plot_global(m, output_idx = 1:2)
  expect_s4_class(p, "innsight_ggplot2")
  expect_s4_class(boxplot(m, preprocess_FUN = identity), "innsight_ggplot2")
  expect_match(paste(print_text(m), collapse = "\n"), "summarised over 60 instances")
  expect_error(get_result(m), class = "innsight_error_summary")
  expect_error(plot(m), class = "innsight_error_summary")
  expect_error(plot_global(m, ref_data_idx = 1), class = "innsight_error_summary")
  expect_error(plot_global(m, preprocess_FUN = function(v) v^2), class = "innsight_error_summary")

  img <- convert(make_conv2d_model())
  # an odd count: the median is one instance's value, which the sketch knows
  # within its relative accuracy
  xi <- rand_data(31, c(3, 8, 8), seed = 313)
  full <- run_grad(img, xi, dtype = "double")
  mi <- explain_dataset(run_grad, img, xi, dtype = "double")
  gi <- plot_global(mi)
  expect_s4_class(gi, "innsight_ggplot2")
  # the median heatmap of channel sums of |gradient| from the sketch is close
  # to the one from the full result
  med_full <- plot_global(full)@grobs[[1, 1]]$data
  med_sk <- gi@grobs[[1, 1]]$data
  expect_true(all(abs(med_sk$value - med_full$value) <= 0.0051 * abs(med_full$value)))
  expect_error(plot_global(mi, aggr_channels = "norm"), class = "innsight_error_summary")
})

abind_rows <- function(...) {
  arrays <- list(...)
  d <- dim(arrays[[1]])
  out <- do.call(rbind, lapply(arrays, function(a) matrix(a, nrow = dim(a)[1])))
  array(out, c(nrow(out), d[-1]))
}

test_that("explain_dataset() writes one file per chunk that binds to the full result", {
  case <- mlp_case()
  x <- rand_data(50, 4, seed = 314)
  dir <- withr::local_tempdir()
  withr::local_options(innsight.chunk_size = 20)
  m <- explain_dataset(run_lrp, case$conv, x, dir = dir, dtype = "double")
  expect_length(m$chunk_files, 3)
  parts <- lapply(m$chunk_files, readRDS)
  expect_identical(unlist(lapply(parts, `[[`, "rows")), 1:50)
  bound <- do.call(abind_rows, lapply(parts, function(p) p$result[[1]][[1]]))
  full <- run_lrp(case$conv, x, dtype = "double")
  expect_equal(unname(bound), unname(full$get_result()), tolerance = 1e-12)
  # the same folder again: refused, it holds this run's files
  expect_error(explain_dataset(run_lrp, case$conv, x, dir = dir), class = "innsight_error")
  # keep = "result" keeps everything as the method alone does
  k <- explain_dataset(run_lrp, case$conv, x, keep = "result", dtype = "double")
  expect_equal(k$get_result(), full$get_result(), tolerance = 1e-12)
  expect_error(explain_dataset(function(...) 1, case$conv, x), class = "innsight_error")
  expect_error(explain_dataset(run_lrp, case$conv, x, keep = "all"), class = "innsight_error")
})

