# Our side of the benchmark: innsight on VGG16, VGG19 and ResNet50 (imagenet_model(),
# random weights, fixed seed), 3 x 224 x 224 inputs, BENCH_THREADS threads (default 2).
#
# Usage (from the repository root, with the package installed in R_LIBS):
#   Rscript bench/bench.R --worker MODEL     # driven by bench/drive.py, see below
#   Rscript bench/bench.R --model resnet50 --batches 1,4 --reps 3 [--methods a,b]
#
# Worker protocol (one line each way; answers are prefixed JSON):
#   -> READY {"model": ..., "macs": ..., "rss_mb": ..., "hwm_mb": ..., "build_s": ...}
#   <- run BATCH METHOD REPS       -> RESULT {"median_s": ..., "times": [...], "peak_mb": ...}
#   <- gemm [REPS]                 -> RESULT {"gflops": ..., "median_s": ...}
#   <- quit
# Each case: garbage collection, free arena memory back to the system (malloc_trim,
# as the Python side), the peak resident memory is reset
# (/proc/self/clear_refs), one untimed warm-up call (unless BENCH_WARMUP=0), then up
# to REPS timed calls (fewer when the warm-up shows that REPS calls would exceed
# BENCH_CASE_BUDGET seconds, at least one), each after an untimed gc(); the median
# is reported. A case whose warm-up call alone takes longer than the budget is
# reported from that call (its first-call costs are small against its run time). Every method explains output 1 (the logits: ignore_last_act = TRUE).
# The peer calls that match each method are listed in bench/peers.py.

suppressPackageStartupMessages(library(innsight))

threads <- as.integer(Sys.getenv("BENCH_THREADS", "2"))
options(innsight.threads = threads)
case_budget <- as.numeric(Sys.getenv("BENCH_CASE_BUDGET", "4"))
warmup <- Sys.getenv("BENCH_WARMUP", "1") != "0"

methods_all <- c("forward", "gradient", "grad_x_input", "smoothgrad", "intgrad", "deeplift",
                 "lrp_epsilon", "lrp_alpha_beta", "lrp_composite", "deepshap")

# The seed article's LRP composite (tests/testthat/helper-architectures.R).
article_composite <- list(
  rule_name = list(BatchNorm_Layer = "pass", Conv2D_Layer = "alpha_beta", MaxPool2D_Layer = "epsilon",
                   AvgPool2D_Layer = "alpha_beta"),
  rule_param = list(Conv2D_Layer = 0.5, AvgPool2D_Layer = 0.5, MaxPool2D_Layer = 0.001)
)

status_mb <- function(field) {
  s <- readLines("/proc/self/status")
  line <- grep(paste0("^", field, ":"), s, value = TRUE)
  if (length(line) == 0) return(NA_real_)
  as.numeric(strsplit(trimws(sub(".*:", "", line)), " +")[[1]][1]) / 1024
}

reset_peak <- function() {
  try(suppressWarnings(writeLines("5", "/proc/self/clear_refs")), silent = TRUE)
}

build_model <- function(arch) {
  t0 <- proc.time()[["elapsed"]]
  conv <- suppressMessages(imagenet_model(arch, seed = 42))
  build_s <- proc.time()[["elapsed"]] - t0
  out_dims <- lapply(conv$model$layers(), `[[`, "dim_out")
  macs <- innsight:::imagenet_forward_macs(innsight:::imagenet_list(arch, init = "none"), out_dims)
  list(conv = conv, macs = macs, build_s = build_s)
}

# A function that runs one method once on a batch of `batch` images.
make_case <- function(conv, method, batch, seed = 1) {
  set.seed(seed)
  x <- array(rnorm(batch * 3 * 224 * 224), c(batch, 3, 224, 224))
  refs <- array(rnorm(4 * 3 * 224 * 224), c(4, 3, 224, 224))
  common <- list(converter = conv, data = x, output_idx = 1, verbose = FALSE)
  call_with <- function(cls, ...) function() do.call(cls$new, c(common, list(...)))
  switch(method,
    forward = function() predict(conv, x),
    gradient = call_with(Gradient),
    grad_x_input = call_with(Gradient, times_input = TRUE),
    smoothgrad = call_with(SmoothGrad, n = 10, noise_level = 0.1),
    intgrad = call_with(IntegratedGradient, n = 50),
    deeplift = call_with(DeepLift),
    lrp_epsilon = call_with(LRP, rule_name = "epsilon", rule_param = 0.001),
    lrp_alpha_beta = call_with(LRP, rule_name = "alpha_beta", rule_param = 1),
    lrp_composite = call_with(LRP, rule_name = article_composite$rule_name,
                              rule_param = article_composite$rule_param),
    deepshap = call_with(DeepSHAP, data_ref = refs),
    stop("unknown method ", method)
  )
}

elapsed <- function(f) {
  t0 <- proc.time()[["elapsed"]]
  out <- f()
  t <- proc.time()[["elapsed"]] - t0
  rm(out)
  t
}

time_case <- function(conv, method, batch, reps) {
  f <- make_case(conv, method, batch)
  invisible(gc())
  # what earlier cases left in the malloc arenas goes back to the system first, as
  # the Python side does with malloc_trim() (bench/peers.py)
  innsight:::release_free_memory()
  reset_peak()
  warm <- NA_real_
  if (warmup) {
    warm <- elapsed(f)
    # a case slower than the budget is reported from its warm-up call alone
    reps <- if (warm >= case_budget) 0L else max(1L, min(reps, floor(case_budget / max(warm, 1e-9))))
  }
  times <- numeric(reps)
  for (r in seq_len(reps)) {
    invisible(gc())
    times[r] <- elapsed(f)
  }
  if (reps == 0) times <- warm
  list(median_s = stats::median(times), times = times, warmup_s = warm, warmup_only = reps == 0,
       peak_mb = status_mb("VmHWM"))
}

# Our GEMM: a 4096 -> 4096 dense layer (linear) on a batch of 4096 rows through
# predict(), i.e. one 4096^3 product plus the R <-> Rust copies of input and output.
gemm <- function(n = 4096L, reps = 3L) {
  set.seed(3)
  w <- stats::rnorm(n * n)
  dim(w) <- c(n, n)
  model <- list(input_dim = n, input_nodes = 1, output_nodes = 1, layers = list(
    list(type = "Dense", weight = w, bias = numeric(n), activation_name = "linear",
         input_layers = 0, output_layers = -1)))
  conv <- convert(model)
  x <- matrix(stats::rnorm(n * n), n, n)
  predict(conv, x)
  times <- vapply(seq_len(reps), function(i) elapsed(function() predict(conv, x)), numeric(1))
  med <- stats::median(times)
  list(median_s = med, gflops = 2 * n^3 / med / 1e9, n = n)
}

# e.g. "gemm avx2, own kernels avx2 (CPU avx2)"
isa_note <- function() {
  k <- tryCatch(innsight:::kernel_isa(), error = function(e) NULL)
  if (is.null(k)) return("?")
  sprintf("gemm %s, own kernels %s (CPU %s)", k[["gemm"]], k[["kernels"]], k[["cpu"]])
}

versions <- function() {
  list(R = paste(R.version$major, R.version$minor, sep = "."),
       innsight = as.character(utils::packageVersion("innsight")), threads = threads, isa = isa_note())
}

json <- function(x) jsonlite::toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null")

worker <- function(arch) {
  t0 <- proc.time()[["elapsed"]]
  info <- c(list(model = arch), versions())
  m <- NULL
  if (arch != "none") {
    m <- build_model(arch)
    info$macs <- m$macs
  }
  info$build_s <- proc.time()[["elapsed"]] - t0
  # the list model the weights came from is garbage by now (Python frees at once)
  invisible(gc())
  innsight:::release_free_memory()
  info$rss_mb <- status_mb("VmRSS")
  info$hwm_mb <- status_mb("VmHWM")
  cat("READY ", json(info), "\n", sep = "")
  flush(stdout())
  con <- file("stdin", "r")
  on.exit(close(con))
  repeat {
    line <- readLines(con, n = 1)
    if (length(line) == 0) break
    parts <- strsplit(trimws(line), " +")[[1]]
    if (length(parts) == 0 || parts[1] == "") next
    if (parts[1] == "quit") break
    res <- tryCatch(
      switch(parts[1],
        gemm = gemm(reps = if (length(parts) > 1) as.integer(parts[2]) else 3L),
        run = time_case(m$conv, parts[3], as.integer(parts[2]), as.integer(parts[4])),
        list(error = paste("unknown command", parts[1]))
      ),
      error = function(e) list(error = conditionMessage(e))
    )
    cat("RESULT ", json(res), "\n", sep = "")
    flush(stdout())
  }
}

main <- function(args) {
  opt <- list(model = "resnet50", batches = "1", methods = paste(methods_all, collapse = ","), reps = "3")
  i <- 1
  while (i <= length(args)) {
    key <- sub("^--", "", args[i])
    if (key == "worker") return(worker(args[i + 1]))
    opt[[key]] <- args[i + 1]
    i <- i + 2
  }
  m <- build_model(opt$model)
  cat(sprintf("%s: %.2f GMAC per image, built in %.1f s; R %s, innsight %s, %d threads\n", opt$model,
              m$macs / 1e9, m$build_s, versions()$R, versions()$innsight, threads))
  for (batch in as.integer(strsplit(opt$batches, ",")[[1]])) {
    for (method in strsplit(opt$methods, ",")[[1]]) {
      r <- time_case(m$conv, method, batch, as.integer(opt$reps))
      cat(sprintf("%-9s batch %d  %-15s %8.3f s  peak %7.0f MB\n", opt$model, batch, method, r$median_s, r$peak_mb))
    }
  }
}

if (!interactive()) main(commandArgs(trailingOnly = TRUE))
