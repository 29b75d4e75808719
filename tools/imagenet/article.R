# The ImageNet article (VGG19 and ResNet50, four photos, seven method
# configurations, one figure per model), with its keras calls replaced by
# innsight's own helpers so that it runs without Python:
#
#   keras                                  innsight
#   image_load() + image_to_array()        load_images()
#   imagenet_preprocess_input()            imagenet_preprocess()
#   imagenet_decode_predictions()          decode_predictions(), imagenet_labels()
#   application_vgg19/resnet50()           imagenet_model()
#   torch::torch_randn()                   stats::rnorm()
#
# Usage (`make imagenet` runs it with the seed's photos):
#   Rscript tools/imagenet/article.R [IMAGE_DIR] [OUT_DIR]
# (or the environment variables IMAGES and OUT_DIR, as the article vignette does).
# Environment: INNSIGHT_VGG19_WEIGHTS / INNSIGHT_RESNET50_WEIGHTS, paths of weight
# files for imagenet_model(weights = ); without them the models get random weights
# (seed 42), and the heatmaps show the architecture, not ImageNet knowledge.
# IMAGENET_MODELS=vgg19,resnet50 chooses the models.

args <- commandArgs(trailingOnly = TRUE)
img_dir <- if (length(args) >= 1) args[[1]] else Sys.getenv("IMAGES", "../shared/seed/images")
out_dir <- if (length(args) >= 2) args[[2]] else Sys.getenv("OUT_DIR", "imagenet-out")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
models <- strsplit(Sys.getenv("IMAGENET_MODELS", "vgg19,resnet50"), ",")[[1]]

library(innsight)
library(data.table)
library(ggplot2)
t_start <- proc.time()[["elapsed"]]

# Preprocess images -----------------------------------------------------------
img_files <- file.path(img_dir, c("image_1.png", "image_2.png", "image_3.png", "image_4.png"))
stopifnot(all(file.exists(img_files)))
raw_images <- load_images(img_files, target_size = c(224, 224)) # 4 x 224 x 224 x 3, 0..255
cat("images:", paste(dim(raw_images), collapse = " x "), "\n")

# Method configuration (the article's, unchanged) ------------------------------
imagenet_labels_vec <- imagenet_labels()
config <- list(
  list(method = Gradient$new, method_name = "Gradient", method_args = list()),
  list(method = SmoothGrad$new, method_name = "SmoothGrad", method_args = list(n = 10)),
  list(method = Gradient$new, method_name = "Gradient x Input", method_args = list(times_input = TRUE)),
  list(
    method = LRP$new, method_name = "LRP (alpha_beta)",
    method_args = list(
      rule_name = list(BatchNorm_Layer = "pass", Conv2D_Layer = "alpha_beta",
                       MaxPool2D_Layer = "alpha_beta", Dense_Layer = "alpha_beta",
                       AvgPool2D_Layer = "alpha_beta"),
      rule_param = 1)),
  list(
    method = LRP$new, method_name = "LRP (composite)",
    method_args = list(
      rule_name = list(BatchNorm_Layer = "pass", Conv2D_Layer = "alpha_beta",
                       MaxPool2D_Layer = "epsilon", AvgPool2D_Layer = "alpha_beta"),
      rule_param = list(Conv2D_Layer = 0.5, AvgPool2D_Layer = 0.5, MaxPool2D_Layer = 0.001))),
  list(method = DeepLift$new, method_name = "DeepLift (rescale zeros)", method_args = list()),
  list(method = DeepLift$new, method_name = "DeepLift (reveal-cancel mean)",
       method_args = list(rule_name = "reveal_cancel", x_ref = "mean"))
)

# Utility functions (the article's; torch_randn replaced by rnorm) -------------
get_method_args <- function(conf, converter, data, output_idx) {
  args <- conf$method_args
  args$converter <- converter
  args$data <- data
  args$output_idx <- output_idx
  args$channels_first <- FALSE
  args$verbose <- FALSE
  # for DeepLift use the channel mean
  if (!is.null(args$x_ref)) {
    mean <- array(apply(as.array(args$data), c(1, 4), mean), dim = c(1, 1, 1, 3))
    sd <- array(apply(as.array(args$data), c(1, 4), sd), dim = c(1, 1, 1, 3))
    # R does not broadcast: spread the channel statistics over the pixels
    per_pixel <- function(v) array(rep(v, each = 224 * 224), c(1, 224, 224, 3))
    args$x_ref <- array(stats::rnorm(224 * 224 * 3), c(1, 224, 224, 3)) * per_pixel(sd) + per_pixel(mean)
  }
  args
}

apply_innsight <- function(method_conf, pred_df, FUN) {
  lapply(seq_len(nrow(pred_df)), function(i) do.call(rbind, args = lapply(method_conf, FUN, i = i)))
}

add_original_images <- function(img_files, gg_plot, num_methods) {
  img_pngs <- lapply(seq_along(img_files), function(i) raw_images[i, , , ] / 255)
  gl <- lapply(img_pngs, grid::rasterGrob)
  gl <- append(gl, list(gg_plot))
  num_images <- length(img_files)
  layout_matrix <- matrix(c(seq_len(num_images), rep(num_images + 1, num_images * num_methods)),
                          nrow = num_images)
  list(grobs = gl, layout_matrix = layout_matrix)
}

run_model <- function(arch) {
  t0 <- proc.time()[["elapsed"]]
  weights <- Sys.getenv(paste0("INNSIGHT_", toupper(arch), "_WEIGHTS"), "")
  if (nzchar(weights)) {
    converter <- imagenet_model(arch, weights = weights)
    # torchvision's weights expect torch's preprocessing, Keras's (.h5/.keras) caffe's
    mode <- if (grepl("\\.(h5|keras)$", weights)) "caffe" else "torch"
  } else {
    converter <- suppressMessages(imagenet_model(arch, seed = 42))
    mode <- "caffe"
  }
  images <- imagenet_preprocess(raw_images, mode = mode)
  cat(sprintf("\n== %s (%s weights, %s preprocessing), built in %.1f s\n", arch,
              if (nzchar(weights)) "file" else "random", mode, proc.time()[["elapsed"]] - t0))

  # get predictions (the converter's model ends in a softmax, like Keras's)
  pred <- predict(converter, images, channels_first = FALSE)
  pred_df <- decode_predictions(pred, top = 1)
  pred_df <- do.call(rbind, args = lapply(pred_df, function(x) x[1, ]))
  pred_df <- cbind(pred_df, index = apply(pred, 1, which.max))
  print(pred_df)

  FUN <- function(conf, i) {
    args <- get_method_args(conf, converter, images[i, , , , drop = FALSE], pred_df$index[i])
    t <- proc.time()[["elapsed"]]
    method <- do.call(conf$method, args = args)
    heatmaps[[conf$method_name]][[i]] <<- get_result(method)[1, , , , 1]
    result <- get_result(method, "data.frame")
    cat(sprintf("  image %d  %-30s %6.2f s\n", i, conf$method_name, proc.time()[["elapsed"]] - t))
    result$data <- paste0("data_", i)
    result$method <- conf$method_name
    result
  }
  heatmaps <- list()
  result <- data.table(do.call(rbind, apply_innsight(config, pred_df, FUN)))

  # the article's figure ---------------------------------------------------------
  result <- result[, .(value = mean(value)), by = c("data", "feature", "feature_2", "output_node", "method")]
  result <- result[, .(value = value / max(abs(value)), feature = feature, feature_2 = feature_2),
                   by = c("data", "output_node", "method")]
  result$method <- factor(result$method, levels = unique(result$method))
  # (the article's labels, numbered: random weights often predict one class for
  # several photos, and factor() would merge rows with equal labels)
  labels <- paste0(seq_len(nrow(pred_df)), ": ", pred_df$class_description, " (",
                   round(pred_df$score * 100, 2), "%)")
  result$data <- factor(result$data, levels = unique(result$data), labels = labels)
  p <- ggplot(result) +
    geom_raster(aes(x = as.numeric(feature_2), y = as.numeric(feature), fill = value)) +
    scale_fill_gradient2(guide = "none", mid = "white", low = "blue", high = "red") +
    facet_grid(rows = vars(data), cols = vars(method),
               labeller = labeller(data = label_wrap_gen(), method = label_wrap_gen())) +
    scale_y_reverse(expand = c(0, 0), breaks = NULL) +
    scale_x_continuous(expand = c(0, 0), breaks = NULL) +
    labs(x = NULL, y = NULL)
  res <- add_original_images(img_files, p, length(unique(result$method)))
  file <- file.path(out_dir, paste0("figure_", arch, ".png"))
  grDevices::png(file, width = 16, height = 9, units = "in", res = 100)
  gridExtra::grid.arrange(grobs = res$grobs, layout_matrix = res$layout_matrix)
  grDevices::dev.off()
  cat(sprintf("figure: %s (%s done in %.1f s)\n", file, arch, proc.time()[["elapsed"]] - t0))

  # the same figure in one call: plot_comparison() on the (image, H, W, C) results
  t1 <- proc.time()[["elapsed"]]
  arrays <- lapply(heatmaps, function(per_image) aperm(simplify2array(per_image), c(4, 1, 2, 3)))
  file2 <- file.path(out_dir, paste0("comparison_", arch, ".png"))
  plot_comparison(arrays, images = img_files, row_labels = labels, file = file2)
  cat(sprintf("figure: %s (plot_comparison, %.1f s)\n", file2, proc.time()[["elapsed"]] - t1))
  invisible(file)
}

for (arch in models) {
  run_model(arch)
  gc()
}
cat(sprintf("\narticle done in %.1f s\n", proc.time()[["elapsed"]] - t_start))
