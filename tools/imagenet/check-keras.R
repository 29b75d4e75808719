# Dev-only check: keras.applications' VGG16, VGG19 and ResNet50 weight files (the
# legacy .h5 layout that keras.applications downloads; here with random weights,
# written by make_keras_fixtures.py full DIR) load through imagenet_model(), and
# our logits and probabilities equal Keras' within 1e-5 relative.
#
#   ~/.cache/keras-venv/bin/python tools/imagenet/make_keras_fixtures.py full /tmp/imagenet-keras
#   Rscript tools/imagenet/check-keras.R /tmp/imagenet-keras
#
# Needs the R package hdf5r and about 4 GB of memory.
library(innsight)
dir <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(dir)) dir <- "/tmp/imagenet-keras"
rel_err <- function(a, b) max(abs(a - b)) / max(abs(b))
read_expected <- function(path, arch) {
  f <- hdf5r::H5File$new(path, mode = "r")
  on.exit(f$close_all())
  rd <- function(p) {
    a <- f[[paste0(arch, "/", p)]]$read()
    aperm(a, rev(seq_along(dim(a))))
  }
  list(input = rd("input"), logits = rd("logits"), probs = rd("probs"))
}
fails <- 0
for (arch in c("resnet50", "vgg16", "vgg19")) {
  exp <- read_expected(file.path(dir, paste0(arch, "_keras_expected.h5")), arch)
  t0 <- Sys.time()
  conv <- imagenet_model(arch, weights = file.path(dir, paste0(arch, "_keras.h5")))
  t1 <- Sys.time()
  logits <- predict(conv, exp$input, channels_first = FALSE, type = "preactivation")
  probs <- predict(conv, exp$input, channels_first = FALSE)
  e1 <- rel_err(logits, exp$logits)
  e2 <- rel_err(unname(probs), exp$probs)
  ok <- e1 < 1e-5 && e2 < 1e-5
  if (!ok) fails <- fails + 1
  cat(sprintf("%-4s %-8s rel. error of logits %.2e, of probabilities %.2e (load %.1f s)\n",
              if (ok) "ok" else "FAIL", arch, e1, e2, as.numeric(t1 - t0, units = "secs")))
  rm(conv)
  invisible(gc())
}
cat(if (fails == 0) "all checks passed\n" else sprintf("%d check(s) failed\n", fails))
quit(status = fails > 0)
