#' Super class of the interpretation methods
#'
#' @description
#' Shared fields, argument checks and result access of every model-specific method
#' ([`Gradient`], [`SmoothGrad`], [`IntegratedGradient`], [`ExpectedGradient`],
#' [`LRP`], [`DeepLift`], [`DeepSHAP`], [`ConnectionWeights`]).
#' A method computes its result when it is created, in one call into the Rust core.
#'
#' @field data List of the data arrays (one per input layer, batch axis first, in
#'   the layout given by `channels_first`); `NULL` for global [`ConnectionWeights`].
#' @field converter The [`Converter`] of the model.
#' @field channels_first Whether the data have the channel axis first.
#' @field dtype Precision of the computation (`"float"` or `"double"`).
#' @field ignore_last_act Whether the output layers' last activation is ignored.
#' @field winner_takes_all Max-pooling treatment (used by LRP, DeepLift and DeepSHAP).
#' @field verbose Whether progress messages are shown.
#' @field output_idx List (per output layer) of the explained output indices.
#' @field output_label List (per output layer) of the explained output labels.
#' @field result List (per explained output layer) of lists (per input layer) of
#'   arrays `(batch, input shape, explained outputs)`; `NULL` where an input is not
#'   connected to an output.
#' @field preds List (per output layer) of the model's predictions
#'   `(batch, explained outputs)`; `NULL` entries where a method has no forward pass
#'   (global [`ConnectionWeights`]).
#' @field decomp_goal List (per output layer) of the values the attributions should
#'   sum to, or `NULL` entries where a method has none.
#' @keywords internal
InterpretingMethod <- R6::R6Class("InterpretingMethod",
  public = list(
    data = NULL,
    converter = NULL,
    channels_first = NULL,
    dtype = NULL,
    ignore_last_act = NULL,
    winner_takes_all = TRUE,
    verbose = NULL,
    output_idx = NULL,
    output_label = NULL,
    result = NULL,
    preds = NULL,
    decomp_goal = NULL,
    #' @field result_summary For a method run by [explain_dataset()] with
    #'   `keep = "summary"`: the summary of the attributions (an internal
    #'   structure; read it with `summary()`), else `NULL`.
    result_summary = NULL,
    #' @field chunk_files For a method run by [explain_dataset()] with `dir`: the
    #'   files holding the results chunk by chunk, else `NULL`.
    chunk_files = NULL,

    #' @description Check and store the arguments every method shares.
    #' @param converter,data,channels_first,output_idx,output_label,ignore_last_act,winner_takes_all,verbose,dtype
    #'   See the method classes.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, winner_takes_all = TRUE, verbose = interactive(),
                          dtype = "float") {
      call <- parent.frame(2)
      check_converter(converter, call = call)
      check_flag(channels_first, call = call)
      check_flag(ignore_last_act, call = call)
      check_flag(winner_takes_all, call = call)
      check_flag(verbose, call = call)
      check_dtype(dtype, call = call)
      self$converter <- converter
      self$channels_first <- channels_first
      self$ignore_last_act <- ignore_last_act
      self$winner_takes_all <- winner_takes_all
      self$verbose <- verbose
      self$dtype <- dtype
      if (!is.null(data)) self$data <- prepare_data(data, converter$input_dim, channels_first, call = call)
      out <- normalise_output_idx(output_idx, output_label, converter$output_dim, converter$output_names, call = call)
      self$output_idx <- out$idx
      self$output_label <- out$label
    },

    #' @description The result as an array, a list of arrays or a data frame;
    #'   see [get_result()].
    #' @param type `"array"` (default) or `"data.frame"`.
    get_result = function(type = "array") {
      method_result(self, type, parent.frame())
    },

    #' @description Print a summary of the method and its result.
    #' @param ... Unused.
    print = function(...) {
      print_method(self, private)
      invisible(self)
    },

    #' @description Plot the result of single instances (also `plot(x, ...)`);
    #'   see [innsight_plot] for the arguments and examples. The method object is
    #'   not changed.
    #' @param data_idx,output_idx,output_label,aggr_channels,as_plotly,same_scale,show_preds,show_image,images,image_alpha
    #'   See [innsight_plot].
    #' @return An [`innsight_ggplot2`] or [`innsight_plotly`] object.
    plot = function(data_idx = 1, output_idx = NULL, output_label = NULL, aggr_channels = "sum",
                    as_plotly = FALSE, same_scale = FALSE, show_preds = TRUE, show_image = "none",
                    images = NULL, image_alpha = 0.8) {
      plot_method(self, data_idx, output_idx, output_label, aggr_channels, as_plotly, same_scale,
                  show_preds, show_image, images, image_alpha, call = environment())
    },

    #' @description Summaries of the result over many instances (boxplots, or the
    #'   median heatmap of images); see [plot_global()] for the arguments and
    #'   examples. The method object is not changed.
    #' @param output_idx,output_label,data_idx,ref_data_idx,aggr_channels,preprocess_FUN,as_plotly,individual_data_idx,individual_max
    #'   See [plot_global()].
    #' @return An [`innsight_ggplot2`] or [`innsight_plotly`] object.
    plot_global = function(output_idx = NULL, output_label = NULL, data_idx = "all", ref_data_idx = NULL,
                           aggr_channels = "sum", preprocess_FUN = abs, as_plotly = FALSE,
                           individual_data_idx = NULL, individual_max = 20) {
      plot_global_method(self, output_idx, output_label, data_idx, ref_data_idx, aggr_channels, preprocess_FUN,
                         as_plotly, individual_data_idx, individual_max, call = environment())
    },

    #' @description The same as `plot_global()`, with a warning for image
    #'   inputs (use `plot_global()` for them).
    #' @param ... Passed to `plot_global()`.
    boxplot = function(...) {
      warn_boxplot_images(self)
      self$plot_global(...)
    }
  ),
  private = list(
    # label of the values in plots and summaries
    value_name = "Relevance",
    # name shown in print()
    method_name = "InterpretingMethod",
    # extra fields printed by print(): a named list of formatted strings
    print_fields = function() list(),
    # references passed to the core
    x_ref_data = NULL,
    data_ref_data = NULL,

    # One call into Rust per chunk of rows (one chunk unless a future plan, a
    # chunk size or a dataset summary asks for more); stores result (or its
    # summary), preds and decomp_goal. `per_row` names spec fields holding
    # `per_row$n` values per data row (instance-major), cut with the rows.
    run = function(spec, per_row = NULL, call = parent.frame(2)) {
      spec$output_idx <- lapply(self$output_idx, function(i) if (is.null(i)) NULL else I(i))
      spec$ignore_last_act <- self$ignore_last_act
      job <- core_job(self$converter$model, self$dtype, spec, private$x_ref_data, private$data_ref_data,
                      self$channels_first, per_row, self$converter$input_dim)
      if (is.null(self$data)) {
        res <- job$run(NULL, integer(0), call = call)
      } else {
        res <- run_method_job(self, job, private$method_name, call)
      }
      store_run(self, res)
    }
  )
)

# The core's run as a job for run_job(): `run(data, rows)` is one call into Rust
# for the data rows `rows` (global indices), the per-row spec fields cut to them.
core_job <- function(model, dtype, spec, x_ref, data_ref, channels_first, per_row, input_dim) {
  # evaluate every argument here: an unevaluated promise would travel to a
  # worker and be evaluated there
  lapply(list(model, dtype, spec, x_ref, data_ref, channels_first, per_row, input_dim), force)
  run <- function(data, rows, progress = NULL, call = NULL) {
    s <- spec
    # SmoothGrad draws its noise from the global row index
    if (identical(s$method, "smooth_grad") && length(rows) > 0) s$row_offset <- rows[1] - 1L
    if (!is.null(per_row) && length(rows) > 0) {
      idx <- as.vector(outer(seq_len(per_row$n), (rows - 1) * per_row$n, "+"))
      for (f in per_row$fields) s[[f]] <- I(spec[[f]][idx])
    }
    rust_call(run_method(model$handle(dtype), to_json(s), data, x_ref, data_ref, channels_first,
                         innsight_threads(), progress), call = call)
  }
  list(run = run, accumulate = function(acc, part) accumulate_part(acc, part, input_dim, channels_first),
       finish = finish_summary, merge = merge_part_summaries)
}

# run_job() for a method's data, in the mode explain_dataset() set (if any).
run_method_job <- function(m, job, label, call) {
  mode <- dataset_mode()
  res <- run_job(job, m$data, row_cost(m), keep = mode$keep, dir = mode$dir, label = label,
                 verbose = m$verbose, call = call)
  if (identical(mode$keep, "summary")) {
    m$result_summary <- res$summary
    res$result <- NULL
  }
  m$chunk_files <- mode$files()
  res
}

# Bytes one data row costs while it is explained (a rough guide for the chunk
# size): the activations of every layer (or, without a converted model, four
# times the input) in double precision, for the forward pass and once per
# explained output in the backward pass.
row_cost <- function(m) {
  n_out <- max(1, sum(lengths(m$output_idx)))
  values <- sum(vapply(m$data, function(a) prod(dim(a)[-1]), numeric(1)))
  model <- m$converter$model
  if (inherits(model, "ConvertedModel")) {
    values <- values + sum(vapply(model$layers(), function(l) prod(unlist(l$dim_out)), numeric(1)))
  } else {
    values <- 4 * values
  }
  8 * values * (1 + n_out)
}

# Store a run's result (or NULL when summarised), predictions and goals.
store_run <- function(m, res) {
  K <- length(m$output_idx)
  m$result <- res$result
  m$preds <- rep(list(NULL), K)
  m$decomp_goal <- rep(list(NULL), K)
  index <- res$output_index %||% explained_layers(m)
  # `[<-` with list(): a NULL entry (no prediction or goal) must not drop the slot
  for (r in seq_along(index)) {
    k <- index[[r]]
    m$preds[k] <- list(res$pred[[r]])
    m$decomp_goal[k] <- list(res$goal[[r]])
  }
  invisible(m)
}


#' Get the result of an interpretation method
#'
#' Returns the attributions of a method object as an array (or a nested list of
#' arrays for models with several input or output layers) or as a long data frame.
#'
#' For `type = "array"`, each array has the shape `(batch, input shape, outputs)`
#' in the layout of the data (`channels_first`), with dimnames from the
#' converter's input and output names. One input and one output layer give a bare
#' array; several input layers give a list named `Input_1`, `Input_2`, ...;
#' several output layers a list named `Output_k`. An input layer that does not
#' influence an output layer gives `NaN`.
#'
#' For `type = "data.frame"`, one row per value with the columns `data`,
#' `model_input`, `model_output`, `feature`, `feature_2` (images only), `channel`
#' (signals and images only), `output_node`, `value`, `pred`, `decomp_sum` (sum of
#' the values of the input layer for this instance and output), `decomp_goal` (what
#' they should sum to, if defined) and `input_dimension`.
#'
#' The type `"torch_tensor"` of the original package is not available: this
#' package does not use torch.
#'
#' @param x An interpretation method object (e.g. from [run_grad()]).
#' @param ... Passed to the method; `type` is `"array"` (default) or `"data.frame"`.
#' @return An array, a list of arrays, or a data frame.
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 1, layers = list(
#'   list(type = "Dense", weight = matrix(c(1, -1, 2, 0, 1, -2), 2, 3), bias = c(0, 1),
#'        activation_name = "softmax", input_layers = 0, output_layers = -1)))
#' grad <- run_grad(convert(model), matrix(rnorm(6), 2, 3))
#' get_result(grad)
#' head(get_result(grad, "data.frame"))
#' @export
get_result <- function(x, ...) {
  check_method_object(x)
  UseMethod("get_result")
}

# `x` of the generics get_result() and plot_global(): an interpretation method.
check_method_object <- function(x, call = parent.frame()) {
  if (!inherits(x, "InterpretingMethod")) {
    innsight_abort(c("{.arg x} must be an interpretation method object, not {.obj_type_friendly {x}}.",
                     "i" = "Create one with a {.code run_*()} function, e.g. {.code run_grad(converter, data)}."),
                   call = call)
  }
  invisible(x)
}

#' @rdname get_result
#' @param type (`character(1)`)\cr `"array"` or `"data.frame"`.
#' @export
get_result.InterpretingMethod <- function(x, type = "array", ...) {
  check_no_dots(...)
  x$get_result(type)
}
