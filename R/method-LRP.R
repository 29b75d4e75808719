#' Layer-wise Relevance Propagation (LRP)
#'
#' @description
#' LRP decomposes an output of the model into relevance scores of the input
#' features, \eqn{f(x)_j \approx \sum_i R_i}{f(x)_j ~ sum_i R_i}, by passing the output value back
#' through the network layer by layer. Each layer hands the relevance of its
#' outputs to its inputs according to a *rule*; without biases most rules keep
#' the total relevance (conservation), with biases the decomposition is
#' approximate. The starting value is the explained output (its pre-activation
#' with `ignore_last_act = TRUE`; with `ignore_last_act = FALSE` and a softmax or
#' sigmoid output the activated output minus 0.5, so that zero relevance means a
#' probability of 0.5). It is stored in the field `decomp_goal`.
#'
#' @details
#' ## Rules
#' With \eqn{z_j = \sum_i x_i w_{ij} + b_j} the pre-activation of a dense or
#' convolutional layer and \eqn{R_j} the relevance of its output \eqn{j}:
#' * `"simple"`: \eqn{R_i = \sum_j x_i w_{ij} R_j / z_j}{R_i = sum_j x_i w_ij R_j / z_j}
#'   (the z-rule).
#' * `"epsilon"`: \eqn{R_i = \sum_j x_i w_{ij} R_j / (z_j + \epsilon \cdot sign(z_j))}{R_i = sum_j x_i w_ij R_j / (z_j + epsilon sign(z_j))};
#'   `rule_param` is \eqn{\epsilon} (default 0.001).
#' * `"alpha_beta"`: positive and negative contributions are weighted
#'   separately, \eqn{\alpha R^+ - \beta R^-} with \eqn{\beta = \alpha - 1};
#'   `rule_param` is \eqn{\alpha} (default 0.5). The biases belong to the
#'   positive and negative parts.
#' * `"gamma"`: positive weights are boosted, \eqn{w + \gamma w^+};
#'   `rule_param` is \eqn{\gamma} (default 0.25).
#' * `"zplus"`: only positive contributions count (\eqn{z^+}-rule).
#' * `"flat"`: the relevance is spread evenly over the receptive field
#'   (weights and inputs set to one).
#' * `"wsquare"`: the relevance is spread in proportion to the squared weights.
#' * `"zbox"`: the \eqn{z^{\mathcal{B}}}{z^B}-rule for inputs bounded by `low` and
#'   `high`; `rule_param` is `list(low = <number>, high = <number>)` (no default).
#' * `"pass"`: the relevance passes unchanged; only for batch normalisation
#'   layers (`BatchNorm_Layer`).
#'
#' Batch normalisation and average-pooling layers accept `"simple"`,
#' `"epsilon"` and `"alpha_beta"` (batch normalisation also `"pass"`);
#' `"gamma"`, `"zplus"`, `"flat"`, `"wsquare"` and `"zbox"` apply to dense and
#' convolutional layers only. Max-pooling layers route the relevance to the
#' maximum of each window (`winner_takes_all = TRUE`, their rule is then
#' ignored) or are treated as average pooling (`FALSE`). Activation functions
#' pass the relevance unchanged; an `Add` layer splits it in proportion to the
#' summands' contributions.
#'
#' ## Choosing rules per layer type
#' `rule_name` is either one rule for all layers (`"gamma"`, `"zplus"`,
#' `"flat"`, `"wsquare"` and `"zbox"` then apply to the dense and convolutional
#' layers, the others use `"simple"`), or a named list that maps the layer
#' classes `Dense_Layer`, `Conv1D_Layer`, `Conv2D_Layer`, `BatchNorm_Layer`,
#' `AvgPool1D_Layer`, `AvgPool2D_Layer`, `MaxPool1D_Layer` and
#' `MaxPool2D_Layer` to rules; classes not in the list use `"simple"`, e.g.
#' `list(Dense_Layer = "epsilon", Conv2D_Layer = "alpha_beta")`. `rule_param`
#' is then `NULL` (the defaults), one number for all rules that take one, or a
#' named list with the same keys (missing keys use the defaults).
#'
#' ## Presets
#' The composites of Montavon et al. (2019), as in the Python library zennit,
#' are chosen by name:
#' * `"EpsilonPlus"`: `"epsilon"` for dense, `"zplus"` for convolutional layers;
#' * `"EpsilonPlusFlat"`: as `"EpsilonPlus"`, but `"flat"` for the first
#'   dense or convolutional layer;
#' * `"EpsilonGammaBox"`: `"epsilon"` for dense, `"gamma"` for convolutional
#'   layers and `"zbox"` for the first layer; needs the bounds of the input,
#'   `rule_param = list(low = <number>, high = <number>)`;
#' * `"EpsilonAlpha2Beta1"`: `"epsilon"` for dense, `"alpha_beta"` with
#'   \eqn{\alpha = 2} for convolutional layers.
#'
#' @template param-converter
#' @template param-data
#' @template param-channels_first
#' @template param-output_idx
#' @template param-output_label
#' @template param-ignore_last_act
#' @param rule_name (`character(1)` or `list`)\cr The rule: `"simple"`
#'   (default), `"epsilon"`, `"alpha_beta"`, `"gamma"`, `"zplus"`, `"flat"`,
#'   `"wsquare"` or `"zbox"` for all layers; a named list of rules per layer
#'   class; or a preset (`"EpsilonPlus"`, `"EpsilonPlusFlat"`,
#'   `"EpsilonGammaBox"`, `"EpsilonAlpha2Beta1"`). See the sections above.
#' @param rule_param (`numeric(1)`, `list` or `NULL`)\cr The rule's parameter:
#'   \eqn{\epsilon} for `"epsilon"` (default 0.001), \eqn{\alpha} for
#'   `"alpha_beta"` (default 0.5), \eqn{\gamma} for `"gamma"` (default 0.25),
#'   `list(low = , high = )` for `"zbox"` and `"EpsilonGammaBox"`; or a named
#'   list per layer class. `NULL` (default) uses the defaults. Ignored by rules
#'   without a parameter.
#' @template param-winner_takes_all
#' @template param-verbose
#' @template param-dtype
#' @references
#' S. Bach et al. (2015) *On pixel-wise explanations for non-linear classifier
#' decisions by layer-wise relevance propagation.* PLoS ONE 10, p. 1-46
#'
#' G. Montavon et al. (2019) *Layer-wise relevance propagation: an overview.*
#' In: Explainable AI: Interpreting, Explaining and Visualizing Deep Learning,
#' LNCS 11700, Springer, pp. 193-209
#' @family methods
#' @examples
#' # a small model in innsight's list format: 3 inputs, 4 hidden units, 2 outputs
#' model <- list(input_dim = 3, input_nodes = 1, output_nodes = 2, layers = list(
#'   list(type = "Dense", weight = matrix(rnorm(12), 4, 3), bias = rnorm(4),
#'        activation_name = "relu", input_layers = 0, output_layers = 2),
#'   list(type = "Dense", weight = matrix(rnorm(8), 2, 4), bias = rnorm(2),
#'        activation_name = "softmax", input_layers = 1, output_layers = -1)))
#' conv <- convert(model)
#' x <- matrix(rnorm(15), 5, 3)
#' lrp <- LRP$new(conv, x)
#' get_result(lrp)
#' # the epsilon rule with epsilon = 0.1
#' run_lrp(conv, x, rule_name = "epsilon", rule_param = 0.1)
#' # alpha-beta with alpha = 2 (i.e. beta = 1), explaining the probabilities
#' run_lrp(conv, x, rule_name = "alpha_beta", rule_param = 2, ignore_last_act = FALSE)
#' # rules per layer class
#' run_lrp(conv, x, rule_name = list(Dense_Layer = "epsilon"),
#'         rule_param = list(Dense_Layer = 0.01))
#' # a preset; the data lie in [-3, 3]
#' run_lrp(conv, x, rule_name = "EpsilonGammaBox", rule_param = list(low = -3, high = 3))
#' @export
LRP <- R6::R6Class("LRP",
  inherit = InterpretingMethod,
  public = list(
    #' @field rule_name The rule (a string or a named list per layer class) as
    #'   passed to `$new()`.
    rule_name = NULL,
    #' @field rule_param The rule parameter(s) as passed to `$new()` (`NULL`:
    #'   the defaults).
    rule_param = NULL,

    #' @description Compute the relevances.
    initialize = function(converter, data, channels_first = TRUE, output_idx = NULL, output_label = NULL,
                          ignore_last_act = TRUE, rule_name = "simple", rule_param = NULL,
                          winner_takes_all = TRUE, verbose = interactive(), dtype = "float") {
      call <- parent.frame() # the frame of `$new()`: errors name the user's call
      if (missing(data)) innsight_abort("Argument {.arg data} is missing, with no default.", kind = "data", call = call)
      super$initialize(converter, data, channels_first, output_idx, output_label, ignore_last_act,
                       winner_takes_all, verbose, dtype)
      private$rules <- lrp_rules(rule_name, rule_param, call)
      self$rule_name <- rule_name
      self$rule_param <- rule_param
      private$run(c(list(method = "lrp"), private$rules, list(winner_takes_all = winner_takes_all)))
    }
  ),
  private = list(
    method_name = "LRP",
    value_name = "Relevance",
    # the translated rules (see lrp_rules())
    rules = NULL,
    print_fields = function() {
      c(fmt_lrp_rules(private$rules), list(winner_takes_all = self$winner_takes_all))
    }
  )
)

# ---- Rules: the catalogue ----------------------------------------------------------

# Every rule with the kind of parameter it takes and its default: the one place
# where the defaults live.
lrp_rule_table <- list(
  simple = list(param = "none"),
  epsilon = list(param = "number", default = 0.001, min = 0, symbol = "epsilon"),
  alpha_beta = list(param = "number", default = 0.5, min = -Inf, symbol = "alpha"),
  gamma = list(param = "number", default = 0.25, min = 0, symbol = "gamma"),
  zplus = list(param = "none"),
  flat = list(param = "none"),
  wsquare = list(param = "none"),
  zbox = list(param = "bounds"),
  pass = list(param = "none")
)

# Layer classes (innsight's keys) and the rules each accepts.
lrp_basic_rules <- c("simple", "epsilon", "alpha_beta")
lrp_linear_rules <- c("gamma", "zplus", "flat", "wsquare", "zbox")
lrp_layer_rules <- list(
  Dense_Layer = c(lrp_basic_rules, lrp_linear_rules),
  Conv1D_Layer = c(lrp_basic_rules, lrp_linear_rules),
  Conv2D_Layer = c(lrp_basic_rules, lrp_linear_rules),
  BatchNorm_Layer = c(lrp_basic_rules, "pass"),
  AvgPool1D_Layer = lrp_basic_rules,
  AvgPool2D_Layer = lrp_basic_rules,
  MaxPool1D_Layer = lrp_basic_rules,
  MaxPool2D_Layer = lrp_basic_rules
)

# Named rule assignments (zennit's composites); EpsilonGammaBox needs input bounds.
lrp_presets <- c("EpsilonPlus", "EpsilonPlusFlat", "EpsilonGammaBox", "EpsilonAlpha2Beta1")
lrp_presets_with_bounds <- "EpsilonGammaBox"

# ---- Rules: arguments -> the core's description --------------------------------------

# Check `rule_name`/`rule_param` and translate them into the fields of the core's
# LRP description: `rules` (entries tried in order, first match wins; unmatched
# layers use "simple"), `composite` (a preset's name or NULL) and, for
# EpsilonGammaBox, the bounds (see lrp_preset()).
lrp_rules <- function(rule_name, rule_param, call = parent.frame()) {
  if (is.character(rule_name) && length(rule_name) == 1 && is.null(names(rule_name)) &&
        !is.na(rule_name) && rule_name %in% lrp_presets) {
    return(lrp_preset(rule_name, rule_param, call))
  }
  per_class <- lrp_check_rule_name(rule_name, call)
  params <- lrp_check_rule_param(rule_param, call)
  if (is.null(per_class)) {
    # one rule for all layers (the new rules only for dense and conv layers), with
    # optional per-class parameters tried first
    rule <- rule_name
    fallback <- if (rule %in% lrp_linear_rules) "linear" else "any"
    keyed <- if (params$keyed) params$value else list()
    entries <- lapply(names(keyed), function(key) {
      lrp_check_rule_for_class(rule, key, call)
      lrp_entry(key, rule, keyed[[key]], key, call)
    })
    all_param <- if (params$keyed) NULL else params$value
    entries <- c(entries, list(lrp_entry(fallback, rule, all_param, NULL, call)))
  } else {
    entries <- lapply(names(per_class), function(key) {
      p <- if (params$keyed) params$value[[key]] else params$value
      lrp_entry(key, per_class[[key]], p, key, call)
    })
  }
  list(rules = entries, composite = NULL)
}

# A preset: no entries; EpsilonGammaBox carries the input bounds at the top level
# of the LRP description (the one place that decides where they go).
lrp_preset <- function(name, rule_param, call) {
  if (!name %in% lrp_presets_with_bounds) {
    if (!is.null(rule_param)) {
      innsight_abort(c("{.arg rule_param} is not used by the preset {.val {name}}.",
                       "i" = "Leave it {.code NULL}."), call = call)
    }
    return(list(rules = list(), composite = name))
  }
  if (is.null(rule_param)) {
    innsight_abort(c("The preset {.val {name}} needs the bounds of the input data.",
                     "i" = "Pass {.code rule_param = list(low = <number>, high = <number>)}."), call = call)
  }
  b <- lrp_bounds(rule_param, name, call)
  list(rules = list(), composite = name, low = b$low, high = b$high)
}

# One entry of the core's rule list.
lrp_entry <- function(match, rule, param, key, call) {
  kind <- lrp_rule_table[[rule]]$param
  where <- if (is.null(key)) "" else paste0(" for ", key)
  entry <- list(match = match, rule = rule, param = NULL, low = NULL, high = NULL)
  if (kind == "number") {
    entry["param"] <- list(lrp_number(param, rule, where, call))
  } else if (kind == "bounds") {
    if (is.null(param)) {
      innsight_abort(c("The rule {.val zbox}{where} needs the bounds of its input.",
                       "i" = "Pass {.code rule_param = list(low = <number>, high = <number>)}."), call = call)
    }
    b <- lrp_bounds(param, paste0("the rule \"zbox\"", where), call)
    entry["low"] <- list(b$low)
    entry["high"] <- list(b$high)
  }
  entry
}

lrp_number <- function(param, rule, where, call) {
  info <- lrp_rule_table[[rule]]
  if (is.null(param)) return(info$default)
  if (!is.numeric(param) || length(param) != 1 || !is.finite(param) || param < info$min) {
    lower <- if (is.finite(info$min)) paste0(" of at least ", info$min) else ""
    innsight_abort(c("{.arg rule_param}{where} ({info$symbol} of the rule {.val {rule}}) must be a single finite number{lower}.",
                     "x" = "Got {fmt_got(param)}."), call = call)
  }
  param
}

is_bounds <- function(x) {
  (is.list(x) || is.numeric(x)) && length(x) == 2 && !is.null(names(x)) && setequal(names(x), c("low", "high"))
}

lrp_bounds <- function(x, what, call) {
  ok <- is_bounds(x) && all(vapply(x, function(v) is.numeric(v) && length(v) == 1 && is.finite(v), logical(1)))
  if (!ok) {
    innsight_abort(c("{.arg rule_param} for {what} must be {.code list(low = <number>, high = <number>)}, the bounds of the input.",
                     "x" = "Got {fmt_got(x)}."), call = call)
  }
  low <- as.numeric(x[["low"]])
  high <- as.numeric(x[["high"]])
  if (low >= high) {
    innsight_abort("{.arg rule_param} for {what}: {.code low} ({low}) must be smaller than {.code high} ({high}).",
                   call = call)
  }
  list(low = low, high = high)
}

# NULL for a single rule (checked), else the named list of rules per class.
lrp_check_rule_name <- function(rule_name, call) {
  all_rules <- c(lrp_basic_rules, lrp_linear_rules)
  if (is.character(rule_name) && length(rule_name) == 1 && is.null(names(rule_name))) {
    if (identical(rule_name, "pass")) {
      innsight_abort(c("The rule {.val pass} is only available for batch normalisation layers.",
                       "i" = "Use {.code rule_name = list(BatchNorm_Layer = \"pass\")}."), call = call)
    }
    if (is.na(rule_name) || !rule_name %in% all_rules) {
      innsight_abort(c("{.arg rule_name} must be one of {.or {.val {c(all_rules, lrp_presets)}}}, or a named list of rules per layer class.",
                       "x" = "Got {fmt_got(rule_name)}."), call = call)
    }
    return(NULL)
  }
  if (is.character(rule_name) && !is.null(names(rule_name))) rule_name <- as.list(rule_name)
  if (!is.list(rule_name) || is.data.frame(rule_name)) {
    innsight_abort(c("{.arg rule_name} must be a single rule name or a named list of rules per layer class.",
                     "x" = "Got {.obj_type_friendly {rule_name}}."), call = call)
  }
  lrp_check_keys(rule_name, "rule_name", call)
  for (key in names(rule_name)) {
    rule <- rule_name[[key]]
    if (!is.character(rule) || length(rule) != 1 || is.na(rule) || !rule %in% c(all_rules, "pass")) {
      innsight_abort(c("{.arg rule_name${key}} must be one of {.or {.val {lrp_layer_rules[[key]]}}}.",
                       "x" = "Got {fmt_got(rule)}."), call = call)
    }
    lrp_check_rule_for_class(rule, key, call)
  }
  rule_name
}

lrp_check_rule_for_class <- function(rule, key, call) {
  if (!rule %in% lrp_layer_rules[[key]]) {
    hint <- if (rule == "pass") "The rule {.val pass} is only available for {.code BatchNorm_Layer}." else
      "{.code {key}} accepts {.or {.val {lrp_layer_rules[[key]]}}}."
    innsight_abort(c("The rule {.val {rule}} cannot be used for {.code {key}}.", "i" = hint), call = call)
  }
  invisible(rule)
}

# Names of a per-class list: all present, distinct and known layer classes.
lrp_check_keys <- function(x, arg, call) {
  keys <- names(x)
  if (length(x) > 0 && (is.null(keys) || anyNA(keys) || any(keys == ""))) {
    innsight_abort(c("Every entry of {.arg {arg}} must be named by a layer class.",
                     "i" = "Layer classes: {.val {names(lrp_layer_rules)}}."), call = call)
  }
  unknown <- setdiff(keys, names(lrp_layer_rules))
  if (length(unknown) > 0) {
    innsight_abort(c("{.arg {arg}} has unknown layer class{?es} {.val {unknown}}.",
                     "i" = "Layer classes: {.val {names(lrp_layer_rules)}}."), call = call)
  }
  if (anyDuplicated(keys)) {
    innsight_abort("{.arg {arg}} names the layer class {.val {keys[duplicated(keys)]}} more than once.", call = call)
  }
  invisible(x)
}

# list(keyed = <whether per class>, value = <NULL, number, bounds or per-class list>)
lrp_check_rule_param <- function(rule_param, call) {
  if (is.null(rule_param) || is_bounds(rule_param)) return(list(keyed = FALSE, value = rule_param))
  if (is.numeric(rule_param) && length(rule_param) == 1 && is.null(names(rule_param))) {
    return(list(keyed = FALSE, value = rule_param))
  }
  if (is.list(rule_param) && !is.data.frame(rule_param)) {
    lrp_check_keys(rule_param, "rule_param", call)
    for (key in names(rule_param)) {
      p <- rule_param[[key]]
      if (!is.null(p) && !is_bounds(p) && !(is.numeric(p) && length(p) == 1)) {
        innsight_abort(c("{.arg rule_param${key}} must be {.code NULL}, a single number or {.code list(low = , high = )}.",
                         "x" = "Got {.obj_type_friendly {p}}."), call = call)
      }
    }
    return(list(keyed = TRUE, value = rule_param))
  }
  innsight_abort(c("{.arg rule_param} must be {.code NULL}, a single number, {.code list(low = , high = )} or a named list per layer class.",
                   "x" = "Got {.obj_type_friendly {rule_param}}."), call = call)
}

# A short description of a wrong value for error messages (pre-formatted text).
fmt_got <- function(x) {
  if (is.atomic(x) && length(x) == 1 && is.null(names(x))) cli::format_inline("{.val {x}}") else
    cli::format_inline("{.obj_type_friendly {x}}")
}

# ---- Rules: print ----------------------------------------------------------------------

fmt_lrp_entry <- function(e) {
  p <- if (!is.null(e$param)) paste0(" (", lrp_rule_table[[e$rule]]$symbol, " = ", format(e$param), ")") else
    if (!is.null(e$low)) paste0(" (low = ", format(e$low), ", high = ", format(e$high), ")") else ""
  paste0(e$rule, p)
}

fmt_lrp_rules <- function(rules) {
  if (!is.null(rules$composite)) {
    bounds <- if (!is.null(rules$low)) paste0("low = ", format(rules$low), ", high = ", format(rules$high)) else "none"
    return(list(rule_name = paste0(rules$composite, " (preset)"), rule_param = bounds))
  }
  entries <- rules$rules
  what <- c(any = "all layers", linear = "dense and convolutional layers")
  txt <- vapply(entries, function(e) {
    if (e$match %in% names(what)) paste0(fmt_lrp_entry(e), " for ", what[[e$match]]) else
      paste0(e$match, ": ", fmt_lrp_entry(e))
  }, character(1))
  if (!any(vapply(entries, function(e) e$match == "any", logical(1)))) txt <- c(txt, "other layers: simple")
  list(rule_name = paste(txt, collapse = "; "))
}
