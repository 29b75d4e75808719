# The R side of the Rust boundary: every call into Rust goes through rust_call(),
# which turns the core's tagged error messages ("[innsight:<kind>] ...") into
# classed R conditions raised in the user's call.

rust_call <- function(expr, call = parent.frame()) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "innsight_error")) stop(e)
    msg <- conditionMessage(e)
    m <- regmatches(msg, regexec("^\\[innsight:([a-z_]+)\\] (.*)$", msg))[[1]]
    if (length(m) == 3) {
      innsight_abort_text(m[3], kind = m[2], call = call)
    }
    innsight_abort_text(paste("Unexpected failure in the Rust core:", msg), kind = "internal", call = call)
  })
}

# Whether a Rust handle is usable: external pointers do not survive
# saveRDS()/readRDS() (they come back as null pointers, which the binding rejects
# with an error instead of dereferencing them).
handle_alive <- function(h) {
  !is.null(h) && isTRUE(tryCatch(is.character(h$dtype()), error = function(e) FALSE))
}

# JSON for the core: vectors marked with I() stay arrays, NULL becomes null.
to_json <- function(x) {
  as.character(jsonlite::toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null"))
}

# A callback for the Rust core's progress reports (rows done, rows in total),
# drawn as a cli progress bar. The core calls it from R's main thread between
# chunks of work.
progress_reporter <- function(name) {
  bar <- NULL
  function(done, total) {
    if (is.null(bar)) {
      bar <<- cli::cli_progress_bar(paste("Running", name), total = total, .envir = globalenv())
    }
    cli::cli_progress_update(id = bar, set = done, .envir = globalenv())
    if (done >= total) cli::cli_progress_done(id = bar, .envir = globalenv())
  }
}
