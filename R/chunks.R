# Running a method chunk by chunk: in this process, or on the workers of a
# `future` plan.
#
# A method describes its run as a *job*: `job$run(data, rows)` computes the part
# of the result for the data rows `rows` (global, 1-based, contiguous) given as
# `data` (list of arrays, batch axis first, only those rows). Everything random
# is fixed before the job is made (seeds and reference draws come from R's
# generator in the main process, and the core derives each row's random stream
# from the global row index), so the numbers do not depend on how the rows are
# cut into chunks or spread over workers.
#
# The chunks are put in contiguous groups, one group per worker and one future
# per group: the job (and with it the model's weight blob) travels once per
# worker, and the results come back in row order.

# Whether a `future` plan other than sequential is set.
future_plan_active <- function() {
  if (!requireNamespace("future", quietly = TRUE)) return(FALSE)
  !inherits(future::plan(), "sequential")
}

# Rows per chunk set by the user (`options(innsight.chunk_size = )`), or NULL.
chunk_size_option <- function(call = parent.frame()) {
  n <- getOption("innsight.chunk_size")
  if (is.null(n)) return(NULL)
  if (length(n) != 1 || !is_integerish(n) || n < 1) {
    innsight_abort("Option {.code innsight.chunk_size} must be a single whole number >= 1 or {.code NULL}, not {.obj_type_friendly {n}}.",
                   call = call)
  }
  # a size above the integer range is one chunk, like any size above the rows
  as.integer(min(n, .Machine$integer.max))
}

# Bytes a chunk may use per process (`options(innsight.memory_budget = )`).
memory_budget <- function(call = parent.frame()) {
  b <- getOption("innsight.memory_budget", 2^30)
  if (length(b) != 1 || !is.numeric(b) || is.na(b) || b <= 0) {
    innsight_abort("Option {.code innsight.memory_budget} must be a single positive number of bytes, not {.obj_type_friendly {b}}.",
                   call = call)
  }
  b
}

# Bytes of perturbed rows per chunk of the model-agnostic methods
# (`options(innsight.agnostic_chunk_bytes = )`).
agnostic_chunk_bytes <- function(call = parent.frame()) {
  b <- getOption("innsight.agnostic_chunk_bytes", 2^22)
  if (length(b) != 1 || !is.numeric(b) || is.na(b) || b <= 0) {
    innsight_abort("Option {.code innsight.agnostic_chunk_bytes} must be a single positive number of bytes, not {.obj_type_friendly {b}}.",
                   call = call)
  }
  b
}

# The chunks (list of contiguous row indices) for `n_rows` rows, each row costing
# about `bytes_per_row` while it is computed. One chunk unless a future plan is
# set, a chunk size is set, or `split` asks for chunks (dataset summaries).
plan_chunks <- function(n_rows, bytes_per_row, workers, split, call = parent.frame()) {
  size <- chunk_size_option(call)
  if (is.null(size)) {
    if (workers == 1 && !split) return(list(seq_len(n_rows)))
    size <- max(1, floor(memory_budget(call) / max(1, bytes_per_row)))
    # every worker gets a share of the rows
    size <- min(size, ceiling(n_rows / workers))
  }
  size <- max(1L, as.integer(size))
  unname(split(seq_len(n_rows), ceiling(seq_len(n_rows) / size)))
}

# Threads of the core on each worker: the machine's threads shared among the
# workers of a plan on this machine, unless `options(innsight.worker_threads = )`.
worker_threads <- function(workers) {
  n <- getOption("innsight.worker_threads")
  if (!is.null(n)) {
    if (length(n) != 1 || !is_integerish(n) || n < 0 || n > .Machine$integer.max) {
      innsight_abort("Option {.code innsight.worker_threads} must be a single whole number >= 0 (0 = all cores).")
    }
    return(as.integer(n))
  }
  total <- innsight_threads()
  if (total == 0) total <- max(1L, parallel::detectCores(logical = TRUE), na.rm = TRUE)
  max(1L, as.integer(total %/% workers))
}

# Run `job` over the rows of `data` and return the parts' combination:
# `keep = "result"` binds the parts in row order, `keep = "summary"` merges the
# parts' summaries (`job$accumulate(acc, part)`, `job$finish(acc)`, `job$merge(a, b)`) and keeps only the
# predictions. `dir` (or NULL) is a folder for one `.rds` file per chunk.
run_job <- function(job, data, bytes_per_row, keep = "result", dir = NULL, label = "method", verbose = FALSE,
                    call = parent.frame()) {
  n_rows <- dim(data[[1]])[1]
  parallel <- future_plan_active()
  workers <- if (parallel) max(1L, as.integer(future::nbrOfWorkers())) else 1L
  chunks <- plan_chunks(n_rows, bytes_per_row, workers, split = keep != "result" || !is.null(dir), call)
  if (length(chunks) == 1 && !parallel && keep == "result" && is.null(dir)) {
    # the unchanged single call: the core's own progress bar
    progress <- if (verbose) progress_reporter(label) else NULL
    return(job$run(data, chunks[[1]], progress = progress, call = call))
  }
  groups <- chunk_groups(length(chunks), if (parallel) workers else 1L)
  opts <- list(keep = keep, dir = dir, threads = if (parallel) worker_threads(workers) else innsight_threads())
  outs <- if (parallel) {
    run_groups_future(job, data, chunks, groups, opts, call)
  } else {
    tick <- chunk_progress(label, length(chunks), verbose)
    list(run_chunk_group(job, data, chunks, seq_along(chunks), 0L, opts, tick))
  }
  failure <- Find(function(o) inherits(o, "innsight_chunk_failure"), outs)
  if (!is.null(failure)) chunk_abort(failure, length(chunks), call)
  combine_group_outputs(job, outs, keep)
}

# Contiguous groups of chunk indices, at most `g` of them, of nearly equal size.
chunk_groups <- function(n_chunks, g) {
  g <- min(g, n_chunks)
  unname(split(seq_len(n_chunks), ceiling(seq_len(n_chunks) * g / n_chunks)))
}

# One future per group; the group's rows of the data go with it, the job once.
run_groups_future <- function(job, data, chunks, groups, opts, call) {
  tick <- progress_ticker(length(chunks))
  user <- user_function_globals(job$pred_fun)
  futures <- lapply(groups, function(ids) {
    rows <- unlist(chunks[ids], use.names = FALSE)
    piece <- lapply(data, take_rows, rows = rows)
    first <- rows[1] - 1L
    group_chunks <- chunks[ids]
    # the function travels as a global; its environment (the package namespace)
    # is serialised by reference, so the worker loads innsight
    future::future(
      run_chunk_group(job, piece, group_chunks, ids, first, opts, tick),
      globals = c(list(run_chunk_group = run_chunk_group, job = job, piece = piece, group_chunks = group_chunks,
                       ids = ids, first = first, opts = opts, tick = tick), user$globals),
      packages = unique(c("innsight", user$packages)), seed = FALSE, label = sprintf("innsight-chunks-%d-%d", ids[1], ids[length(ids)])
    )
  })
  Map(function(f, ids) {
    tryCatch(future::value(f), error = function(e) {
      chunk_failure(ids[1], chunks[[ids[1]]], e, worker = TRUE, last = ids[length(ids)])
    })
  }, futures, groups)
}

# The objects and packages a user's function (pred_fun) needs on a worker, found
# by future's own globals search: a function defined in the global environment
# refers to objects there (a fitted model, say) that a worker does not have.
user_function_globals <- function(fun) {
  if (is.null(fun)) return(list(globals = list(), packages = character(0)))
  env <- list2env(list(pred_fun = fun), parent = environment(fun) %||% globalenv())
  gp <- future::getGlobalsAndPackages(quote(pred_fun()), envir = env, globals = TRUE)
  globals <- as.list(gp$globals)
  list(globals = globals[setdiff(names(globals), "pred_fun")], packages = gp$packages)
}

# Run the chunks `chunks` (global row indices; chunk numbers `ids`) of one group;
# `data` holds the group's rows, its first row being global row `first + 1`.
# Returns the parts (keep = "result") or their merged summary and predictions, or an
# `innsight_chunk_failure` for the first chunk that failed.
run_chunk_group <- function(job, data, chunks, ids, first, opts, tick = NULL) {
  old <- options(innsight.threads = opts$threads)
  on.exit(options(old), add = TRUE)
  parts <- vector("list", length(chunks))
  acc <- NULL
  for (i in seq_along(chunks)) {
    rows <- chunks[[i]]
    local <- rows - first
    piece <- if (length(chunks) == 1) data else lapply(data, take_rows, rows = local)
    step <- tryCatch({
      part <- job$run(piece, rows)
      if (!is.null(opts$dir)) save_chunk(part, rows, opts$dir)
      if (opts$keep == "result") {
        part
      } else {
        acc <- job$accumulate(acc, part)
        # only the predictions are kept with the summary
        part$result <- NULL
        part
      }
    }, error = function(e) chunk_failure(ids[i], rows, e))
    if (inherits(step, "innsight_chunk_failure")) return(step)
    parts[[i]] <- step
    if (!is.null(tick)) tick()
  }
  if (opts$keep == "result") return(structure(parts, class = "innsight_parts"))
  preds <- bind_parts(parts)
  list(summary = job$finish(acc), pred = preds$pred, goal = preds$goal)
}

merge_summary_parts <- function(job, a, b) {
  list(summary = job$merge(a$summary, b$summary),
       pred = Map(bind_rows_or_null, a$pred, b$pred),
       goal = Map(bind_rows_or_null, a$goal, b$goal))
}

combine_group_outputs <- function(job, outs, keep) {
  if (keep == "result") return(bind_parts(unlist(lapply(outs, unclass), recursive = FALSE)))
  Reduce(function(a, b) merge_summary_parts(job, a, b), outs)
}

# ---- failures ----------------------------------------------------------------

chunk_failure <- function(chunk, rows, e, worker = FALSE, last = chunk) {
  structure(list(chunk = chunk, last = last, rows = range(rows), message = conditionMessage(e),
                 class = class(e), worker = worker),
            class = "innsight_chunk_failure")
}

# A classed error naming the chunk; no partial result is returned.
chunk_abort <- function(f, n_chunks, call) {
  where <- if (isTRUE(f$worker)) {
    "The future evaluating chunks {f$chunk}-{f$last} (of {n_chunks}) failed on its worker"
  } else {
    "Chunk {f$chunk} of {n_chunks} (data rows {f$rows[1]}-{f$rows[2]}) failed"
  }
  msg <- f$message
  # the chunk's class first, then the classes of the error inside it (e.g.
  # innsight_error_prediction from a user's pred_fun)
  inner <- setdiff(f$class, c("innsight_error", "rlang_error", "error", "condition"))
  cli::cli_abort(c(paste0(where, ": {msg}"),
                   "i" = "No partial result is returned; fix the cause and run the method again."),
                 class = unique(c("innsight_error_chunk", inner, "innsight_error")), call = call)
}

# ---- progress ----------------------------------------------------------------

# Progress over chunks in this process: the cli bar.
chunk_progress <- function(label, n_chunks, verbose) {
  if (!verbose) return(NULL)
  done <- 0
  bar <- progress_reporter(label)
  function() {
    done <<- done + 1
    bar(done, n_chunks)
  }
}

# Progress across workers: a progressr progressor (shown where the user set
# progressr handlers), or NULL without progressr.
progress_ticker <- function(n_chunks) {
  if (!requireNamespace("progressr", quietly = TRUE)) return(NULL)
  p <- progressr::progressor(steps = n_chunks, envir = parent.frame())
  function() p()
}

# ---- binding and files ------------------------------------------------------------

# Rows of two arrays (batch axis first) stacked; NULL stays NULL.
bind_rows_or_null <- function(a, b) {
  if (is.null(a) || is.null(b)) return(NULL)
  bind_rows(list(a, b))
}

bind_rows <- function(arrays) {
  if (length(arrays) == 1) return(arrays[[1]])
  d <- dim(arrays[[1]])
  rest <- d[-1]
  mats <- lapply(arrays, function(a) matrix(a, nrow = dim(a)[1]))
  out <- do.call(rbind, mats)
  array(out, c(nrow(out), rest))
}

# The parts of a run (list(result, output_index, pred, goal) each) as one.
bind_parts <- function(parts) {
  if (length(parts) == 1) return(parts[[1]])
  first <- parts[[1]]
  leaf <- function(get) {
    pieces <- lapply(parts, get)
    if (is.null(pieces[[1]])) NULL else bind_rows(pieces)
  }
  result <- lapply(seq_along(first$result), function(r) {
    lapply(seq_along(first$result[[r]]), function(j) leaf(function(p) p$result[[r]][[j]]))
  })
  pred <- lapply(seq_along(first$pred), function(r) leaf(function(p) p$pred[[r]]))
  goal <- lapply(seq_along(first$goal), function(r) leaf(function(p) p$goal[[r]]))
  list(result = result, output_index = first$output_index, pred = pred, goal = goal)
}

save_chunk <- function(part, rows, dir) {
  file <- file.path(dir, sprintf("chunk-%09d-%09d.rds", rows[1], rows[length(rows)]))
  saveRDS(list(rows = rows, result = part$result, output_index = part$output_index, pred = part$pred,
               goal = part$goal), file)
}
