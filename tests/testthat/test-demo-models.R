# The shipped demo models (inst/extdata, trained by tools/demo-models): they load,
# reproduce the accuracies and PyTorch logits recorded in demo_models.json on the
# data that ship with R and the package, and innsight_demo() runs the article's
# seven configurations on the CNN.

demo_info <- function() {
  jsonlite::read_json(system.file("extdata", "demo_models.json", package = "innsight"))
}

# max over rows of max |a - b| / max |b|
max_rel_diff <- function(a, b) max(apply(abs(a - b), 1, max) / apply(abs(b), 1, max))
as_logits <- function(rows) do.call(rbind, lapply(rows, unlist))

test_that("the demo files are installed and together stay small", {
  files <- system.file("extdata", c(paste0(innsight:::demo_model_names, ".safetensors"),
                                    "fashion_mnist_examples.rds", "demo_models.json"), package = "innsight")
  expect_true(all(nzchar(files)))
  models <- files[1:4]
  expect_lt(sum(file.size(models)), 3e6)
  tab <- innsight_demo_models()
  expect_equal(tab$name, c("fmnist_cnn", "fmnist_resnet", "iris_mlp", "penguin_mlp"))
  expect_equal(tab$classes, c(10L, 10L, 3L, 3L))
  expect_true(all(tab$test_accuracy >= c(0.9, 0.9, 0.9, 0.9)))
  expect_equal(innsight_demo_model("iris_mlp", path = TRUE), files[3])
})

test_that("the Fashion-MNIST models reproduce the recorded accuracy and PyTorch's logits on the shipped images", {
  info <- demo_info()
  ex <- fashion_mnist_examples(100)
  expect_equal(dim(ex$x), c(100, 1, 28, 28))
  for (name in c("fmnist_cnn", "fmnist_resnet")) {
    rec <- info$models[[name]]
    conv <- innsight_demo_model(name)
    expect_equal(unlist(conv$input_dim), c(1, 28, 28))
    logits <- predict(conv, ex$x, type = "preactivation")
    expect_equal(colnames(logits), levels(ex$y))
    acc <- mean(levels(ex$y)[max.col(logits)] == ex$y)
    expect_equal(acc, rec$examples_accuracy, info = name)
    expect_gte(rec$test_accuracy, 0.9)
    expect_lt(max_rel_diff(logits, as_logits(rec$examples_logits)), 1e-4)
    # double precision gives the same within float rounding
    logits64 <- predict(innsight_demo_model(name, dtype = "double"), ex$x, type = "preactivation")
    expect_lt(max_rel_diff(logits64, as_logits(rec$examples_logits)), 1e-4)
    # channels last, as the methods accept it
    ex_last <- fashion_mnist_examples(100, channels_first = FALSE)
    expect_equal(predict(conv, ex_last$x, channels_first = FALSE, type = "preactivation"), logits)
  }
})

tabular_check <- function(name, x, y) {
  rec <- demo_info()$models[[name]]
  conv <- innsight_demo_model(name)
  test <- seq_len(nrow(x)) %% 3 == 0
  expect_equal(rec$n_test, sum(test))
  logits <- predict(conv, x[test, ], type = "preactivation")
  expect_equal(colnames(logits), levels(y))
  acc <- mean(colnames(logits)[max.col(logits)] == y[test])
  expect_equal(acc, rec$test_accuracy, tolerance = 1e-6)
  expect_gte(acc, 0.9)
  expect_lt(max_rel_diff(logits, as_logits(rec$test_logits)), 1e-4)
  expect_equal(as.character(conv$input_names[[1]][[1]]), colnames(x))
}

test_that("the iris MLP reproduces its recorded test accuracy and logits", {
  tabular_check("iris_mlp", iris[, 1:4], iris$Species)
})

test_that("the penguin MLP reproduces its recorded test accuracy and logits", {
  skip_if_not_installed("palmerpenguins")
  p <- as.data.frame(palmerpenguins::penguins)
  cols <- c("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
  p <- p[stats::complete.cases(p[, cols]), ]
  tabular_check("penguin_mlp", p[, cols], p$species)
})

test_that("fashion_mnist_examples() returns images in [0, 1] with interleaved classes", {
  ex <- fashion_mnist_examples()
  expect_named(ex, c("x", "y"))
  expect_equal(dim(ex$x), c(16, 1, 28, 28))
  expect_true(all(ex$x >= 0 & ex$x <= 1))
  expect_s3_class(ex$y, "factor")
  expect_equal(nlevels(ex$y), 10)
  expect_equal(as.integer(ex$y), (0:15 %% 10) + 1L)
  last <- fashion_mnist_examples(3, channels_first = FALSE)
  expect_equal(dim(last$x), c(3, 28, 28, 1))
  expect_equal(last$x[, , , 1], ex$x[1:3, 1, , ])
  expect_error(fashion_mnist_examples(101), class = "innsight_error_argument")
  expect_error(fashion_mnist_examples(0), class = "innsight_error_argument")
  expect_error(fashion_mnist_examples(2, channels_first = NA), class = "innsight_error_argument")
})

test_that("innsight_demo_model() checks its arguments", {
  expect_error(innsight_demo_model("vgg16"), class = "innsight_error_argument")
  expect_error(innsight_demo_model(path = "yes"), class = "innsight_error_argument")
  expect_error(innsight_demo_model(dtype = "half"), class = "innsight_error_argument")
  expect_s3_class(innsight_demo_model("fmnist_resnet"), "Converter")
})

test_that("innsight_demo() runs the seven configurations and prints predictions and timings", {
  old <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv())
  out <- capture.output(res <- innsight_demo(file = NULL))
  if (!is.null(old)) expect_identical(get(".Random.seed", globalenv()), old)  # user's stream untouched
  expect_length(res, 7)
  expect_equal(names(res), c("Gradient", "SmoothGrad", "Gradient x Input", "LRP (alpha_beta)",
                             "LRP (composite)", "DeepLift (rescale zeros)", "DeepLift (reveal-cancel mean)"))
  expect_true(any(grepl("Predictions", out)))
  expect_true(any(grepl("Seconds per method", out)))
  pred <- attr(res, "predictions")
  expect_equal(nrow(pred), 4)
  expect_equal(pred$predicted, pred$label)  # the four default images are classified correctly
  expect_equal(names(attr(res, "timings")), names(res))
  expect_null(attr(res, "figure"))
  top <- match(pred$predicted, levels(fashion_mnist_examples()$y))
  for (name in names(res)) {
    expect_length(res[[name]], 4)
    for (i in 1:4) {
      a <- get_result(res[[name]][[i]])
      expect_equal(dim(a), c(1, 1, 28, 28, 1), info = name)
      expect_true(all(is.finite(a)), info = name)
      expect_gt(max(abs(a)), 0)
      expect_equal(res[[name]][[i]]$output_idx[[1]], top[i])
    }
  }
  # DeepLift's contributions sum to the difference of the logits (float precision)
  dl <- res[["DeepLift (rescale zeros)"]][[1]]
  expect_equal(sum(get_result(dl)), dl$decomp_goal[[1]][1, 1], tolerance = 1e-3, ignore_attr = TRUE)
  # the same seed gives the same SmoothGrad
  res2 <- suppressWarnings(capture.output(r2 <- innsight_demo(images = 10, file = NULL)))
  expect_equal(get_result(r2$SmoothGrad[[1]]), get_result(res$SmoothGrad[[1]]))
})

test_that("innsight_demo() reports when it cannot write a figure", {
  skip_if(exists("plot_comparison", envir = asNamespace("innsight"), inherits = FALSE))
  file <- withr::local_tempfile(fileext = ".png")
  out <- capture.output(res <- innsight_demo(images = 1, file = file))
  expect_true(any(grepl("No figure written", out)))
  expect_false(file.exists(file))
  expect_null(attr(res, "figure"))
})

test_that("innsight_demo() writes the comparison figure with plot_comparison()", {
  skip_if_not(exists("plot_comparison", envir = asNamespace("innsight"), inherits = FALSE))
  skip_on_cran()
  file <- withr::local_tempfile(fileext = ".png")
  out <- capture.output(res <- innsight_demo(images = c(1, 2), file = file))
  expect_true(any(grepl("Figure:", out, fixed = TRUE)))
  expect_true(file.exists(file))
  expect_gt(file.size(file), 1000)
  expect_equal(attr(res, "figure"), file)
})

test_that("innsight_demo() checks its arguments", {
  expect_error(innsight_demo(images = 0), class = "innsight_error_argument")
  expect_error(innsight_demo(images = 101), class = "innsight_error_argument")
  expect_error(innsight_demo(model = "iris_mlp"), class = "innsight_error_argument")
  expect_error(innsight_demo(file = 1), class = "innsight_error_argument")
  expect_error(innsight_demo(seed = -1), class = "innsight_error_argument")
})
