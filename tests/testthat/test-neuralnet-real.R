# Genuinely trained neuralnet models (the neuralnet package, 1.44.x). The reference
# is neuralnet's own forward pass, predict.nn(), and for the gradients central
# finite differences of it. test-neuralnet.R covers hand-built nn objects (error
# cases, old objects without `output.act.fct`) and needs no neuralnet.
#
# Every fit uses a fixed seed and settings under which it converges in well under
# a second; `expect_fitted()` checks that it did (neuralnet returns an object
# without weights, or with NULL weights for some repetitions, when it does not).

# Small smooth regression problem: 3 inputs in [-1, 1], two targets in about [-1, 1].
nn_reg_data <- function(n = 80, seed = 3) {
  with_seed(seed, {
    d <- data.frame(x1 = stats::runif(n, -1, 1), x2 = stats::runif(n, -1, 1), x3 = stats::runif(n, -1, 1))
  })
  d$y <- 0.6 * sin(2 * d$x1) + 0.3 * d$x2 * d$x3
  d$y2 <- 0.5 * d$x1 - 0.4 * d$x3^2
  d
}

# neuralnet() with a fixed seed; warnings (non-converged repetitions) are returned
# in attr(, "warnings") rather than raised.
fit_nn <- function(..., seed = 42) {
  warnings <- character()
  nn <- with_seed(seed, withCallingHandlers(
    neuralnet::neuralnet(...),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  ))
  attr(nn, "warnings") <- warnings
  nn
}

# The fit converged: weights exist for `n_fitted` repetitions, each below threshold.
expect_fitted <- function(nn, threshold, n_fitted = 1) {
  expect_false(is.null(nn$weights))
  expect_identical(sum(!vapply(nn$weights, is.null, logical(1))), as.integer(n_fitted))
  expect_true(all(nn$result.matrix["reached.threshold", ] <= threshold))
}

# neuralnet's index (into nn$weights) of the converged repetition with the smallest error.
best_rep <- function(nn) {
  fitted <- which(!vapply(nn$weights, is.null, logical(1)))
  fitted[which.min(nn$result.matrix["error", ])]
}

# Inputs to evaluate on: some training rows plus points off the training data.
nn_eval_x <- function(nn, n_new = 6, seed = 7) {
  cov <- nn$covariate
  rng <- apply(cov, 2, range)
  new <- with_seed(seed, sapply(seq_len(ncol(cov)), function(j) {
    stats::runif(n_new, rng[1, j] - 0.5, rng[2, j] + 0.5)
  }))
  x <- rbind(unname(cov[c(1, 2, nrow(cov) %/% 2, nrow(cov)), , drop = FALSE]), matrix(new, n_new))
  colnames(x) <- colnames(cov)
  x
}

# predict(Converter) equals predict.nn() of the repetition the converter uses.
expect_predicts_like_nn <- function(nn, x = nn_eval_x(nn), rep = best_rep(nn), label = "") {
  ref <- predict(nn, x, rep = rep)
  conv <- Converter$new(nn, dtype = "double")
  out <- predict(conv, x)
  expect_equal(unname(out), unname(ref), tolerance = 1e-6, label = paste("double", label))
  expect_lt(max(abs(unname(out) - unname(ref))), 1e-10, label = paste("max abs error", label))
  # single precision: absolute error (saturated outputs near 0 have no relative precision)
  expect_lt(max(abs(unname(predict(convert(nn), x)) - unname(ref))), 1e-5, label = paste("float max abs error", label))
  invisible(conv)
}

test_that("a tanh iris classifier with two hidden layers predicts like predict.nn()", {
  skip_if_not_installed("neuralnet")
  nn <- fit_nn(Species ~ ., data = iris, hidden = c(4, 3), act.fct = "tanh",
               linear.output = FALSE, threshold = 0.5)
  expect_fitted(nn, 0.5)
  # neuralnet >= 1.44 applies output.act.fct (default logistic) on the output layer,
  # not act.fct: the outputs are in (0, 1) although the hidden layers are tanh
  expect_identical(attr(nn$output.act.fct, "type"), "logistic")
  conv <- expect_predicts_like_nn(nn, label = "iris tanh")
  x <- nn_eval_x(nn)
  p <- predict(conv, x)
  expect_true(all(p >= 0 & p <= 1))   # (saturated ones round to exactly 0 or 1)
  expect_length(conv$model$layers(), 3)
  expect_identical(conv$input_dim, list(4L))
  expect_identical(conv$output_dim, list(3L))
  expect_identical(levels(conv$input_names[[1]][[1]]), c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"))
  expect_identical(levels(conv$output_names[[1]][[1]]), c("setosa", "versicolor", "virginica"))
  expect_identical(colnames(predict(conv, x)), c("setosa", "versicolor", "virginica"))
  # the list form: tanh, tanh, sigmoid
  conv_l <- convert(nn, save_model_as_list = TRUE)
  expect_identical(vapply(conv_l$model_as_list$layers, `[[`, "", "activation_name"), c("tanh", "tanh", "sigmoid"))
  # the classifier is a real one: it gets most training rows right
  acc <- mean(max.col(predict(conv, as.matrix(iris[, 1:4]))) == as.integer(iris$Species))
  expect_gt(acc, 0.9)
})

test_that("logistic networks, linear and non-linear outputs, predict like predict.nn()", {
  skip_if_not_installed("neuralnet")
  d <- nn_reg_data()
  # iris, logistic hidden and output layers
  nn <- fit_nn(Species ~ ., data = iris, hidden = c(4, 3), act.fct = "logistic",
               linear.output = FALSE, threshold = 0.5)
  expect_fitted(nn, 0.5)
  expect_predicts_like_nn(nn, label = "iris logistic")
  # regression, logistic hidden layers, linear output
  nn <- fit_nn(y ~ x1 + x2 + x3, data = d, hidden = c(4, 3), act.fct = "logistic",
               linear.output = TRUE, threshold = 0.05)
  expect_fitted(nn, 0.05)
  conv <- expect_predicts_like_nn(nn, label = "regression logistic")
  expect_identical(levels(conv$output_names[[1]][[1]]), "y")
  # a binary classifier trained with cross-entropy (neuralnet trains it as a linear
  # output internally, but predict.nn() applies the logistic output)
  nn <- fit_nn(Species == "setosa" ~ Petal.Length + Petal.Width, data = iris, hidden = 2,
               err.fct = "ce", linear.output = FALSE, threshold = 0.1)
  expect_fitted(nn, 0.1)
  expect_predicts_like_nn(nn, label = "binary ce")
  # no hidden layer
  nn <- fit_nn(y ~ x1 + x2 + x3, data = d, hidden = 0, threshold = 0.01)
  expect_fitted(nn, 0.01)
  conv <- expect_predicts_like_nn(nn, label = "no hidden layer")
  expect_length(conv$model$layers(), 1)
})

test_that("tanh networks with several outputs, three hidden layers and output.act.fct predict like predict.nn()", {
  skip_if_not_installed("neuralnet")
  d <- nn_reg_data()
  # two targets, three hidden layers, linear output
  nn <- fit_nn(y + y2 ~ x1 + x2 + x3, data = d, hidden = c(5, 3, 2), act.fct = "tanh",
               linear.output = TRUE, threshold = 0.05)
  expect_fitted(nn, 0.05)
  conv <- expect_predicts_like_nn(nn, label = "tanh 5-3-2 linear")
  expect_length(conv$model$layers(), 4)
  expect_identical(conv$output_dim, list(2L))
  expect_identical(levels(conv$output_names[[1]][[1]]), c("y", "y2"))
  # tanh everywhere, the output through output.act.fct = "tanh"
  nn <- fit_nn(y + y2 ~ x1 + x2 + x3, data = d, hidden = c(4, 3), act.fct = "tanh",
               output.act.fct = "tanh", linear.output = FALSE, threshold = 0.05)
  expect_fitted(nn, 0.05)
  expect_predicts_like_nn(nn, label = "tanh / tanh output")
  # logistic hidden layer, tanh output
  nn <- fit_nn(y ~ x1 + x2 + x3, data = d, hidden = 4, act.fct = "logistic",
               output.act.fct = "tanh", linear.output = FALSE, threshold = 0.05)
  expect_fitted(nn, 0.05)
  conv <- expect_predicts_like_nn(nn, label = "logistic / tanh output")
  expect_lt(min(predict(conv, nn_eval_x(nn))), 0)   # tanh, not logistic, outputs
  # relu hidden layers (neuralnet's act.fct = "relu")
  nn <- fit_nn(y ~ x1 + x2 + x3, data = d, hidden = c(4, 3), act.fct = "relu",
               linear.output = TRUE, threshold = 0.05)
  expect_fitted(nn, 0.05)
  expect_predicts_like_nn(nn, label = "relu")
})

test_that("with rep > 1 the converged repetition with the smallest error is used", {
  skip_if_not_installed("neuralnet")
  d <- nn_reg_data()
  nn <- fit_nn(y ~ x1 + x2 + x3, data = d, hidden = 3, rep = 4, threshold = 0.05)
  expect_fitted(nn, 0.05, n_fitted = 4)
  errors <- nn$result.matrix["error", ]
  best <- which.min(errors)
  expect_false(best == 1)   # so that the choice is visible: predict.nn() defaults to rep = 1
  x <- nn_eval_x(nn)
  conv <- expect_predicts_like_nn(nn, x, rep = best, label = "rep = 4")
  expect_false(isTRUE(all.equal(unname(predict(conv, x)), unname(predict(nn, x)), tolerance = 1e-3)))

  # Repetitions that did not converge: neuralnet warns, keeps NULL weights for them
  # and leaves them out of result.matrix. The best converged one is still found.
  nn <- fit_nn(y ~ x1 + x2 + x3, data = d, hidden = 3, rep = 5, threshold = 0.05, stepmax = 100)
  expect_match(attr(nn, "warnings"), "did not converge in 2 of 5", all = FALSE)
  expect_fitted(nn, 0.05, n_fitted = 3)
  expect_identical(vapply(nn$weights, is.null, logical(1)), c(TRUE, TRUE, FALSE, FALSE, FALSE))
  expect_identical(ncol(nn$result.matrix), 3L)
  expect_predicts_like_nn(nn, x, rep = best_rep(nn), label = "rep = 5, 2 not converged")
  expect_gt(best_rep(nn), which.min(nn$result.matrix["error", ]))   # column != weights index
})

test_that("a custom output.act.fct is a classed error; a linear output ignores it", {
  skip_if_not_installed("neuralnet")
  d <- nn_reg_data(n = 30)
  softplus <- function(x) log(1 + exp(x))
  nn <- fit_nn(y ~ x1 + x2, data = d, hidden = 2, act.fct = "tanh", output.act.fct = softplus,
               linear.output = FALSE, threshold = 0.5)
  expect_fitted(nn, 0.5)
  expect_innsight_error(convert(nn), "model", "output.act.fct")
  nn <- fit_nn(y ~ x1 + x2, data = d, hidden = 2, act.fct = "tanh", output.act.fct = softplus,
               linear.output = TRUE, threshold = 0.5)
  expect_fitted(nn, 0.5)
  expect_predicts_like_nn(nn, label = "custom output.act.fct, linear output")
})

# Central differences of predict.nn() per input: (B, features, outputs).
nn_fd_grad <- function(nn, x, rep = best_rep(nn), h = 1e-5) {
  out <- sapply(seq_len(ncol(x)), function(j) {
    e <- matrix(0, nrow(x), ncol(x))
    e[, j] <- h
    (predict(nn, x + e, rep = rep) - predict(nn, x - e, rep = rep)) / (2 * h)
  }, simplify = "array")   # (B, outputs, features)
  aperm(array(out, c(nrow(x), NCOL(predict(nn, x[1, , drop = FALSE])), ncol(x))), c(1, 3, 2))
}

test_that("Gradient on trained neuralnet models matches finite differences of predict.nn()", {
  skip_if_not_installed("neuralnet")
  # the iris tanh classifier with logistic outputs
  nn <- fit_nn(Species ~ ., data = iris, hidden = c(4, 3), act.fct = "tanh",
               linear.output = FALSE, threshold = 0.5)
  expect_fitted(nn, 0.5)
  conv <- convert(nn, dtype = "double")
  x <- nn_eval_x(nn)
  g <- run_grad(conv, x, dtype = "double", ignore_last_act = FALSE, verbose = FALSE)
  res <- get_result(g)
  expect_identical(dim(res), c(nrow(x), 4L, 3L))
  expect_equal(unname(res), nn_fd_grad(nn, x), tolerance = 1e-5)
  expect_lt(max(abs(unname(res) - nn_fd_grad(nn, x))), 1e-5)
  # Gradient x Input is the gradient times the input
  gx <- get_result(run_grad(conv, x, times_input = TRUE, dtype = "double", ignore_last_act = FALSE, verbose = FALSE))
  expect_equal(unname(gx), unname(res) * array(x, dim(res)), tolerance = 1e-10)

  # a regression network with two outputs and rep > 1 (the best repetition)
  d <- nn_reg_data()
  nn <- fit_nn(y + y2 ~ x1 + x2 + x3, data = d, hidden = c(4, 3), act.fct = "logistic",
               linear.output = TRUE, threshold = 0.05, rep = 3)
  expect_fitted(nn, 0.05, n_fitted = 3)
  conv <- convert(nn, dtype = "double")
  x <- nn_eval_x(nn)
  res <- get_result(run_grad(conv, x, dtype = "double", ignore_last_act = FALSE, verbose = FALSE))
  expect_identical(dim(res), c(nrow(x), 3L, 2L))
  expect_lt(max(abs(unname(res) - nn_fd_grad(nn, x))), 1e-5)
})
