#' Explain a whole data set, chunk by chunk, without keeping every attribution
#'
#' Runs an interpretation method over data of any length in chunks of rows and,
#' by default, keeps only a summary of the attributions: per input feature (and
#' channel) and explained output, the count, mean, mean absolute value,
#' standard deviation, minimum, maximum and quantiles. The summary is built per
#' chunk and merged, so memory stays flat as the data set grows.
#' [plot_global()], [boxplot()][boxplot.InterpretingMethod] and `summary()` work
#' on the result; `get_result()` and `plot()` need the individual attributions
#' and are available with `keep = "result"` (or read the chunk files of `dir`).
#'
#' @section Chunks and workers:
#' Every method splits its data into chunks of rows when a `future` plan other
#' than sequential is set (see [future::plan()]), when
#' `options(innsight.chunk_size = <rows>)` is set, or when run through
#' `explain_dataset()`. Without a chunk size the rows per chunk follow from
#' `options(innsight.memory_budget = <bytes>)` (default 1 GiB per process), and
#' every worker gets at least one chunk. With a plan, the chunks are put in
#' contiguous groups, one future per worker: the model's weights travel once
#' per worker, each worker runs the Rust core with its share of the machine's
#' threads (`options(innsight.worker_threads = )` overrides it) and the results
#' come back in row order. Random methods (SmoothGrad, ExpectedGradient,
#' DeepSHAP, SHAP, LIME) draw everything random in the main R session from
#' R's generator, and SmoothGrad derives each instance's noise from the global
#' row index, so the numbers are the same for every plan, number of workers and
#' chunk size. Progress is shown with \pkg{progressr} across workers (set its
#' handlers, e.g. `progressr::handlers(global = TRUE)`) and with the cli
#' progress bar in one process. A chunk that fails stops the run with an error
#' of class `innsight_error_chunk` naming the chunk; no partial result is
#' returned.
#'
#' @section Summary accuracy:
#' With `keep = "summary"`, counts, means, mean absolute values, standard
#' deviations, minima and maxima are exact (up to floating-point rounding); the
#' quantiles come from a mergeable log-bucket sketch and are within a relative
#' error of `getOption("innsight.sketch_accuracy", 0.005)` of exact values
#' taken from the data (a quantile whose rank falls between two values may be
#' either of them). To keep the sketch's size bounded however many instances
#' it sees, the relative accuracy holds for values within six decades of a
#' cell's largest absolute value; smaller values are counted together, and a
#' quantile among them is off by less than \eqn{10^{-6}} times that largest
#' absolute value. The summary of inputs with several channels (images,
#' signals) also holds the per-instance channel sums of the values and of
#' their absolute values, which is what [plot_global()] draws by default
#' (`aggr_channels = "sum"`, `preprocess_FUN = abs`).
#'
#' @section Chunk files:
#' With `dir`, every chunk's result is written to `dir` as one `.rds` file
#' (`chunk-<first row>-<last row>.rds`, also listed in the method's field
#' `chunk_files`), holding a list with `rows` (the global row indices),
#' `result` (per explained output layer, per input layer, an array
#' `(rows, input shape, outputs)` in the layout of the data), `output_index`
#' (the output layers of `result`), `pred` and `goal`. Read them with
#' [readRDS()].
#'
#' @param method A `run_*()` function (e.g. [run_intgrad()]) or a method class
#'   (e.g. [`IntegratedGradient`]).
#' @param ... Arguments of `method`: the converter (or model), the data and the
#'   method's own arguments.
#' @param keep (`character(1)`)\cr `"summary"` (default) keeps the summary only;
#'   `"result"` keeps every attribution, as `method` alone does.
#' @param dir (`character(1)` or `NULL`)\cr A folder for one `.rds` file of
#'   results per chunk; created if needed, and it must not hold chunk files of
#'   an earlier run.
#' @return The method object. With `keep = "summary"` its `result` is `NULL`
#'   and `result_summary` holds the summary.
#' @seealso [summary.InterpretingMethod()] for the summary table.
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(6), 2, 3), bias = c(0, 1),
#'        activation_name = "tanh", input_layers = 0, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(3000), 1000, 3)
#' old <- options(innsight.chunk_size = 250)
#' ig <- explain_dataset(run_intgrad, conv, x, n = 20)
#' summary(ig)
#' plot_global(ig)
#' options(old)
#'
#' \dontrun{
#' # on the cores of this machine
#' future::plan(future::multisession, workers = 2)
#' ig <- explain_dataset(run_intgrad, conv, x, n = 20)
#' future::plan(future::sequential)
#' }
#' @export
explain_dataset <- function(method, ..., keep = c("summary", "result"), dir = NULL) {
  call <- environment()
  if (inherits(method, "R6ClassGenerator")) {
    generator <- method
    method <- function(...) generator$new(...)
  }
  if (!is.function(method)) {
    innsight_abort("{.arg method} must be a {.code run_*()} function or a method class such as {.cls IntegratedGradient}, not {.obj_type_friendly {method}}.",
                   call = call)
  }
  if (identical(keep, c("summary", "result"))) keep <- "summary"
  check_choice(keep, c("summary", "result"), "keep", call = call)
  if (!is.null(dir)) prepare_chunk_dir(dir, call)
  old <- dataset_state$mode
  on.exit(dataset_state$mode <- old, add = TRUE)
  dataset_state$mode <- list(keep = keep, dir = dir)
  m <- method(...)
  if (!inherits(m, "InterpretingMethod")) {
    innsight_abort("{.arg method} must return an innsight method object, not {.obj_type_friendly {m}}.", call = call)
  }
  m
}

dataset_state <- new.env(parent = emptyenv())

# The mode explain_dataset() set for the method being created, consumed by the
# first run (a method creating another inside must not inherit it).
dataset_mode <- function() {
  mode <- dataset_state$mode
  dataset_state$mode <- NULL
  if (is.null(mode)) mode <- list(keep = "result", dir = NULL)
  dir <- mode$dir
  mode$files <- function() if (is.null(dir)) NULL else chunk_files_in(dir)
  mode
}

chunk_files_in <- function(dir) sort(list.files(dir, pattern = "^chunk-[0-9]+-[0-9]+[.]rds$", full.names = TRUE))

prepare_chunk_dir <- function(dir, call) {
  if (!is.character(dir) || length(dir) != 1 || is.na(dir) || !nzchar(dir)) {
    innsight_abort("{.arg dir} must be a single folder path or {.code NULL}, not {.obj_type_friendly {dir}}.", call = call)
  }
  if (file.exists(dir) && !dir.exists(dir)) {
    innsight_abort("{.arg dir} must be a folder, but {.file {dir}} is a file.", call = call)
  }
  if (!dir.exists(dir) && !dir.create(dir, recursive = TRUE, showWarnings = FALSE)) {
    innsight_abort("Cannot create the folder {.file {dir}} given as {.arg dir}.", call = call)
  }
  if (length(chunk_files_in(dir)) > 0) {
    innsight_abort(c("{.arg dir} ({.file {dir}}) already holds chunk files of an earlier run.",
                     "i" = "Use an empty folder, or delete the {.file chunk-*.rds} files first."),
                   call = call)
  }
  invisible(dir)
}

# ---- summaries of parts ------------------------------------------------------

sketch_accuracy <- function() {
  a <- getOption("innsight.sketch_accuracy", 0.005)
  if (length(a) != 1 || !is.numeric(a) || is.na(a) || a <= 0 || a >= 0.5) {
    innsight_abort("Option {.code innsight.sketch_accuracy} must be a single number in (0, 0.5), not {.obj_type_friendly {a}}.")
  }
  a
}

# Add one part's attributions to the accumulators `acc` (NULL before the first
# part): per explained output layer r, per input layer j, `raw` (channels first,
# cells = input shape x outputs) and, for inputs with several channels, `sum`
# and `abs_sum` (per-instance channel sums). The sketches stay in Rust until
# finish_summary() turns them into lists.
accumulate_part <- function(acc, part, input_dim, channels_first) {
  if (is.null(acc)) {
    alpha <- sketch_accuracy()
    acc <- lapply(part$result, function(per_input) {
      lapply(seq_along(per_input), function(j) {
        if (is.null(per_input[[j]])) return(NULL)
        fields <- if (length(input_dim[[j]]) >= 2 && input_dim[[j]][1] > 1) c("raw", "sum", "abs_sum") else "raw"
        sapply(fields, function(f) rust_call(SketchAccumulator$new(alpha)), simplify = FALSE)
      })
    })
  }
  for (r in seq_along(acc)) {
    for (j in seq_along(acc[[r]])) {
      if (is.null(acc[[r]][[j]])) next
      a <- to_channels_first(part$result[[r]][[j]], length(input_dim[[j]]), channels_first)
      rust_call(acc[[r]][[j]]$raw$add_block(a))
      if (!is.null(acc[[r]][[j]]$sum)) {
        rust_call(acc[[r]][[j]]$sum$add_block(aggregate_channels(a, "sum")))
        rust_call(acc[[r]][[j]]$abs_sum$add_block(aggregate_channels(abs(a), "sum")))
      }
    }
  }
  acc
}

# The accumulators as sketch lists (sketch_block()'s format), to travel and keep.
finish_summary <- function(acc) {
  lapply(acc, function(per_input) {
    lapply(per_input, function(s) if (is.null(s)) NULL else lapply(s, function(x) rust_call(x$to_list())))
  })
}

merge_part_summaries <- function(a, b) {
  Map(function(ar, br) {
    Map(function(aj, bj) {
      if (is.null(aj)) return(NULL)
      Map(function(x, y) rust_call(sketch_merge(x, y)), aj, bj[names(aj)])
    }, ar, br)
  }, a, b)
}
