# The error catalogue, argument by argument: every argument of every exported
# function (and the options) has at least one bad-input case here or in the
# other test files (test-errors.R, test-agnostic-errors.R, the method files).
# Each case asserts the condition class and that the message names the argument.
# The cases here are the ones the other files did not have.

mlp <- make_mlp_model()
conv <- convert(mlp)
x <- rand_data(3, 4)
c2 <- convert(make_conv2d_model())
x2 <- rand_data(2, c(3, 8, 8))
g <- run_grad(conv, x, verbose = FALSE)
gi <- run_grad(c2, x2, verbose = FALSE)

# The bad values of the arguments most methods share, one case each: for every
# name in `args`, `fun(conv, x, <name> = <bad value>)` must be an argument error
# naming it. The call is built and then evaluated so that a failure is labelled
# with it (e.g. `run_lrp(conv, x, output_idx = 9)`).
shared_bad <- list(channels_first = "a", output_idx = 9, output_label = "zz", ignore_last_act = "a",
                   verbose = "a", dtype = "x")
expect_shared_errors <- function(fun, args, conv = conv, data = x) {
  fun <- substitute(fun)
  conv <- substitute(conv)
  data <- substitute(data)
  for (a in args) {
    call <- as.call(c(list(fun, conv, data), shared_bad[a]))
    eval(bquote(expect_innsight_error(.(call), "argument", .(a))), parent.frame())
  }
}

test_that("Converter$new(): input_dim, output_names, dtype, save_model_as_list", {
  expect_innsight_error(convert(mlp, input_dim = -4), "model", "input_dim")
  expect_innsight_error(convert(mlp, input_dim = NA), "model", "input_dim")
  expect_innsight_error(convert(mlp, output_names = list(c("a", "b", "c"), c("d", "e", "f"))), "argument", "output_names")
  expect_innsight_error(convert(mlp, dtype = 1), "argument", "dtype")
  expect_innsight_error(convert(mlp, save_model_as_list = c(TRUE, FALSE)), "argument", "save_model_as_list")
  expect_innsight_error(convert("nofile.safetensors"), "model", "nofile.safetensors")
  expect_innsight_error(convert("nofile.onnx"), "model", "nofile.onnx")
})

test_that("predict(): newdata, channels_first, dtype and unknown arguments", {
  expect_innsight_error(predict(conv, list(x, x)), "data", "newdata")
  expect_innsight_error(predict(conv, x, channels_first = "yes"), "argument", "channels_first")
  expect_innsight_error(predict(conv, x, dtype = "half"), "argument", "dtype")
  expect_innsight_error(predict(conv, x, dtype = 1), "argument", "dtype")
  # was silently ignored (a typo such as `chanels_first = FALSE` had no effect)
  expect_innsight_error(predict(conv, x, chanels_first = FALSE), "argument", "chanels_first")
})

test_that("Gradient: every shared argument", {
  expect_innsight_error(run_grad(1, x), "argument", "converter")
  expect_innsight_error(run_grad(conv, list()), "data", "data")
  expect_innsight_error(run_grad(conv, x, output_idx = TRUE), "argument", "output_idx")
  expect_innsight_error(run_grad(conv, x, output_label = 3), "argument", "output_label")
  expect_innsight_error(run_grad(conv, x, dtype = 2), "argument", "dtype")
})

test_that("SmoothGrad: every argument", {
  expect_innsight_error(run_smoothgrad(1, x), "argument", "converter")
  expect_innsight_error(run_smoothgrad(conv, "a"), "data", "data")
  expect_innsight_error(run_smoothgrad(conv, x, channels_first = NA), "argument", "channels_first")
  expect_shared_errors(run_smoothgrad, c("output_idx", "output_label", "ignore_last_act"))
  expect_innsight_error(run_smoothgrad(conv, x, times_input = "a"), "argument", "times_input")
  expect_innsight_error(run_smoothgrad(conv, x, n = NA), "argument", "`n`")
  expect_innsight_error(run_smoothgrad(conv, x, noise_level = c(1, 2)), "argument", "noise_level")
  expect_innsight_error(run_smoothgrad(conv, x, noise_level = NA), "argument", "noise_level")
  expect_innsight_error(run_smoothgrad(conv, x, verbose = 1), "argument", "verbose")
  expect_innsight_error(run_smoothgrad(conv, x, dtype = "x"), "argument", "dtype")
})

test_that("IntegratedGradient: every argument", {
  expect_innsight_error(run_intgrad(conv, "a"), "data", "data")
  expect_innsight_error(run_intgrad(conv, x, x_ref = list(1)), "data", "x_ref")
  expect_innsight_error(run_intgrad(conv, x, n = 1.5), "argument", "`n`")
  expect_innsight_error(run_intgrad(conv, x, n = 1e12), "argument", "`n`")
  expect_innsight_error(run_intgrad(conv, x, channels_first = 1), "argument", "channels_first")
  expect_innsight_error(run_intgrad(conv, x, output_idx = 0), "argument", "output_idx")
  expect_shared_errors(run_intgrad, c("output_label", "ignore_last_act", "verbose", "dtype"))
})

test_that("ExpectedGradient: every argument", {
  expect_innsight_error(run_expgrad(1, x), "argument", "converter")
  expect_innsight_error(run_expgrad(conv, "a"), "data", "data")
  expect_innsight_error(run_expgrad(conv, x, data_ref = list(1, 2)), "data", "data_ref")
  expect_innsight_error(run_expgrad(conv, x, n = NULL), "argument", "`n`")
  expect_innsight_error(run_expgrad(conv, x, n = 3e9), "argument", "`n`")
  expect_shared_errors(run_expgrad, c("channels_first", "output_idx", "output_label", "ignore_last_act", "verbose", "dtype"))
})

test_that("LRP: the shared arguments", {
  expect_innsight_error(run_lrp(1, x), "argument", "converter")
  expect_shared_errors(run_lrp, c("output_idx", "output_label", "ignore_last_act", "verbose"))
})

test_that("DeepLift: the shared arguments", {
  expect_innsight_error(run_deeplift(1, x), "argument", "converter")
  expect_shared_errors(run_deeplift, c("channels_first", "output_idx", "output_label", "verbose", "dtype"))
})

test_that("DeepSHAP: every argument", {
  expect_innsight_error(run_deepshap(1, x), "argument", "converter")
  expect_shared_errors(run_deepshap, c("channels_first", "output_idx", "output_label", "ignore_last_act"))
  expect_innsight_error(run_deepshap(conv, x, data_ref = matrix(NA_real_, 2, 4)), "data", "data_ref")
  expect_innsight_error(run_deepshap(conv, x, data_ref = matrix(0, 0, 4)), "data", "data_ref")
  expect_innsight_error(run_deepshap(conv, x, limit_ref = "a"), "argument", "limit_ref")
  expect_shared_errors(run_deepshap, c("verbose", "dtype"))
})

test_that("ConnectionWeights: converter, output_label, verbose", {
  expect_innsight_error(run_cw(1), "argument", "converter")
  expect_innsight_error(run_cw(conv, output_label = "zz"), "argument", "output_label")
  expect_innsight_error(run_cw(conv, verbose = "a"), "argument", "verbose")
})

test_that("Occlusion: every argument", {
  expect_innsight_error(run_occlusion(1, x2), "argument", "converter")
  expect_innsight_error(run_occlusion(c2, "a"), "data", "data")
  expect_shared_errors(run_occlusion, c("channels_first", "output_idx", "output_label", "ignore_last_act"), c2, x2)
  expect_innsight_error(run_occlusion(c2, x2, window = c(NA, 2)), "argument", "window")
  expect_innsight_error(run_occlusion(c2, x2, window = c(2, 2), strides = "a"), "argument", "strides")
  # no lower bound to report: the message must not say "at least -Inf"
  e <- expect_innsight_error(run_occlusion(c2, x2, baseline = Inf), "argument", "baseline")
  expect_no_match(conditionMessage(e), "-Inf", fixed = TRUE)
  expect_shared_errors(run_occlusion, c("verbose", "dtype"), c2, x2)
})

test_that("GradCAM: every argument", {
  expect_innsight_error(run_gradcam(1, x2), "argument", "converter")
  expect_innsight_error(run_gradcam(c2, "a"), "data", "data")
  expect_shared_errors(run_gradcam, c("channels_first", "output_idx", "output_label", "ignore_last_act"), c2, x2)
  expect_innsight_error(run_gradcam(c2, x2, layer = c(1, 3)), "argument", "layer")
  expect_shared_errors(run_gradcam, c("verbose", "dtype"), c2, x2)
})

test_that("LIME: every argument", {
  fit <- lm(Sepal.Length ~ ., data = iris[, 1:4])
  xi <- iris[1:2, 2:4]
  expect_innsight_error(run_lime(3, x), "argument", "pred_fun")
  expect_innsight_error(run_lime(conv, x, data_ref = "a"), "data", "data_ref")
  expect_innsight_error(run_lime(fit, xi, output_type = c("regression", "classification"),
                                 pred_fun = function(newdata) predict(fit, newdata)), "argument", "output_type")
  expect_innsight_error(run_lime(fit, xi, output_type = "regression", pred_fun = 1), "argument", "pred_fun")
  expect_shared_errors(run_lime, c("output_idx", "output_label", "channels_first"))
  expect_innsight_error(run_lime(conv, x, input_dim = 5), "data", "input shape")
  expect_innsight_error(run_lime(conv, x, input_names = c("a", "b")), "argument", "input_names")
  expect_innsight_error(run_lime(conv, x, input_names = 1:4), "argument", "input_names")
  expect_innsight_error(run_lime(conv, x, output_names = "a"), "argument", "output_names")
  expect_innsight_error(run_lime(conv, x, n_samples = 1), "argument", "n_samples")
  expect_innsight_error(run_lime(conv, x, n_samples = "a"), "argument", "n_samples")
  expect_innsight_error(run_lime(conv, x, kernel_width = Inf), "argument", "kernel_width")
  expect_innsight_error(run_lime(conv, x, lambda = -1), "argument", "lambda")
  expect_innsight_error(run_lime(conv, x, lambda = "a"), "argument", "lambda")
  expect_innsight_error(run_lime(conv, x, n_features = 0), "argument", "n_features")
  expect_innsight_error(run_lime(conv, x, feature_groups = c(1, 1, 2)), "argument", "feature_groups")
  expect_innsight_error(run_lime(conv, x, patch_size = "a"), "argument", "patch_size")
  expect_shared_errors(run_lime, c("verbose", "dtype"))
})

test_that("SHAP: every argument", {
  expect_innsight_error(run_shap(conv, x, data_ref = "a"), "data", "data_ref")
  expect_shared_errors(run_shap, c("output_idx", "output_label", "channels_first"))
  expect_innsight_error(run_shap(conv, x, input_dim = list(4, 4)), "data", "input shape")
  expect_innsight_error(run_shap(conv, x, input_names = c("a", "b")), "argument", "input_names")
  expect_innsight_error(run_shap(conv, x, output_names = 1:3), "argument", "output_names")
  expect_innsight_error(run_shap(conv, x, n_coalitions = 1), "argument", "n_coalitions")
  expect_innsight_error(run_shap(conv, x, n_coalitions = "a"), "argument", "n_coalitions")
  expect_innsight_error(run_shap(conv, x, method = "permutation", n_permutations = 0), "argument", "n_permutations")
  expect_innsight_error(run_shap(conv, x, feature_groups = c(1, 2, NA, 3)), "argument", "feature_groups")
  expect_innsight_error(run_shap(c2, x2, patch_size = c(2, 2, 2)), "argument", "patch_size")
  expect_innsight_error(run_shap(conv, x, dtype = "x"), "argument", "dtype")
  expect_innsight_error(run_shap(conv, x, nsim = 0), "argument", "nsim")
})

test_that("get_result(): x and unknown arguments", {
  # was "no applicable method for 'get_result'"
  expect_innsight_error(get_result(1), "argument", "`x`")
  expect_innsight_error(get_result(list(result = 1)), "argument", "`x`")
  # was silently ignored
  expect_innsight_error(get_result(g, format = "data.frame"), "argument", "format")
  expect_innsight_error(g$get_result(type = 1), "argument", "type")
  expect_innsight_error(get_result(g, type = c("array", "data.frame")), "argument", "type")
})

test_that("plot(): aggr_channels, image_alpha, images, data_idx", {
  expect_innsight_error(plot(g, aggr_channels = "max"), "argument", "aggr_channels")
  expect_innsight_error(plot(gi, aggr_channels = function(v) "a"), "argument", "aggr_channels")
  expect_innsight_error(plot(gi, image_alpha = "a"), "argument", "image_alpha")
  expect_innsight_error(plot(gi, show_image = "side", images = array(1, c(5, 3, 8, 8))), "argument", "images")
  expect_innsight_error(plot(g, data_idx = "a"), "argument", "data_idx")
})

test_that("plot_global(): x, output_label, aggr_channels, unknown arguments", {
  # was "no applicable method for 'plot_global'"
  expect_innsight_error(plot_global(1), "argument", "`x`")
  expect_innsight_error(plot_global(g, output_label = "zz"), "argument", "output_label")
  expect_innsight_error(plot_global(g, aggr_channels = 1), "argument", "aggr_channels")
  expect_innsight_error(plot_global(g, data_idx = "some"), "argument", "data_idx")
  expect_innsight_error(plot_global(g, individual_max = 1e10), "argument", "individual_max")
  expect_innsight_error(plot_global(g, foo = 1), "argument", "foo")
})

test_that("boxplot(): every argument", {
  expect_innsight_error(boxplot(g, output_idx = 99), "argument", "output_idx")
  expect_innsight_error(boxplot(g, output_label = "zz"), "argument", "output_label")
  expect_innsight_error(boxplot(g, ref_data_idx = 99), "argument", "ref_data_idx")
  expect_innsight_error(boxplot(g, aggr_channels = 1), "argument", "aggr_channels")
  expect_innsight_error(boxplot(g, preprocess_FUN = 1), "argument", "preprocess_FUN")
  expect_innsight_error(boxplot(g, as_plotly = "a"), "argument", "as_plotly")
  expect_innsight_error(boxplot(g, individual_data_idx = 0), "argument", "individual_data_idx")
  expect_innsight_error(boxplot(g, individual_max = "a"), "argument", "individual_max")
  expect_innsight_error(boxplot(g, foo = 1), "argument", "foo")
})

test_that("summary(): probs and unknown arguments", {
  expect_innsight_error(summary(g, probs = 2), "argument", "probs")
  expect_innsight_error(summary(g, probs = NA), "argument", "probs")
  expect_innsight_error(summary(g, probs = "a"), "argument", "probs")
  expect_innsight_error(summary(g, foo = 1), "argument", "foo")
})

test_that("explain_dataset(): method, keep, dir", {
  expect_innsight_error(explain_dataset(1), "argument", "method")
  expect_innsight_error(explain_dataset(function(...) 1), "argument", "method")
  expect_innsight_error(explain_dataset(run_grad, conv, x, keep = "all"), "argument", "keep")
  expect_innsight_error(explain_dataset(run_grad, conv, x, keep = c("result", "summary")), "argument", "keep")
  expect_innsight_error(explain_dataset(run_grad, conv, x, dir = 1), "argument", "dir")
  f <- withr::local_tempfile()
  file.create(f)
  expect_innsight_error(explain_dataset(run_grad, conv, x, dir = f), "argument", "dir")
})

test_that("plot_comparison(): dots, aggr_channels, image_title, show_legend, file", {
  expect_innsight_error(plot_comparison(list(gi), foo = 1), "argument", "foo")
  expect_innsight_error(plot_comparison(list(gi), aggr_channels = "max"), "argument", "aggr_channels")
  expect_innsight_error(plot_comparison(list(gi), image_title = 1), "argument", "image_title")
  expect_innsight_error(plot_comparison(list(gi), show_legend = "a"), "argument", "show_legend")
  expect_innsight_error(plot_comparison(list(gi), label_width = "a"), "argument", "label_width")
  expect_innsight_error(plot_comparison(list(gi), file = 1), "argument", "file")
  expect_innsight_error(plot_comparison(list(gi), row_labels = "a"), "argument", "row_labels")
  expect_innsight_error(plot_comparison(list()), "argument", "methods")
})

test_that("save_model() and load_model(): converter, path, dtype", {
  path <- withr::local_tempfile(fileext = ".safetensors")
  expect_innsight_error(save_model(1, path), "argument", "converter")
  expect_innsight_error(save_model(conv, ""), "argument", "path")
  expect_innsight_error(save_model(conv, tempdir()), "io")
  expect_innsight_error(load_model(NA_character_), "argument", "path")
  expect_innsight_error(load_model(path), "io", "does not exist")
  save_model(conv, path)
  expect_innsight_error(load_model(path, dtype = "x"), "argument", "dtype")
  writeLines("garbage", path)
  expect_innsight_error(load_model(path), "io")
})

test_that("imagenet helpers: arch, dtype, seed, mode, what, preds", {
  expect_innsight_error(imagenet_model("vgg"), "argument", "arch")
  expect_innsight_error(imagenet_model("vgg16", dtype = "x"), "argument", "dtype")
  expect_innsight_error(imagenet_model("vgg16", seed = "a"), "argument", "seed")
  expect_innsight_error(imagenet_preprocess(array(1, c(1, 4, 4, 3)), mode = "x"), "argument", "mode")
  expect_innsight_error(imagenet_preprocess(list(1, 2)), "data", "`x`")
  expect_innsight_error(imagenet_labels("x"), "argument", "what")
  expect_innsight_error(decode_predictions(matrix(1, 2, 10)), "data", "preds")
  # NA scores were sorted last and listed with the top classes
  expect_innsight_error(decode_predictions(matrix(NA_real_, 1, 1000)), "data", "preds")
  expect_innsight_error(decode_predictions(matrix(1, 1, 1000), top = c(1, 2)), "argument", "top")
})

test_that("load_images(): paths, target_size, channels_first", {
  expect_innsight_error(load_images(1), "argument", "paths")
  expect_innsight_error(load_images("a.png", target_size = 0), "argument", "target_size")
  expect_innsight_error(load_images("a.png", target_size = c("a", "b")), "argument", "target_size")
  expect_innsight_error(load_images("a.png", channels_first = "a"), "argument", "channels_first")
  expect_innsight_error(load_images("nofile.png"), "data", "nofile.png")
})

test_that("demo helpers: images, model, file, seed, name, path, dtype, n", {
  expect_innsight_error(innsight_demo(images = 0), "argument", "images")
  expect_innsight_error(innsight_demo(images = 1.5), "argument", "images")
  expect_innsight_error(innsight_demo(model = "x"), "argument", "model")
  expect_innsight_error(innsight_demo(file = 1), "argument", "file")
  expect_innsight_error(innsight_demo(seed = -1), "argument", "seed")
  expect_innsight_error(innsight_demo_model("x"), "argument", "name")
  expect_innsight_error(innsight_demo_model(path = "a"), "argument", "path")
  expect_innsight_error(innsight_demo_model(dtype = "x"), "argument", "dtype")
  expect_innsight_error(fashion_mnist_examples(0), "argument", "`n`")
  expect_innsight_error(fashion_mnist_examples(1000), "argument", "`n`")
  expect_innsight_error(fashion_mnist_examples(channels_first = "a"), "argument", "channels_first")
})

test_that("options: innsight.threads, innsight.chunk_size and the other tuning options", {
  run <- function() run_grad(conv, x, verbose = FALSE)
  expect_innsight_error(withr::with_options(list(innsight.threads = 1.5), run()), "argument", "innsight.threads")
  expect_innsight_error(withr::with_options(list(innsight.threads = NA), run()), "argument", "innsight.threads")
  # above the integer range: was a core failure ("Must not be NA")
  expect_innsight_error(withr::with_options(list(innsight.threads = 1e10), run()), "argument", "innsight.threads")
  expect_innsight_error(withr::with_options(list(innsight.chunk_size = 0), run()), "argument", "innsight.chunk_size")
  expect_innsight_error(withr::with_options(list(innsight.chunk_size = "a"), run()), "argument", "innsight.chunk_size")
  expect_innsight_error(withr::with_options(list(innsight.chunk_size = c(1, 2)), run()), "argument", "innsight.chunk_size")
  expect_innsight_error(withr::with_options(list(innsight.memory_budget = "a"),
                                            explain_dataset(run_grad, conv, x, verbose = FALSE)),
                        "argument", "innsight.memory_budget")
  expect_innsight_error(withr::with_options(list(innsight.worker_threads = -1), innsight:::worker_threads(2)),
                        "argument", "innsight.worker_threads")
  expect_innsight_error(withr::with_options(list(innsight.worker_threads = 1e10), innsight:::worker_threads(2)),
                        "argument", "innsight.worker_threads")
  expect_innsight_error(withr::with_options(list(innsight.sketch_accuracy = 1),
                                            explain_dataset(run_grad, conv, x, verbose = FALSE)),
                        "argument", "innsight.sketch_accuracy")
  # was "non-numeric argument to binary operator" (text) or silently one row per chunk (negative)
  expect_innsight_error(withr::with_options(list(innsight.agnostic_chunk_bytes = "a"), run_shap(conv, x, verbose = FALSE)),
                        "argument", "innsight.agnostic_chunk_bytes")
  expect_innsight_error(withr::with_options(list(innsight.agnostic_chunk_bytes = -1), run_shap(conv, x, verbose = FALSE)),
                        "argument", "innsight.agnostic_chunk_bytes")
})

test_that("a chunk size above the integer range is one chunk, not an error", {
  # was "subscript out of bounds"
  want <- get_result(run_grad(conv, x, verbose = FALSE))
  got <- withr::with_options(list(innsight.chunk_size = 1e10), get_result(run_grad(conv, x, verbose = FALSE)))
  expect_identical(got, want)
})

test_that("plot objects: indices of [ and [[", {
  p <- plot(g)
  expect_innsight_error(p[5, 1], "argument", "`i`")
  expect_innsight_error(p[[5, 1]], "argument", "`i`")
  skip_if_not_installed("plotly")
  pp <- plot(g, as_plotly = TRUE)
  expect_innsight_error(pp[5, 1], "argument", "`i`")
})

test_that("the run_*() helpers and convert(): an unknown argument is a classed error naming it", {
  # was R's unclassed "unused argument (foo = 1)"; LIME and SHAP take the
  # original's `...` and warn about what they ignore (test-SHAP.R)
  calls <- list(
    quote(convert(mlp, foo = 1)), quote(run_grad(conv, x, foo = 1)), quote(run_smoothgrad(conv, x, foo = 1)),
    quote(run_intgrad(conv, x, foo = 1)), quote(run_expgrad(conv, x, foo = 1)), quote(run_lrp(conv, x, foo = 1)),
    quote(run_deeplift(conv, x, foo = 1)), quote(run_deepshap(conv, x, foo = 1)), quote(run_cw(conv, foo = 1)),
    quote(run_occlusion(c2, x2, foo = 1)), quote(run_gradcam(c2, x2, foo = 1))
  )
  for (cl in calls) eval(bquote(expect_innsight_error(.(cl), "argument", "`foo`")))
  e <- expect_innsight_error(run_lrp(conv, x, rule_nme = "epsilon"), "argument", "`rule_nme`")
  expect_match(conditionMessage(e), "Did you mean `rule_name`", fixed = TRUE)
  e <- expect_innsight_error(run_grad(conv, x, foo = 1, bar = 2), "argument", "`foo` and `bar`")
  expect_match(conditionMessage(e), "Gradient$new()", fixed = TRUE)
})

test_that("the run_*() helpers accept unique abbreviations, as R's argument matching does", {
  a <- run_lrp(conv, x, rule_n = "epsilon", verbose = FALSE)
  expect_identical(a$rule_name, "epsilon")
  expect_identical(get_result(run_grad(conv, x, times = TRUE, verbose = FALSE)),
                   get_result(run_grad(conv, x, times_input = TRUE, verbose = FALSE)))
})
