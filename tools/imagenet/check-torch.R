# Dev-only check: torchvision's VGG19 and ResNet50 state dicts (random weights,
# written by make_torch_fixtures.py full DIR) load through imagenet_model(), and
# our logits equal torch's within 1e-5 relative (float32 torch vs our float and
# double) and 1e-9 relative (float64 torch vs our double).
#
#   ~/.cache/peers-venv/bin/python tools/imagenet/make_torch_fixtures.py full /tmp/imagenet-full
#   Rscript tools/imagenet/check-torch.R /tmp/imagenet-full
#
# Needs about 6 GB of memory for VGG19 in double precision; takes a minute or two.
library(innsight)
dir <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(dir)) dir <- "/tmp/imagenet-full"
rel_err <- function(a, b) max(abs(a - b)) / max(abs(b))
fails <- 0
for (arch in c("resnet50", "vgg19")) {
  exp <- innsight:::io_read_safetensors(file.path(dir, paste0(arch, "_expected.safetensors")))$tensors
  for (dtype in c("float", "double")) {
    t0 <- Sys.time()
    conv <- imagenet_model(arch, weights = file.path(dir, paste0(arch, ".safetensors")), dtype = dtype)
    t1 <- Sys.time()
    logits <- predict(conv, exp$input, type = "preactivation")
    t2 <- Sys.time()
    e32 <- rel_err(logits, exp$logits_f32)
    e64 <- rel_err(logits, exp$logits_f64)
    ok <- e32 < 1e-5 && (dtype == "float" || e64 < 1e-9)
    if (!ok) fails <- fails + 1
    cat(sprintf("%-4s %-8s %-6s rel. error vs torch float32 %.2e, vs float64 %.2e  (load %.1f s, forward %.1f s)\n",
                if (ok) "ok" else "FAIL", arch, dtype, e32, e64,
                as.numeric(t1 - t0, units = "secs"), as.numeric(t2 - t1, units = "secs")))
    rm(conv)
    invisible(gc())
  }
}
cat(if (fails == 0) "all checks passed\n" else sprintf("%d check(s) failed\n", fails))
quit(status = fails > 0)
