# Model-agnostic and perturbation methods on a 224 x 224 x 3 image (issue 13):
# LIME and KernelSHAP over 14 x 14 patches of 16 x 16 pixels, Occlusion with 16 x 16
# windows and Grad-CAM, on two random CNNs for 224 x 224 x 3 images (the
# Fashion-MNIST demo CNN has 28 x 28 inputs): a demo-sized one (a strided stem, about
# 3 MFLOP per image) and a wider one (about 90 MFLOP per image). The methods' cost is
# their number of forward passes times the model's: the forward row gives the scale. LIME and
# SHAP run both with the Converter's built-in predictions (the loop stays in Rust)
# and through an R `pred_fun` (one R call per chunk of rows), to show what the round
# trip costs. Run: Rscript bench/agnostic.R (writes bench/results-agnostic.md).

suppressPackageStartupMessages(library(innsight))
options(innsight.threads = 2)
set.seed(1)
rn <- function(...) array(rnorm(prod(c(...)), sd = 0.1), c(...))
model <- list(input_dim = c(3, 224, 224), input_nodes = 1, output_nodes = 7, layers = list(
  list(type = "Conv2D", weight = rn(16, 3, 5, 5), bias = rn(16), strides = c(2, 2), padding = c(2, 2),
       activation_name = "relu", input_layers = 0, output_layers = 2),
  list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 1, output_layers = 3),
  list(type = "Conv2D", weight = rn(32, 16, 3, 3), bias = rn(32), padding = c(1, 1),
       activation_name = "relu", input_layers = 2, output_layers = 4),
  list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 3, output_layers = 5),
  list(type = "Conv2D", weight = rn(64, 32, 3, 3), bias = rn(64), padding = c(1, 1),
       activation_name = "relu", input_layers = 4, output_layers = 6),
  list(type = "GlobalPooling", method = "average", input_layers = 5, output_layers = 7),
  list(type = "Dense", weight = rn(10, 64), bias = rn(10), activation_name = "softmax",
       input_layers = 6, output_layers = -1)))
small <- list(input_dim = c(3, 224, 224), input_nodes = 1, output_nodes = 5, layers = list(
  list(type = "Conv2D", weight = rn(8, 3, 4, 4), bias = rn(8), strides = c(4, 4),
       activation_name = "relu", input_layers = 0, output_layers = 2),
  list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 1, output_layers = 3),
  list(type = "Conv2D", weight = rn(16, 8, 3, 3), bias = rn(16), padding = c(1, 1),
       activation_name = "relu", input_layers = 2, output_layers = 4),
  list(type = "GlobalPooling", method = "average", input_layers = 3, output_layers = 5),
  list(type = "Dense", weight = rn(10, 16), bias = rn(10), activation_name = "softmax",
       input_layers = 4, output_layers = -1)))
nets <- list(`demo-sized CNN` = convert(small), `wider CNN` = convert(model))
x <- array(runif(224 * 224 * 3), c(1, 3, 224, 224))
baseline <- x * 0
time <- function(expr) {
  gc()
  t <- system.time(expr)[["elapsed"]]
  sprintf("%.2f", t)
}
cases <- function(conv) {
  forward <- time(for (i in 1:5) predict(conv, array(runif(64 * 3 * 224 * 224), c(64, 3, 224, 224))))
  pf <- function(newdata) predict(conv, newdata)
  list(
    c("forward, 320 images (5 batches of 64)", "", forward),
    c("LIME, 1000 samples", "built-in", time(run_lime(conv, x, baseline, patch_size = 16, verbose = FALSE))),
    c("LIME, 1000 samples", "R pred_fun", time(run_lime(conv, x, baseline, patch_size = 16, pred_fun = pf, verbose = FALSE))),
    c("KernelSHAP, 2440 coalitions", "built-in", time(run_shap(conv, x, baseline, patch_size = 16, verbose = FALSE))),
    c("KernelSHAP, 2440 coalitions", "R pred_fun", time(run_shap(conv, x, baseline, patch_size = 16, pred_fun = pf, verbose = FALSE))),
    c("permutation SHAP, 10 permutations (1950 rows)", "built-in", time(run_shap(conv, x, baseline, patch_size = 16, method = "permutation", verbose = FALSE))),
    c("Occlusion, 16 x 16 windows (196)", "", time(run_occlusion(conv, x, window = c(16, 16), verbose = FALSE))),
    c("Occlusion, 16 x 16 windows, stride 8 (729)", "", time(run_occlusion(conv, x, window = c(16, 16), strides = c(8, 8), verbose = FALSE))),
    c("Grad-CAM, last conv layer, 10 outputs", "", time(run_gradcam(conv, x, verbose = FALSE)))
  )
}
rows <- list()
for (nm in names(nets)) rows <- c(rows, lapply(cases(nets[[nm]]), function(r) c(nm, r)))
cpu <- sub("^Model name:\\s*", "", grep("^Model name", system("lscpu", intern = TRUE), value = TRUE))
flags <- system("grep -m1 -o 'avx512f' /proc/cpuinfo", intern = TRUE, ignore.stderr = TRUE)
out <- c(
  "# Model-agnostic and perturbation methods (bench/agnostic.R)",
  "",
  sprintf("CPU: %s (%s), 2 threads, float; one 3 x 224 x 224 image, 196 patches; %s.",
          cpu, if (length(flags)) "AVX-512" else "AVX2, no AVX-512", format(Sys.Date())),
  "",
  "| model | case | predictions | seconds |",
  "|---|---|---|---|",
  vapply(rows, function(r) sprintf("| %s | %s | %s | %s |", r[1], r[2], r[3], r[4]), "")
)
writeLines(out, "bench/results-agnostic.md")
writeLines(out)
