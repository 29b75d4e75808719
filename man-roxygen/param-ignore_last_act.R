#' @param ignore_last_act (`logical(1)`)\cr Explain the output layers' values before their last activation (e.g. the logits instead of softmax probabilities). Default `TRUE`.
