# Scaling benchmark: explaining the Fashion-MNIST test set (10,000 images) with the
# demo CNN, in one process and on two future workers, keeping the full result or
# only its summary (explain_dataset()). Every case runs in a fresh R process, so
# its peak memory (VmHWM of the main process and of each worker) is its own.
#
#   Rscript bench/scaling.R                 all cases, writes bench/results-scaling.md
#   Rscript bench/scaling.R --case <json>   one case (used by the driver), prints JSON
#
# Environment: SCALING_N (comma-separated image counts, default 1000,10000),
# SCALING_METHODS (subset of grad,intgrad,lrp,shap), SCALING_KEEP (result or
# summary: only those cases), SCALING_OUT (the report's path), FMNIST_DIR (default
# /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).

args <- commandArgs(trailingOnly = TRUE)
fmnist_dir <- Sys.getenv("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")

read_idx <- function(path) {
  con <- gzfile(path, "rb")
  on.exit(close(con))
  nd <- readBin(con, "integer", 1, size = 4, endian = "big") %% 256
  dims <- readBin(con, "integer", nd, size = 4, endian = "big")
  x <- readBin(con, "integer", prod(dims), size = 1, signed = FALSE)
  aperm(array(x, rev(dims)), rev(seq_along(dims))) # IDX is row-major
}

status_kb <- function(field) {
  s <- readLines("/proc/self/status")
  as.numeric(sub("[^0-9]*([0-9]+).*", "\\1", grep(paste0("^", field), s, value = TRUE)))
}
peak_kb <- function() status_kb("VmHWM")
rss_kb <- function() status_kb("VmRSS")

run_case <- function(case) {
  suppressPackageStartupMessages(library(innsight))
  imgs <- read_idx(file.path(fmnist_dir, "t10k-images-idx3-ubyte.gz"))[seq_len(case$n), , , drop = FALSE]
  x <- array(imgs / 255, c(case$n, 1, 28, 28))
  rm(imgs)
  conv <- innsight_demo_model("fmnist_cnn")
  if (!is.null(case$chunk)) options(innsight.chunk_size = case$chunk)
  cl <- NULL
  if (case$workers > 1) {
    cl <- parallelly::makeClusterPSOCK(case$workers, verbose = FALSE)
    future::plan(future::cluster, workers = cl)
    options(innsight.worker_threads = case$threads)
  } else {
    options(innsight.threads = case$threads)
  }
  fun <- switch(case$method,
    grad = function(...) run_grad(conv, x, ...),
    intgrad = function(...) run_intgrad(conv, x, n = 50, ...),
    lrp = function(...) run_lrp(conv, x, rule_name = "epsilon", ...),
    shap = function(...) run_shap(conv, x, data_ref = x[1:2, , , , drop = FALSE], patch_size = c(7, 7),
                                  n_coalitions = 100, ...)
  )
  set.seed(1)
  # resident size with the data and model loaded: what the run adds is peak - base
  base_kb <- rss_kb()
  t0 <- proc.time()[["elapsed"]]
  m <- explain_dataset(fun, keep = case$keep)
  wall <- proc.time()[["elapsed"]] - t0
  checksum <- if (case$keep == "summary") sum(summary(m)$mean_abs) else mean(abs(m$get_result()))
  workers_kb <- if (is.null(cl)) numeric(0) else unlist(parallel::clusterCall(cl, peak_kb))
  if (!is.null(cl)) parallel::stopCluster(cl)
  c(case, list(wall = wall, base_mb = base_kb / 1024, main_mb = peak_kb() / 1024, worker_mb = I(workers_kb / 1024), checksum = checksum))
}

# Timing: one process (2 threads) vs 2 workers x 1 thread, full result kept.
# Memory: the summary path at 1,000 and 10,000 images (one process). IG (n = 50)
# and SHAP run on the first 1,000 images by default: on the 2-core machines we
# measure on, 10,000 images take about 20 and 8 minutes for them
# (SCALING_FULL=1 runs every method on every size).
cases <- function() {
  ns <- as.integer(strsplit(Sys.getenv("SCALING_N", "1000,10000"), ",")[[1]])
  methods <- strsplit(Sys.getenv("SCALING_METHODS", "grad,lrp,intgrad,shap"), ",")[[1]]
  full <- Sys.getenv("SCALING_FULL", "0") == "1"
  out <- list()
  add <- function(...) out[[length(out) + 1]] <<- list(...)
  for (method in methods) {
    sizes <- if (full || method %in% c("grad", "lrp")) ns else min(ns)
    big <- max(sizes)
    add(method = method, n = big, keep = "result", workers = 1L, threads = 2L)
    add(method = method, n = big, keep = "result", workers = 2L, threads = 1L)
    # the same chunk size at every data size: with the default memory budget the
    # smaller set would be one chunk and the larger budget-sized chunks
    if (length(sizes) > 1) for (n in sizes) add(method = method, n = n, keep = "summary", workers = 1L, threads = 2L, chunk = 250L)
  }
  keep <- Sys.getenv("SCALING_KEEP", "")
  if (nzchar(keep)) out <- Filter(function(case) case$keep == keep, out)
  out
}

cpu_model <- function() {
  l <- grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1]
  trimws(sub("^[^:]*:", "", l))
}

if (length(args) >= 2 && args[1] == "--case") {
  res <- run_case(jsonlite::fromJSON(args[2]))
  cat(jsonlite::toJSON(res, auto_unbox = TRUE, digits = NA), "\n")
  quit(save = "no")
}

if (!file.exists(file.path(fmnist_dir, "t10k-images-idx3-ubyte.gz"))) {
  stop("Fashion-MNIST not found in ", fmnist_dir, ": install Debian's dataset-fashion-mnist (or set FMNIST_DIR).")
}
rows <- list()
for (case in cases()) {
  out <- system2("Rscript", c("bench/scaling.R", "--case", shQuote(jsonlite::toJSON(case, auto_unbox = TRUE))),
                 stdout = TRUE, stderr = FALSE)
  line <- grep("^\\{", out, value = TRUE)
  if (length(line) == 0) stop("case failed: ", jsonlite::toJSON(case, auto_unbox = TRUE), "\n", paste(out, collapse = "\n"))
  r <- jsonlite::fromJSON(line[length(line)])
  r$worker_mb <- as.numeric(unlist(r$worker_mb))
  cat(sprintf("%-8s n=%-6d %-8s %d x %d thr  %7.1f s  base %5.0f MB  main %6.0f MB  workers %s MB\n", r$method, r$n, r$keep,
              r$workers, r$threads, r$wall, r$base_mb, r$main_mb, paste(round(r$worker_mb), collapse = "/")))
  rows[[length(rows) + 1]] <- r
}

fmt_row <- function(r) {
  sprintf("| %s | %d | %s%s | %s | %.1f | %.0f | %.0f | %s |", r$method, r$n, r$keep,
          if (is.null(r$chunk)) "" else sprintf(" (chunks of %d)", r$chunk),
          if (r$workers == 1) sprintf("sequential, %d threads", r$threads) else sprintf("%d workers x %d thread", r$workers, r$threads),
          r$wall, r$base_mb, r$main_mb, if (length(r$worker_mb)) paste(round(r$worker_mb), collapse = " / ") else "-")
}
lscpu_flags <- readLines("/proc/cpuinfo")
isa <- if (any(grepl("avx512f", lscpu_flags))) "AVX-512" else if (any(grepl("avx2", lscpu_flags))) "AVX2" else "baseline"
md <- c(
  "# Scaling: the Fashion-MNIST test set on one process and on two future workers",
  "",
  sprintf("Measured %s on %s (%s), %d cores, R %s; `Rscript bench/scaling.R`.", format(Sys.Date()), cpu_model(), isa,
          parallel::detectCores(), getRversion()),
  "Demo CNN (`innsight_demo_model(\"fmnist_cnn\")`), default dtype float, explaining output 1. Gradient; IntegratedGradient n = 50;",
  "LRP epsilon; KernelSHAP with 7 x 7 patches (16 groups), 100 coalitions, 2 reference images.",
  "`result` keeps every attribution (`explain_dataset(keep = \"result\")`), `summary` only the merged summary.",
  "Every case runs in a fresh R process; memory is the peak resident size (VmHWM) of the main process and of each worker;",
  "`base` is the main process's resident size just before the run, with the images (8 bytes per pixel) and the model loaded.",
  "",
  "| method | images | kept | processes | wall s | main base MB | main peak MB | worker peaks MB |",
  "|---|---|---|---|---|---|---|---|",
  vapply(rows, fmt_row, "")
)
out <- Sys.getenv("SCALING_OUT", "bench/results-scaling.md")
writeLines(md, out)
cat("wrote", out, "\n")
