#' Super class of the model-agnostic methods
#'
#' @description
#' Shared set-up of [`LIME`] and [`SHAP`]: the model's prediction function, the
#' shapes and names of its input and output, the data and the reference data. The
#' model can be a [`Converter`] (the predictions then stay in the Rust core), a
#' `neuralnet` or Keras model (built-in prediction functions), or any model with a
#' prediction function `pred_fun(newdata)` and an `output_type`.
#'
#' `pred_fun` receives many perturbed instances at once: tabular data as a data
#' frame with one column per feature (named like the data's columns), images and
#' signals as an array `(instances, instance shape)` in the layout of the data. It
#' must return a numeric matrix (or vector, or data frame) with one row per
#' instance.
#'
#' The field `converter` holds a converter-like list (class
#' `innsight_agnostic_wrapper`) with the entries `model`, `input_dim`,
#' `input_names`, `output_dim`, `output_names`, `output_type` and `pred_fun`.
#'
#' @field data_orig The data as given.
#' @keywords internal
AgnosticWrapper <- R6::R6Class("AgnosticWrapper",
  inherit = InterpretingMethod,
  public = list(
    data_orig = NULL,

    #' @description Check and store the model, data and names.
    #' @param model,data,data_ref,output_type,pred_fun,output_idx,output_label,channels_first,input_dim,input_names,output_names,feature_groups,patch_size,verbose,dtype
    #'   See [`LIME`] and [`SHAP`].
    initialize = function(model, data, data_ref = NULL, output_type = NULL, pred_fun = NULL, output_idx = NULL,
                          output_label = NULL, channels_first = TRUE, input_dim = NULL, input_names = NULL,
                          output_names = NULL, feature_groups = NULL, patch_size = NULL, verbose = interactive(),
                          dtype = "float") {
      call <- parent.frame(2)
      if (missing(model)) innsight_abort("Argument {.arg model} is missing, with no default.", call = call)
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data", call = call)
      check_flag(channels_first, call = call)
      check_flag(verbose, call = call)
      check_dtype(dtype, call = call)
      info <- agnostic_model(model, pred_fun, output_type, call)
      x <- instance_array(data, "data", call)
      ref <- if (is.null(data_ref)) x else instance_array(data_ref, "data_ref", call)
      user_dim <- dim(ref)[-1]
      if (!identical(dim(x)[-1], user_dim)) {
        innsight_abort(c("{.arg data} and {.arg data_ref} must have the same shape per instance.",
                         "x" = "{.arg data}: ({paste(dim(x)[-1], collapse = ', ')}); {.arg data_ref}: ({paste(user_dim, collapse = ', ')})."),
                       kind = "data", call = call)
      }
      rank <- length(user_dim)
      dim_cf <- if (channels_first || rank == 1) user_dim else c(user_dim[rank], user_dim[-rank])
      private$check_input_dim(input_dim, info$input_dim, dim_cf, call)
      self$data_orig <- data
      self$data <- list(x)
      self$channels_first <- channels_first
      self$verbose <- verbose
      self$dtype <- dtype
      self$ignore_last_act <- FALSE
      private$ref <- ref
      private$user_dim <- user_dim
      private$info <- info
      private$groups <- feature_groups_vector(feature_groups, patch_size, user_dim, channels_first, call)
      in_names <- if (!is.null(input_names)) input_names else if (!is.null(info$input_names)) info$input_names else
        if (rank == 1 && !is.null(colnames(ref))) colnames(ref)
      in_names <- normalise_names(in_names, list(dim_cf), "input_names", call = call)
      # the outputs' number and names from the first instance: the predictions of
      # all instances come from the run (predicting the whole data set here
      # would need memory growing with it, and the work twice)
      preds <- private$predict_all(take_rows(x, 1L), call)
      out_dim <- ncol(preds)
      out_names <- if (!is.null(output_names)) output_names else if (!is.null(info$output_names)) info$output_names else
        colnames(preds)
      out_names <- normalise_names(out_names, list(out_dim), "output_names", call = call)
      self$converter <- structure(list(
        model = model, input_dim = list(as.integer(dim_cf)), input_names = in_names,
        output_dim = list(as.integer(out_dim)), output_names = out_names,
        output_type = info$output_type, pred_fun = info$pred_fun
      ), class = "innsight_agnostic_wrapper")
      out <- normalise_output_idx(output_idx, output_label, self$converter$output_dim, out_names, call = call)
      self$output_idx <- out$idx
      self$output_label <- out$label
    }
  ),
  private = list(
    ref = NULL,
    user_dim = NULL,
    info = NULL,
    groups = NULL,
    value_name = "Weight",

    check_input_dim = function(input_dim, model_dim, dim_cf, call) {
      for (d in list(input_dim, model_dim)) {
        if (is.null(d)) next
        d <- if (is.list(d)) unlist(d) else d
        if (!identical(as.integer(d), as.integer(dim_cf))) {
          innsight_abort(c("The shape of the data ({paste(dim_cf, collapse = ', ')}, channels first) does not match the model's input shape ({paste(d, collapse = ', ')}).",
                           "i" = "The batch axis comes first; for images and signals check {.arg channels_first}."),
                         kind = "data", call = call)
        }
      }
    },

    # Whether the predictions run in the Rust core (a Converter without a user pred_fun).
    in_core = function() is.null(private$info$pred_fun),

    # All model outputs on instances `x` (caller layout, batch first).
    predict_all = function(x, call) {
      if (private$in_core()) {
        return(private$info$converter$model$forward(list(x), self$channels_first, dtype = self$dtype)[[1]])
      }
      private$predict_rows(matrix(x, nrow = dim(x)[1]), call)
    },

    # `pred_fun` on flattened rows (see agnostic_predict_rows()).
    predict_rows = function(rows, call) {
      agnostic_predict_rows(private$info$pred_fun, private$user_dim, private$feature_names(), rows, call)
    },

    feature_names = function() {
      if (!is.null(self$converter) && length(private$user_dim) == 1) return(as.character(self$converter$input_names[[1]][[1]]))
      if (length(private$user_dim) == 1 && !is.null(colnames(private$ref))) return(colnames(private$ref))
      character(0)
    },

    # The run as a job over chunks of instances (see run_job()): the coalitions
    # come from the spec's seed, the same for every chunk.
    run_agnostic = function(spec, call) {
      job <- agnostic_job(spec, private$ref, private$groups, self$output_idx[[1]], private$user_dim, private$info,
                          private$feature_names(), self$channels_first, self$dtype)
      res <- run_method_job(self, job, private$method_name, call)
      self$result <- res$result
      self$preds <- res$pred
      self$decomp_goal <- res$goal
      invisible(self)
    }
  )
)

# One call into the core (Converter), or a loop over chunks of rows calling
# pred_fun, for the instances `data[[1]]`.
agnostic_job <- function(spec, ref, groups, nodes, user_dim, info, feature_names, channels_first, dtype) {
  # evaluate every argument here: an unevaluated promise would travel to a
  # worker and be evaluated there (drawing the seed from the worker's generator)
  lapply(list(spec, ref, groups, nodes, user_dim, feature_names, channels_first, dtype), force)
  # only what the run needs travels with the job: the converted model (its
  # weight blob) or the user's prediction function
  pred_fun <- info$pred_fun
  model <- if (is.null(pred_fun)) info$converter$model
  rm(info)
  run <- function(data, rows, progress = NULL, call = NULL) {
    x <- data[[1]]
    as_rows <- function(a) matrix(a, nrow = dim(a)[1])
    session <- rust_call(AgnosticRun$new(to_json(spec), as_rows(x), as_rows(ref), as.integer(groups)), call = call)
    d <- prod(user_dim)
    # small chunks (4 MB of rows by default): their buffers are reused by the
    # allocator instead of being mapped fresh for every chunk, which costs more
    # than the forward pass of a small network
    max_rows <- max(1, min(1e5, floor(agnostic_chunk_bytes(call) / (8 * d))))
    threads <- innsight_threads()
    res <- if (is.null(pred_fun)) {
      handle <- model$handle(dtype)
      rust_call(session$run_model(handle, 1L, nodes, as.integer(user_dim), channels_first, max_rows,
                                  threads, progress), call = call)
    } else {
      total <- session$total_rows()
      done <- 0
      repeat {
        chunk <- rust_call(session$next_chunk(max_rows, threads), call = call)
        if (is.null(chunk)) break
        out <- agnostic_predict_rows(pred_fun, user_dim, feature_names, chunk, call)
        rust_call(session$feed(out[, nodes, drop = FALSE]), call = call)
        done <- done + nrow(chunk)
        if (!is.null(progress)) progress(done, total)
      }
      rust_call(session$finish(threads), call = call)
    }
    n <- dim(x)[1]
    list(result = list(list(array(res$values, c(n, user_dim, length(nodes))))), output_index = 1L,
         pred = list(res$pred), goal = list(res$goal))
  }
  list(run = run, pred_fun = pred_fun, accumulate = function(acc, part) {
    accumulate_part(acc, part, list(agnostic_dim_cf(user_dim, channels_first)), channels_first)
  }, finish = finish_summary, merge = merge_part_summaries)
}

# The instance shape with channels first.
agnostic_dim_cf <- function(user_dim, channels_first) {
  rank <- length(user_dim)
  if (channels_first || rank == 1) user_dim else c(user_dim[rank], user_dim[-rank])
}

# `pred_fun` on flattened rows, checked: a numeric matrix, one row per row.
# Tables reach it as a data frame with the feature names; images and signals as
# an array (instances, instance shape...) in the caller's layout (a data frame
# of 150528 columns per 224 x 224 x 3 image would cost more than the model).
agnostic_predict_rows <- function(pred_fun, user_dim, feature_names, rows, call) {
  if (length(user_dim) == 1) {
    newdata <- as.data.frame(rows)
    nm <- feature_names
    if (length(nm) == ncol(newdata)) names(newdata) <- nm
  } else {
    newdata <- array(rows, c(nrow(rows), user_dim))
  }
  out <- tryCatch(pred_fun(newdata = newdata), error = function(e) {
    innsight_abort(c("{.arg pred_fun} failed on {nrow(newdata)} instance{?s}: {conditionMessage(e)}",
                     "i" = "{.arg pred_fun} receives tabular instances as a data frame with one column per feature, images and signals as an array (instances first)."),
                   kind = "prediction", call = call)
  })
  if (is.data.frame(out)) out <- as.matrix(out)
  if (is.null(dim(out))) out <- matrix(out, ncol = 1)
  if (!is.numeric(out) || length(dim(out)) != 2) {
    innsight_abort("{.arg pred_fun} must return a numeric matrix, vector or data frame, not {.obj_type_friendly {out}}.",
                   kind = "prediction", call = call)
  }
  if (nrow(out) != nrow(newdata)) {
    innsight_abort("{.arg pred_fun} returned {nrow(out)} row{?s} for {nrow(newdata)} instance{?s}; it must return one row per row of {.arg newdata}.",
                   kind = "prediction", call = call)
  }
  if (anyNA(out) || any(!is.finite(out))) {
    innsight_abort("{.arg pred_fun} returned missing or non-finite values (NA, NaN or Inf).", kind = "prediction", call = call)
  }
  storage.mode(out) <- "double"
  out
}

# Data of a model-agnostic method as a numeric array, batch axis first.
instance_array <- function(data, arg, call) {
  if (is.list(data) && !is.data.frame(data)) {
    if (length(data) != 1) {
      innsight_abort("Only models with a single input layer are supported by the model-agnostic approaches, but {.arg {arg}} is a list of {length(data)}.",
                     kind = "data", call = call)
    }
    data <- data[[1]]
  }
  if (is.data.frame(data)) {
    if (!all(vapply(data, function(col) is.numeric(col) || is.logical(col), logical(1)))) {
      innsight_abort("{.arg {arg}} must have numeric columns only (encode factors as numbers or dummy variables first).",
                     kind = "data", call = call)
    }
    data <- as.matrix(data)
  }
  if (is.null(dim(data)) && is.numeric(data)) {
    innsight_abort(c("{.arg {arg}} has no batch axis.", "i" = "Pass one instance as a one-row matrix, e.g. {.code matrix(x, nrow = 1)}."),
                   kind = "data", call = call)
  }
  if (!(is.numeric(data) || is.logical(data)) || length(dim(data)) < 2) {
    innsight_abort("{.arg {arg}} must be a numeric matrix, data frame or array with the instances on the first axis, not {.obj_type_friendly {data}}.",
                   kind = "data", call = call)
  }
  if (dim(data)[1] == 0) innsight_abort("{.arg {arg}} must contain at least one instance.", kind = "data", call = call)
  if (anyNA(data) || any(!is.finite(data))) {
    innsight_abort("{.arg {arg}} contains missing or non-finite values (NA, NaN or Inf).", kind = "data", call = call)
  }
  storage.mode(data) <- "double"
  data
}
