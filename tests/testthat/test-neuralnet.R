# neuralnet models (class "nn"). The neuralnet package is not needed: the objects
# are built by hand with the fields neuralnet() returns, and compared with a plain-R
# forward pass of their weights (what predict.nn() computes).

# A fitted-looking nn object: `sizes` = c(inputs, hidden..., outputs); `reps`
# repetitions with errors `errors` (the smallest one is the model to use).
fake_nn <- function(sizes = c(3, 4, 2), act = "logistic", linear.output = FALSE, reps = 1,
                    errors = seq_len(reps), seed = 1, response = NULL, variables = NULL) {
  with_seed(seed, {
    weights <- lapply(seq_len(reps), function(r) {
      lapply(seq_len(length(sizes) - 1), function(i) {
        matrix(stats::rnorm((sizes[i] + 1) * sizes[i + 1]), sizes[i] + 1, sizes[i + 1])
      })
    })
    covariate <- matrix(stats::rnorm(10 * sizes[1]), 10, sizes[1])
  })
  variables <- variables %||% paste0("x", seq_len(sizes[1]))
  response <- response %||% paste0("y", seq_len(sizes[length(sizes)]))
  colnames(covariate) <- variables
  act.fct <- switch(act,
    logistic = function(x) 1 / (1 + exp(-x)),
    tanh = function(x) tanh(x),
    function(x) log(1 + exp(x))
  )
  attr(act.fct, "type") <- if (act %in% c("logistic", "tanh")) act else "function"
  err.fct <- function(x, y) 1 / 2 * (y - x)^2
  attr(err.fct, "type") <- "sse"
  n_w <- sum(vapply(weights[[1]], length, 0))
  result.matrix <- rbind(error = errors, reached.threshold = rep(0.009, reps), steps = rep(1234, reps),
                         matrix(unlist(weights), n_w, reps))
  response_matrix <- matrix(0, 10, length(response), dimnames = list(NULL, response))
  structure(list(
    call = quote(neuralnet(formula = y ~ ., data = d)),
    response = response_matrix, covariate = covariate,
    model.list = list(response = response, variables = variables),
    err.fct = err.fct, act.fct = act.fct, linear.output = linear.output,
    data = as.data.frame(covariate), exclude = NULL,
    net.result = NULL, weights = weights, startweights = weights,
    generalized.weights = NULL, result.matrix = result.matrix
  ), class = "nn")
}

# predict.nn(): h <- act(cbind(1, h) %*% W) per layer, no act on the output when linear.
nn_forward <- function(nn, x, rep = 1) {
  W <- nn$weights[[rep]]
  h <- x
  for (i in seq_along(W)) {
    h <- cbind(1, h) %*% W[[i]]
    if (i < length(W) || !nn$linear.output) h <- nn$act.fct(h)
  }
  unname(h)
}

test_that("neuralnet models convert and predict like predict.nn()", {
  cases <- list(
    list(sizes = c(3, 4, 2), act = "logistic", linear.output = FALSE),
    list(sizes = c(3, 4, 2), act = "logistic", linear.output = TRUE),
    list(sizes = c(5, 6, 3, 1), act = "tanh", linear.output = TRUE),
    list(sizes = c(4, 10, 8, 3), act = "tanh", linear.output = FALSE),
    list(sizes = c(2, 1), act = "logistic", linear.output = TRUE)   # no hidden layer
  )
  for (k in seq_along(cases)) {
    cs <- cases[[k]]
    nn <- fake_nn(cs$sizes, cs$act, cs$linear.output, seed = k)
    conv <- convert(nn, dtype = "double")
    x <- rand_data(7, cs$sizes[1], seed = k)
    expect_equal(unname(predict(conv, x)), nn_forward(nn, x), tolerance = 1e-12, label = paste("case", k))
    expect_equal(unname(predict(convert(nn), x)), nn_forward(nn, x), tolerance = 1e-5)
    expect_identical(conv$input_dim, list(as.integer(cs$sizes[1])))
    expect_identical(conv$output_dim, list(as.integer(cs$sizes[length(cs$sizes)])))
    layers <- conv$model$layers()
    expect_length(layers, length(cs$sizes) - 1)
  }
})

test_that("the repetition with the smallest error is used", {
  nn <- fake_nn(c(3, 5, 2), reps = 3, errors = c(0.5, 0.1, 0.3), seed = 9)
  conv <- convert(nn, dtype = "double")
  x <- rand_data(4, 3)
  expect_equal(unname(predict(conv, x)), nn_forward(nn, x, rep = 2), tolerance = 1e-12)
  expect_false(isTRUE(all.equal(unname(predict(conv, x)), nn_forward(nn, x, rep = 1))))
})

test_that("names come from model.list; the bias row and layer shapes are right", {
  nn <- fake_nn(c(4, 3, 3), variables = c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"),
                response = c("setosa", "versicolor", "virginica"), act = "tanh")
  conv <- convert(nn, save_model_as_list = TRUE)
  expect_identical(levels(conv$input_names[[1]][[1]]), c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"))
  expect_identical(levels(conv$output_names[[1]][[1]]), c("setosa", "versicolor", "virginica"))
  l1 <- conv$model_as_list$layers[[1]]
  expect_identical(l1$weight, t(unname(nn$weights[[1]][[1]][-1, ])))
  expect_identical(l1$bias, unname(nn$weights[[1]][[1]][1, ]))
  expect_identical(l1$activation_name, "tanh")
  expect_identical(conv$model_as_list$layers[[2]]$activation_name, "tanh")  # linear.output = FALSE
  # names given to the converter win
  conv2 <- convert(nn, input_names = c("a", "b", "c", "d"))
  expect_identical(levels(conv2$input_names[[1]][[1]]), c("a", "b", "c", "d"))
  # input_dim is only cross-checked
  expect_s3_class(convert(nn, input_dim = 4), "Converter")
  expect_innsight_error(convert(nn, input_dim = 3), "model", "input_dim")
})

test_that("methods run on a converted neuralnet model", {
  nn <- fake_nn(c(3, 6, 2), act = "tanh", linear.output = TRUE)
  conv <- convert(nn, dtype = "double")
  x <- rand_data(5, 3)
  g <- run_grad(conv, x, verbose = FALSE)
  expect_identical(dim(get_result(g)), c(5L, 3L, 2L))
  # the gradient of a tanh network, by finite differences
  h <- 1e-6
  fd <- sapply(1:3, function(j) {
    e <- matrix(0, 5, 3)
    e[, j] <- h
    (nn_forward(nn, x + e) - nn_forward(nn, x - e)) / (2 * h)
  }, simplify = "array")  # (5, 2, 3)
  expect_equal(get_result(g), aperm(fd, c(1, 3, 2)), tolerance = 1e-6, ignore_attr = TRUE)
  expect_s3_class(run_lrp(conv, x, verbose = FALSE), "LRP")
})

test_that("excluded weights (NA) count as no connection", {
  nn <- fake_nn(c(3, 4, 1), linear.output = TRUE)
  nn$weights[[1]][[1]][2, 3] <- NA
  conv <- convert(nn, dtype = "double")
  x <- rand_data(3, 3)
  nn0 <- nn
  nn0$weights[[1]][[1]][2, 3] <- 0
  expect_equal(unname(predict(conv, x)), nn_forward(nn0, x), tolerance = 1e-12)
})

test_that("unfitted models, custom activations and broken weights are classed errors", {
  nn <- fake_nn()
  unfitted <- nn
  unfitted$result.matrix <- NULL
  unfitted$weights <- NULL
  expect_innsight_error(convert(unfitted), "model", "not been fitted")
  expect_innsight_error(convert(fake_nn(act = "softplus")), "model", "custom activation")
  no_type <- nn
  attr(no_type$act.fct, "type") <- NULL
  expect_innsight_error(convert(no_type), "model", "activation")
  broken <- nn
  broken$weights[[1]][[2]] <- matrix(0, 3, 2)   # needs 5 rows (bias + 4 hidden units)
  expect_innsight_error(convert(broken), "model", "layer 2")
  broken$weights[[1]][[2]] <- "w"
  expect_innsight_error(convert(broken), "model", "layer 2")
  bad_reps <- fake_nn(reps = 2)
  bad_reps$weights <- bad_reps$weights[1]
  bad_reps$result.matrix <- cbind(bad_reps$result.matrix, bad_reps$result.matrix)
  bad_reps$result.matrix["error", ] <- c(3, 2, 1, 0)
  expect_innsight_error(convert(bad_reps), "model", "repetition")
})

test_that("a converted neuralnet model survives save_model()/load_model()", {
  nn <- fake_nn(c(3, 4, 2), response = c("no", "yes"))
  conv <- convert(nn, dtype = "double")
  path <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv, path)
  conv2 <- load_model(path)
  x <- rand_data(4, 3)
  expect_identical(predict(conv2, x), predict(conv, x))
  expect_identical(colnames(predict(conv2, x)), c("no", "yes"))
})
