#' Connection Weights
#'
#' @description
#' Olden's connection weights method measures the importance of the input
#' features by the products of the weights along all paths from an input to an
#' output node, summed over the paths. For a dense network this is the matrix
#' product \eqn{W_L \cdots W_2 W_1}{W_L ... W_2 W_1}; convolution, pooling, batch normalisation
#' and the other layers are handled through their linear maps. Activations and
#' biases are ignored.
#'
#' * Global (`times_input = FALSE`, default): the importance does not depend on
#'   an instance. `data` is not needed (and ignored, with a message, if given);
#'   the result has one row, and `preds` and `decomp_goal` hold `NULL`.
#' * Local (`times_input = TRUE`): the global importance times the input,
#'   for every instance of `data` (then required); `preds` holds the model's
#'   outputs for `data`, `decomp_goal` stays `NULL`.
#'
#' The method explains the model's linear structure, so it has no
#' `ignore_last_act` argument (the field is `FALSE`). Max-pooling layers pass
#' the signal to one position per window; an `Add` layer passes it unchanged
#' to every summand.
#'
#' @template param-converter
#' @param data (`array`, `data.frame`, `list` or `NULL`)\cr The data for the
#'   local method (`times_input = TRUE`), with the batch axis first: an array,
#'   matrix or data frame for a model with one input layer, or a list of
#'   arrays (one per input layer). Not used by the global method.
#' @template param-output_idx
#' @template param-output_label
#' @template param-channels_first
#' @param times_input (`logical(1)`)\cr Multiply the global importance by the
#'   input (local Connection Weights). Default `FALSE`.
#' @template param-verbose
#' @template param-dtype
#' @references
#' J. D. Olden & D. A. Jackson (2002) *Illuminating the "black box": a
#' randomization approach for understanding variable contributions in
#' artificial neural networks.* Ecological Modelling 154, pp. 135-150
#'
#' J. D. Olden et al. (2004) *An accurate comparison of methods for
#' quantifying variable importance in artificial neural networks using
#' simulated data.* Ecological Modelling 178, pp. 389-397
#' @family methods
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' # global: one importance per input feature and output node
#' cw <- ConnectionWeights$new(conv)
#' get_result(cw)
#' # the product of the weight matrices
#' t(model$layers[[2]]$weight %*% model$layers[[1]]$weight)
#' # local: times the input
#' x <- matrix(rnorm(15), 5, 3)
#' run_cw(conv, x, times_input = TRUE)
#' @export
ConnectionWeights <- R6::R6Class("ConnectionWeights",
  inherit = InterpretingMethod,
  public = list(
    #' @field times_input Whether the importance is multiplied by the input
    #'   (local method).
    times_input = NULL,

    #' @description Compute the connection weights.
    initialize = function(converter, data = NULL, output_idx = NULL, output_label = NULL,
                          channels_first = TRUE, times_input = FALSE, verbose = interactive(),
                          dtype = "float") {
      call <- parent.frame() # the frame of `$new()`: errors name the user's call
      check_flag(times_input, call = call)
      if (times_input && is.null(data)) {
        innsight_abort(c("The local method ({.code times_input = TRUE}) needs {.arg data}.",
                         "i" = "Pass the instances to explain, or use {.code times_input = FALSE} for the global method."),
                       kind = "data", call = call)
      }
      if (!times_input && !is.null(data)) {
        cli::cli_inform(c("i" = "{.arg data} is ignored by the global method ({.code times_input = FALSE})."),
                        class = "innsight_message")
        data <- NULL
      }
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act = FALSE,
                       winner_takes_all = TRUE, verbose = verbose, dtype = dtype)
      self$times_input <- times_input
      private$run(list(method = "connection_weights", times_input = times_input))
    }
  ),
  private = list(
    method_name = "ConnectionWeights",
    value_name = "Relative Importance",
    print_fields = function() {
      list(times_input = if (self$times_input) "TRUE (local: times the input)" else "FALSE (global)")
    }
  )
)
