# neuralnet objects (class "nn") -> innsight's list format.
#
# A fitted `nn` object holds, per training repetition, a list of weight matrices
# (`weights[[rep]][[layer]]`, shape (1 + inputs, outputs), the first row being the
# bias), the repetitions' errors in `result.matrix["error", ]`, the activation
# function with attribute "type" ("logistic", "tanh", "relu" or "function" for a
# custom one), since neuralnet 1.44 a separate output activation `output.act.fct`
# (default "logistic", used only when `linear.output = FALSE`), `linear.output`
# (no activation on the output layer) and the variable names in `model.list`.
# neuralnet's forward pass (predict.nn) is
#   h <- act(cbind(1, h) %*% W)       per hidden layer,
#   y <- out_act(cbind(1, h) %*% W)   (no out_act if linear.output; out_act is
#                                     output.act.fct, or act.fct when that is NULL),
# which is exactly a chain of Dense layers with weight t(W[-1, ]) and bias W[1, ].
#
# Repetitions that did not converge keep a NULL entry in `weights` but have no
# column in `result.matrix`: the columns belong to the non-NULL entries, in order.

neuralnet_to_list <- function(model, call = parent.frame()) {
  abort_nn <- function(msg, .envir = parent.frame()) {
    innsight_abort(msg, kind = "model", call = call, .envir = .envir)
  }
  rm <- model$result.matrix
  if (is.null(rm) || is.null(model$weights) || length(model$weights) == 0) {
    abort_nn(c("The {.pkg neuralnet} model has not been fitted (it has no {.field result.matrix}).",
               "i" = "Train it first; if no repetition converged, raise {.arg stepmax} or {.arg threshold} in {.fn neuralnet}."))
  }
  nn_act <- function(fct, field) {
    type <- attr(fct, "type")
    if (!is.character(type) || length(type) != 1 || !type %in% c("logistic", "tanh", "relu")) {
      abort_nn(c("The {.pkg neuralnet} model uses a custom activation function ({.field {field}} of type {.val {format(type %||% 'unknown')}}).",
                 "i" = "Only {.code {field} = \"logistic\"}, {.code \"tanh\"} and {.code \"relu\"} can be converted."))
    }
    switch(type, logistic = "sigmoid", tanh = "tanh", relu = "relu")
  }
  act <- nn_act(model$act.fct, "act.fct")
  # The output layer uses `output.act.fct`, not `act.fct` (neuralnet >= 1.44; its
  # default is "logistic" whatever `act.fct` is, so a tanh network fitted with
  # linear.output = FALSE has logistic outputs). Objects from older versions have
  # no such field; predict.nn() then applies `act.fct`, and so do we.
  out_act <- if (isTRUE(model$linear.output)) {
    "linear"
  } else if (!is.null(model$output.act.fct)) {
    nn_act(model$output.act.fct, "output.act.fct")
  } else {
    act
  }

  # The repetition with the smallest error. Repetitions that did not converge are
  # NULL in `weights` and have no column in `result.matrix`, so the columns are
  # mapped to the fitted entries (indexing `weights` by column failed as soon as one
  # repetition of several had not converged).
  rm <- as.matrix(rm)
  errors <- if ("error" %in% rownames(rm)) rm["error", ] else rm[1, ]
  best <- which.min(as.numeric(errors))
  fitted <- which(!vapply(model$weights, is.null, logical(1)))
  if (ncol(rm) != length(fitted) || length(best) != 1) {
    abort_nn("The {.pkg neuralnet} model's {.field result.matrix} does not match its {.field weights} ({ncol(rm)} repetition{?s} vs {length(fitted)}).")
  }
  weights <- model$weights[[fitted[best]]]
  if (!is.list(weights) || length(weights) == 0) {
    abort_nn("The {.pkg neuralnet} model's {.field weights} must be a list of weight matrices per repetition.")
  }

  n_in <- if (!is.null(model$covariate)) NCOL(model$covariate) else NROW(weights[[1]]) - 1
  n_layers <- length(weights)
  layers <- vector("list", n_layers)
  prev <- n_in
  for (i in seq_len(n_layers)) {
    W <- weights[[i]]
    if (!is.matrix(W) || !is.numeric(W) || nrow(W) != prev + 1 || ncol(W) < 1) {
      abort_nn(c("The weights of layer {i} of the {.pkg neuralnet} model do not fit.",
                 "x" = "Expected a numeric matrix with {prev + 1} rows (bias + {prev} input{?s}); got {.obj_type_friendly {W}}{if (is.matrix(W)) paste0(' of dimension ', nrow(W), ' x ', ncol(W)) else ''}."))
    }
    # weights excluded from training (neuralnet's `exclude`) are NA: no connection
    W[is.na(W)] <- 0
    last <- i == n_layers
    layers[[i]] <- list(
      type = "Dense",
      weight = t(unname(W[-1, , drop = FALSE])),
      bias = as.vector(W[1, ]),
      activation_name = if (last) out_act else act,
      dim_in = prev, dim_out = ncol(W),
      input_layers = i - 1L,
      output_layers = if (last) -1L else i + 1L
    )
    prev <- ncol(W)
  }
  n_out <- prev

  in_names <- model$model.list$variables
  if (length(in_names) != n_in) in_names <- colnames(model$covariate)
  out_names <- model$model.list$response
  if (length(out_names) != n_out) out_names <- colnames(model$response)
  list(
    input_dim = n_in,
    input_nodes = 1L,
    output_nodes = n_layers,
    output_dim = n_out,
    layers = layers,
    input_names = if (length(in_names) == n_in && !anyNA(in_names)) as.character(in_names),
    output_names = if (length(out_names) == n_out && !anyNA(out_names)) as.character(out_names)
  )
}
