# Argument checks shared by every class. Each failure is an error of class
# c("innsight_error_<kind>", "innsight_error") with a cli message that names the
# argument and says what was expected.

innsight_abort <- function(message, kind = "argument", call = parent.frame(), .envir = parent.frame()) {
  cli::cli_abort(message, class = c(paste0("innsight_error_", kind), "innsight_error"),
                 call = call, .envir = .envir)
}

# `message` is used verbatim (no cli interpolation of braces in it).
innsight_abort_text <- function(message, kind = "argument", call = parent.frame()) {
  innsight_abort("{message}", kind = kind, call = call, .envir = environment())
}

innsight_warn <- function(message, .envir = parent.frame()) {
  cli::cli_warn(message, class = "innsight_warning", .envir = .envir)
}

check_flag <- function(x, arg = deparse(substitute(x)), call = parent.frame()) {
  if (!is.logical(x) || length(x) != 1 || is.na(x)) {
    innsight_abort("{.arg {arg}} must be a single {.code TRUE} or {.code FALSE}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  invisible(x)
}

check_choice <- function(x, choices, arg = deparse(substitute(x)), call = parent.frame()) {
  if (!is.character(x) || length(x) != 1 || is.na(x) || !x %in% choices) {
    innsight_abort("{.arg {arg}} must be one of {.or {.val {choices}}}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  invisible(x)
}

is_integerish <- function(x) {
  is.numeric(x) && all(is.finite(x)) && all(abs(x - round(x)) < 1e-8)
}

check_count <- function(x, arg = deparse(substitute(x)), min = 1, call = parent.frame()) {
  if (length(x) != 1 || !is_integerish(x) || x < min || x > .Machine$integer.max) {
    innsight_abort("{.arg {arg}} must be a single whole number of at least {min}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  invisible(as.integer(x))
}

check_number <- function(x, arg = deparse(substitute(x)), min = -Inf, call = parent.frame()) {
  if (!is.numeric(x) || length(x) != 1 || !is.finite(x) || x < min) {
    lower <- if (min == .Machine$double.eps) " greater than 0" else if (is.finite(min)) paste0(" of at least ", min) else ""
    innsight_abort("{.arg {arg}} must be a single finite number{lower}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  invisible(x)
}

check_converter <- function(x, call = parent.frame()) {
  if (!inherits(x, "Converter")) {
    innsight_abort(c("{.arg converter} must be a {.cls Converter} object, not {.obj_type_friendly {x}}.",
                     "i" = "Convert your model first with {.code convert(model)}."), call = call)
  }
  invisible(x)
}

check_dtype <- function(x, call = parent.frame()) {
  check_choice(x, c("float", "double"), "dtype", call = call)
}

# Number of threads for the Rust core: option `innsight.threads`, default all cores (0).
innsight_threads <- function() {
  n <- getOption("innsight.threads", 0L)
  if (length(n) != 1 || !is_integerish(n) || n < 0 || n > .Machine$integer.max) {
    innsight_abort("Option {.code innsight.threads} must be a single whole number >= 0 (0 = all cores).")
  }
  as.integer(n)
}
