# `make demo`: the shipped Fashion-MNIST CNN explained by the seven method
# configurations of innsight's ImageNet article: predictions, the time of each
# method, and the comparison figure, written outside the source tree to
# $TMPDIR/innsight-demo.png (see ?innsight_demo).
suppressPackageStartupMessages(library(innsight))
options(innsight.threads = 2L)
png_file <- file.path(Sys.getenv("TMPDIR", "/tmp"), "innsight-demo.png")
invisible(innsight_demo(file = png_file))
