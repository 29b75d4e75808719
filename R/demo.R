# innsight_demo(): the trained Fashion-MNIST CNN explained by the seven method
# configurations of the ImageNet article (what `make demo` runs).

# The article's seven configurations: constructor and extra arguments. `x_ref =
# "mean"` stands for the article's noisy per-image reference (see demo_reference()).
demo_configs <- function() {
  list(
    "Gradient" = list(method = Gradient$new, args = list()),
    "SmoothGrad" = list(method = SmoothGrad$new, args = list(n = 10)),
    "Gradient x Input" = list(method = Gradient$new, args = list(times_input = TRUE)),
    "LRP (alpha_beta)" = list(method = LRP$new, args = list(
      rule_name = list(BatchNorm_Layer = "pass", Conv2D_Layer = "alpha_beta", MaxPool2D_Layer = "alpha_beta",
                       Dense_Layer = "alpha_beta", AvgPool2D_Layer = "alpha_beta"),
      rule_param = 1)),
    "LRP (composite)" = list(method = LRP$new, args = list(
      rule_name = list(BatchNorm_Layer = "pass", Conv2D_Layer = "alpha_beta", MaxPool2D_Layer = "epsilon",
                       AvgPool2D_Layer = "alpha_beta"),
      rule_param = list(Conv2D_Layer = 0.5, AvgPool2D_Layer = 0.5, MaxPool2D_Layer = 0.001))),
    "DeepLift (rescale zeros)" = list(method = DeepLift$new, args = list()),
    "DeepLift (reveal-cancel mean)" = list(method = DeepLift$new,
                                           args = list(rule_name = "reveal_cancel", x_ref = "mean"))
  )
}

# The article's DeepLift reference: Gaussian noise with the image's per-channel mean
# and standard deviation (one instance, channels first).
demo_reference <- function(x) {
  d <- dim(x)
  m <- apply(x, 2, mean)
  s <- apply(x, 2, stats::sd)
  noise <- array(stats::rnorm(prod(d[-1])), c(1, d[-1]))
  sweep(sweep(noise, 2, s, "*"), 2, m, "+")
}

#' Explain a trained CNN with the article's seven methods
#'
#' A tour of innsight on real data: `innsight_demo()` loads the shipped
#' Fashion-MNIST CNN ([innsight_demo_model()]), predicts four test images
#' ([fashion_mnist_examples()]) and explains each image's predicted class with the
#' seven method configurations of innsight's ImageNet article: Gradient, SmoothGrad
#' (`n = 10`), Gradient x Input, LRP with the alpha-beta rule everywhere, a
#' composite LRP (alpha-beta with `alpha = 0.5` for convolutions and average
#' pooling, epsilon for max pooling, batch normalisation passed through), DeepLift
#' (rescale rule, zero reference) and DeepLift (reveal-cancel rule, a reference of
#' Gaussian noise with the image's mean and standard deviation). It prints the
#' predictions and the time each method took, and writes the comparison figure
#' (images by methods) to a PNG file when the package provides
#' `plot_comparison()`; otherwise it says that no figure was written.
#'
#' `make demo` in the package sources runs this function.
#'
#' @param images (`integer`)\cr Which of the [fashion_mnist_examples()] to explain
#'   (1 to 100); by default four images of different classes.
#' @param model (`character(1)`)\cr `"fmnist_cnn"` (default) or `"fmnist_resnet"`.
#' @param file (`character(1)` or `NULL`)\cr The PNG file of the figure;
#'   `NULL` writes none.
#' @param seed (`integer(1)` or `NULL`)\cr Seed for SmoothGrad's noise and the
#'   noisy DeepLift reference. The caller's random number stream is restored
#'   afterwards. `NULL` uses (and advances) the current stream.
#' @return Invisibly, a list with one entry per method configuration (named as
#'   printed), each a list of the method objects (e.g. [`Gradient`], [`LRP`]),
#'   one per image, explaining that image's predicted class. The attributes
#'   `predictions` (a data frame) and `timings` (seconds per method) hold what was
#'   printed; `figure` holds the PNG's path, or `NULL` when none was written.
#' @seealso [innsight_demo_model()], [fashion_mnist_examples()]
#' @examples
#' res <- innsight_demo(file = NULL)
#' names(res)
#' # the LRP relevances of the first image (one grey channel)
#' lrp <- get_result(res[["LRP (alpha_beta)"]][[1]])
#' dim(lrp)
#' image(t(lrp[1, 1, 28:1, , 1]), axes = FALSE)
#' @export
innsight_demo <- function(images = c(10, 2, 9, 4), model = "fmnist_cnn",
                          file = file.path(tempdir(), "innsight-demo.png"), seed = 42) {
  if (!is_integerish(images) || length(images) == 0 || any(images < 1) || any(images > 100)) {
    innsight_abort("{.arg images} must be indices between 1 and 100, not {.obj_type_friendly {images}}.")
  }
  check_choice(model, c("fmnist_cnn", "fmnist_resnet"), "model")
  if (!is.null(file)) check_path(file, "file")
  if (!is.null(seed)) check_count(seed, min = 0)
  inet_with_seed(seed, demo_run(as.integer(images), model, file))
}

demo_run <- function(images, model, file) {
  conv <- innsight_demo_model(model)
  ex <- fashion_mnist_examples(max(images))
  x <- ex$x[images, , , , drop = FALSE]
  probs <- stats::predict(conv, x)
  top <- max.col(probs, ties.method = "first")
  classes <- colnames(probs)
  pred <- data.frame(image = images, label = as.character(ex$y[images]), predicted = classes[top],
                     probability = round(probs[cbind(seq_along(top), top)], 3))
  info <- demo_models_json()$models[[model]]
  cat(sprintf("innsight %s: the %s demo model (%d parameters, %.1f%% test accuracy on Fashion-MNIST)\n\n",
              getNamespaceVersion("innsight")[[1]], model, as.integer(info$parameters), 100 * info$test_accuracy))
  cat("Predictions:\n")
  print(pred, row.names = FALSE)

  configs <- demo_configs()
  timings <- numeric(length(configs))
  names(timings) <- names(configs)
  results <- list()
  for (name in names(configs)) {
    conf <- configs[[name]]
    results[[name]] <- vector("list", length(images))
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_along(images)) {
      args <- conf$args
      if (identical(args$x_ref, "mean")) args$x_ref <- demo_reference(x[i, , , , drop = FALSE])
      args <- c(list(converter = conv, data = x[i, , , , drop = FALSE], output_idx = top[i],
                     channels_first = TRUE, verbose = FALSE), args)
      results[[name]][[i]] <- do.call(conf$method, args)
    }
    timings[[name]] <- proc.time()[["elapsed"]] - t0
  }
  threads <- innsight_threads()
  cat(sprintf("\nSeconds per method for %d image%s (%s):\n", length(images), if (length(images) > 1) "s" else "",
              if (threads == 0L) "all cores" else paste(threads, if (threads == 1L) "thread" else "threads")))
  print(data.frame(method = names(timings), seconds = round(unname(timings), 3)), row.names = FALSE)

  figure <- if (is.null(file)) NULL else demo_figure(results, x, pred, file)
  attr(results, "predictions") <- pred
  attr(results, "timings") <- timings
  attr(results, "figure") <- figure
  invisible(results)
}

# The comparison figure via plot_comparison() when the package has it: per method,
# the images' attributions (each for its own predicted class) stacked into one
# (N, C, H, W) array.
demo_figure <- function(results, x, pred, file) {
  plot_comparison <- get0("plot_comparison", envir = topenv(environment(demo_figure)),
                          mode = "function", inherits = FALSE)
  if (is.null(plot_comparison)) {
    cat("\nNo figure written: this build of innsight has no plot_comparison().\n")
    return(NULL)
  }
  arrays <- lapply(results, function(objs) {
    a <- vapply(objs, function(o) {
      r <- get_result(o)
      array(r, dim(r)[2:4])
    }, array(0, dim(x)[-1]))
    aperm(array(a, c(dim(x)[-1], length(objs))), c(4, 1, 2, 3))
  })
  labels <- sprintf("%s (%.1f%%)", pred$predicted, 100 * pred$probability)
  ok <- tryCatch({
    plot_comparison(arrays, images = x, row_labels = labels, channels_first = TRUE, file = file)
    TRUE
  }, error = function(e) {
    cat("\nNo figure written: plot_comparison() failed:", conditionMessage(e), "\n")
    FALSE
  })
  if (!ok) return(NULL)
  cat("\nFigure:", normalizePath(file, mustWork = FALSE), "\n")
  file
}
