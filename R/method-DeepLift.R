#' Deep Learning Important Features (DeepLift)
#'
#' @description
#' DeepLift explains the difference between the output for an instance `x` and
#' for a reference `x_ref` by contributions of the input differences
#' \eqn{x_i - x'_i}. Multipliers are passed back through the network (as with
#' the chain rule, but with secant slopes \eqn{\Delta y / \Delta z} of the
#' activations instead of their derivatives), and the contributions are the
#' multipliers times \eqn{x - x'}. They sum exactly to the difference of the
#' outputs (summation to delta),
#' \deqn{\sum_i C(x_i) = f(x)_j - f(x')_j,}{sum_i C(x_i) = f(x)_j - f(x')_j,}
#' which the field `decomp_goal` holds (the pre-activations with
#' `ignore_last_act = TRUE`).
#'
#' @details
#' Two rules handle the non-linear activations of dense and convolutional
#' layers:
#' * `"rescale"` (default): one multiplier \eqn{\Delta y / \Delta z} per unit;
#' * `"reveal_cancel"`: positive and negative parts of \eqn{\Delta z} get
#'   their own multipliers, so that cancelling effects are kept apart.
#'
#' Max-pooling layers pass the multipliers to each window's maximum
#' (`winner_takes_all = TRUE`); summation to delta then only holds where the
#' maxima of `x` and `x_ref` are at the same position. With
#' `winner_takes_all = FALSE` they are treated as (rescaled) average pooling,
#' which keeps summation to delta.
#'
#' DeepLift has no rule parameter: passing `rule_param` is an error.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @param rule_name (`character(1)`)\cr `"rescale"` (default) or
#'   `"reveal_cancel"`.
#' @param x_ref (`array`, `data.frame`, `list` or `NULL`)\cr The reference,
#'   a single instance shaped like one row of `data` (one array per input
#'   layer). Default (`NULL`): zeros.
#' @template param-winner_takes_all
#' @template param-verbose
#' @template param-dtype
#' @references
#' A. Shrikumar et al. (2017) *Learning important features through propagating
#' activation differences.* ICML 2017, PMLR 70, pp. 3145-3153
#' @family methods
#' @examples
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "tanh", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' dl <- DeepLift$new(conv, x)
#' get_result(dl)
#' # the contributions sum to f(x) - f(x_ref)
#' apply(get_result(dl), c(1, 3), sum) - dl$decomp_goal[[1]]
#' # the reveal-cancel rule with the mean instance as reference
#' run_deeplift(conv, x, rule_name = "reveal_cancel", x_ref = matrix(colMeans(x), 1))
#' @export
DeepLift <- R6::R6Class("DeepLift",
  inherit = InterpretingMethod,
  public = list(
    #' @field rule_name The rule for the activations (`"rescale"` or
    #'   `"reveal_cancel"`).
    rule_name = NULL,
    #' @field x_ref The reference (list of arrays, one per input layer).
    x_ref = NULL,

    #' @description Compute the contributions.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, rule_name = "rescale", x_ref = NULL,
                          winner_takes_all = TRUE, verbose = interactive(), dtype = "float") {
      call <- parent.frame() # the frame of `$new()`: errors name the user's call
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data", call = call)
      check_choice(rule_name, deeplift_rules, "rule_name", call = call)
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       winner_takes_all, verbose, dtype)
      self$rule_name <- rule_name
      self$x_ref <- prepare_x_ref(x_ref, converter, channels_first, "DeepLift", call)
      private$x_ref_data <- self$x_ref
      private$run(list(method = "deep_lift", rule = rule_name, winner_takes_all = winner_takes_all))
    }
  ),
  private = list(
    method_name = "DeepLift",
    value_name = "Contribution",
    print_fields = function() {
      list(rule_name = self$rule_name, winner_takes_all = self$winner_takes_all, x_ref = fmt_ref(self$x_ref))
    }
  )
)

# The rules of DeepLift and DeepSHAP.
deeplift_rules <- c("rescale", "reveal_cancel")
