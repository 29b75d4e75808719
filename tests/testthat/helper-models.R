# Small list models with random weights (fixed seeds) and numeric helpers shared by
# the test files. Everything here is independent of the package internals: the
# reference values in the tests are computed from these weights with plain R.

# Run `expr` with a fixed seed without disturbing the caller's RNG stream.
with_seed <- function(seed, expr) {
  old <- if (exists(".Random.seed", envir = globalenv())) get(".Random.seed", envir = globalenv()) else NULL
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", old, envir = globalenv()))
  set.seed(seed)
  expr
}

rand_w <- function(...) array(stats::rnorm(prod(c(...)), sd = 0.5), dim = c(...))

dense_layer <- function(w, b, act, inp, out) {
  list(type = "Dense", weight = w, bias = b, activation_name = act,
       input_layers = inp, output_layers = out)
}

# One Dense layer 4 -> 3: the closed-form reference for Gradient.
make_one_layer_model <- function(act = "softmax", seed = 11) {
  with_seed(seed, {
    W <- rand_w(3, 4)
    b <- stats::rnorm(3, sd = 0.5)
  })
  list(input_dim = 4, input_nodes = 1, output_nodes = 1,
       layers = list(dense_layer(W, b, act, 0, -1)),
       W = W, b = b)
}

# Dense MLP 4 -> 6 (tanh) -> 5 (softplus) -> 3 (softmax); smooth everywhere, so
# central finite differences are accurate.
make_mlp_model <- function(seed = 1) {
  with_seed(seed, {
    layers <- list(
      dense_layer(rand_w(6, 4), stats::rnorm(6, sd = 0.3), "tanh", 0, 2),
      dense_layer(rand_w(5, 6), stats::rnorm(5, sd = 0.3), "softplus", 1, 3),
      dense_layer(rand_w(3, 5), stats::rnorm(3, sd = 0.3), "softmax", 2, -1)
    )
  })
  list(input_dim = 4, input_nodes = 1, output_nodes = 3, layers = layers)
}

# Two inputs (3 and 5 features), two outputs (3 softmax classes, 3 linear nodes):
#   L1 Dense(in1) ----+--------------------------+
#                     +-> L3 Concat -> L4 Dense -+-> L5 Add -> L6 Dense softmax = Output 1
#   L2 Dense(in2) ----+
#                     +-> L7 Dense linear = Output 2   (input 1 is not connected)
make_graph_model <- function(seed = 2) {
  with_seed(seed, {
    layers <- list(
      dense_layer(rand_w(4, 3), stats::rnorm(4, sd = 0.3), "tanh", 0, c(3, 5)),
      dense_layer(rand_w(4, 5), stats::rnorm(4, sd = 0.3), "tanh", 0, c(3, 7)),
      list(type = "Concatenate", axis = 2, input_layers = c(1, 2), output_layers = 4),
      dense_layer(rand_w(4, 8), stats::rnorm(4, sd = 0.3), "tanh", 3, 5),
      list(type = "Add", input_layers = c(1, 4), output_layers = 6),
      dense_layer(rand_w(3, 4), stats::rnorm(3, sd = 0.3), "softmax", 5, -1),
      dense_layer(rand_w(3, 4), stats::rnorm(3, sd = 0.3), "linear", 2, -1)
    )
  })
  list(input_dim = list(3, 5), input_nodes = c(1, 2), output_nodes = c(6, 7), layers = layers,
       input_names = list(list(c("a1", "a2", "a3")), list(paste0("b", 1:5))),
       output_names = list(list(c("cat", "dog", "fish")), list(c("r1", "r2", "r3"))))
}

# Conv1D on (C = 3, L = 16):
# Conv1D(3->4, k 3, softplus) (4,14) -> MaxPool1D(2) (4,7) -> Conv1D(4->2, k 2, tanh) (2,6)
# -> AvgPool1D(2) (2,3) -> Flatten (6) -> Dense(6->2, sigmoid)
make_conv1d_model <- function(seed = 3) {
  with_seed(seed, {
    layers <- list(
      list(type = "Conv1D", weight = rand_w(4, 3, 3), bias = stats::rnorm(4, sd = 0.2),
           activation_name = "softplus", input_layers = 0, output_layers = 2),
      list(type = "MaxPooling1D", kernel_size = 2, input_layers = 1, output_layers = 3),
      list(type = "Conv1D", weight = rand_w(2, 4, 2), bias = stats::rnorm(2, sd = 0.2),
           activation_name = "tanh", input_layers = 2, output_layers = 4),
      list(type = "AveragePooling1D", kernel_size = 2, input_layers = 3, output_layers = 5),
      list(type = "Flatten", input_layers = 4, output_layers = 6),
      dense_layer(rand_w(2, 6), stats::rnorm(2, sd = 0.2), "sigmoid", 5, -1)
    )
  })
  list(input_dim = c(3, 16), input_nodes = 1, output_nodes = 6, layers = layers)
}

# Conv2D on (C = 3, H = 8, W = 8):
# Conv2D(3->4, 3x3, pad 1, softplus) (4,8,8) -> MaxPool2D(2x2) (4,4,4)
# -> Conv2D(4->3, 2x2, tanh) (3,3,3) -> AvgPool2D(2x2, stride 1) (3,2,2) -> Flatten (12)
# -> Dense(12->3, softmax)
make_conv2d_model <- function(seed = 4) {
  with_seed(seed, {
    layers <- list(
      list(type = "Conv2D", weight = rand_w(4, 3, 3, 3), bias = stats::rnorm(4, sd = 0.2),
           padding = 1, activation_name = "softplus", input_layers = 0, output_layers = 2),
      list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 1, output_layers = 3),
      list(type = "Conv2D", weight = rand_w(3, 4, 2, 2), bias = stats::rnorm(3, sd = 0.2),
           activation_name = "tanh", input_layers = 2, output_layers = 4),
      list(type = "AveragePooling2D", kernel_size = c(2, 2), strides = c(1, 1),
           input_layers = 3, output_layers = 5),
      list(type = "Flatten", input_layers = 4, output_layers = 6),
      dense_layer(rand_w(3, 12), stats::rnorm(3, sd = 0.2), "softmax", 5, -1)
    )
  })
  list(input_dim = c(3, 8, 8), input_nodes = 1, output_nodes = 6, layers = layers)
}

# Dense 4 -> 5 (tanh) -> BatchNorm(5) -> Dense 5 -> 3 (softmax). With `centred = TRUE`
# the running mean and beta are zero, so the BatchNorm layer is a pure scaling.
make_bn_model <- function(seed = 5, centred = FALSE) {
  with_seed(seed, {
    bn <- list(type = "BatchNorm", num_features = 5, eps = 1e-5,
               gamma = stats::runif(5, 0.5, 1.5),
               beta = if (centred) rep(0, 5) else stats::rnorm(5, sd = 0.3),
               run_mean = if (centred) rep(0, 5) else stats::rnorm(5, sd = 0.3),
               run_var = stats::runif(5, 0.5, 2), input_layers = 1, output_layers = 3)
    layers <- list(
      dense_layer(rand_w(5, 4), stats::rnorm(5, sd = 0.3), "tanh", 0, 2),
      bn,
      dense_layer(rand_w(3, 5), stats::rnorm(3, sd = 0.3), "softmax", 2, -1)
    )
  })
  list(input_dim = 4, input_nodes = 1, output_nodes = 3, layers = layers)
}

# The same model with all biases set to zero (LRP conserves relevance without them).
without_bias <- function(m) {
  m$layers <- lapply(m$layers, function(l) {
    if (!is.null(l$bias)) l$bias <- l$bias * 0
    l
  })
  m
}

# Sum of a result array (B, in-shape, S) over the input axes: a (B, S) matrix.
sum_over_inputs <- function(a) {
  r <- length(dim(a))
  unname(apply(a, c(1, r), sum))
}

# ---- Plain-R reference forward passes (one instance, channels first) --------------

act_fun <- function(name) {
  switch(name,
    linear = identity,
    relu = function(z) pmax(z, 0),
    tanh = tanh,
    softplus = function(z) log1p(exp(z)),
    sigmoid = function(z) 1 / (1 + exp(-z)),
    softmax = function(z) softmax(z)
  )
}

ref_dense <- function(layer, x, pre = FALSE) {
  z <- as.vector(layer$weight %*% x) + layer$bias
  if (pre) z else act_fun(layer$activation_name)(z)
}

# x: (C, L); W: (Co, Ci, k)
ref_conv1d <- function(layer, x) {
  W <- layer$weight
  k <- dim(W)[3]
  L_out <- ncol(x) - k + 1
  out <- matrix(0, dim(W)[1], L_out)
  for (o in seq_len(dim(W)[1])) for (t in seq_len(L_out)) {
    out[o, t] <- layer$bias[o] + sum(W[o, , ] * x[, t:(t + k - 1), drop = FALSE])
  }
  act_fun(layer$activation_name)(out)
}

ref_pool1d <- function(x, k, fun) {
  L_out <- floor(ncol(x) / k)
  out <- matrix(0, nrow(x), L_out)
  for (c in seq_len(nrow(x))) for (t in seq_len(L_out)) out[c, t] <- fun(x[c, (t - 1) * k + seq_len(k)])
  out
}

# x: (C, H, W); weight (Co, Ci, kh, kw); symmetric zero padding `pad`
ref_conv2d <- function(layer, x, pad = 0) {
  W <- layer$weight
  d <- dim(x)
  xp <- array(0, c(d[1], d[2] + 2 * pad, d[3] + 2 * pad))
  xp[, pad + seq_len(d[2]), pad + seq_len(d[3])] <- x
  kh <- dim(W)[3]
  kw <- dim(W)[4]
  H_out <- dim(xp)[2] - kh + 1
  W_out <- dim(xp)[3] - kw + 1
  out <- array(0, c(dim(W)[1], H_out, W_out))
  for (o in seq_len(dim(W)[1])) for (i in seq_len(H_out)) for (j in seq_len(W_out)) {
    out[o, i, j] <- layer$bias[o] + sum(W[o, , , ] * xp[, i:(i + kh - 1), j:(j + kw - 1), drop = FALSE])
  }
  array(act_fun(layer$activation_name)(out), dim(out))
}

ref_pool2d <- function(x, k, s, fun) {
  d <- dim(x)
  H_out <- floor((d[2] - k[1]) / s[1]) + 1
  W_out <- floor((d[3] - k[2]) / s[2]) + 1
  out <- array(0, c(d[1], H_out, W_out))
  for (c in seq_len(d[1])) for (i in seq_len(H_out)) for (j in seq_len(W_out)) {
    out[c, i, j] <- fun(x[c, (i - 1) * s[1] + seq_len(k[1]), (j - 1) * s[2] + seq_len(k[2])])
  }
  out
}

# Flatten in channels-first (row-major) order, as torch does.
ref_flatten <- function(a) as.vector(aperm(a, rev(seq_along(dim(a)))))

ref_forward_mlp <- function(m, x, pre = FALSE) {
  h <- ref_dense(m$layers[[1]], x)
  h <- ref_dense(m$layers[[2]], h)
  ref_dense(m$layers[[3]], h, pre)
}

ref_forward_graph <- function(m, x1, x2, pre = FALSE) {
  L <- m$layers
  h1 <- ref_dense(L[[1]], x1)
  h2 <- ref_dense(L[[2]], x2)
  h4 <- ref_dense(L[[4]], c(h1, h2))
  list(ref_dense(L[[6]], h1 + h4, pre), ref_dense(L[[7]], h2, pre))
}

ref_forward_conv1d <- function(m, x, pre = FALSE) {
  L <- m$layers
  h <- ref_conv1d(L[[1]], x)
  h <- ref_pool1d(h, 2, max)
  h <- ref_conv1d(L[[3]], h)
  h <- ref_pool1d(h, 2, mean)
  ref_dense(L[[6]], ref_flatten(h), pre)
}

ref_forward_conv2d <- function(m, x, pre = FALSE) {
  L <- m$layers
  h <- ref_conv2d(L[[1]], x, pad = 1)
  h <- ref_pool2d(h, c(2, 2), c(2, 2), max)
  h <- ref_conv2d(L[[3]], h)
  h <- ref_pool2d(h, c(2, 2), c(1, 1), mean)
  ref_dense(L[[6]], ref_flatten(h), pre)
}

# Apply a one-instance reference forward to every row of a batch (channels first).
ref_batch <- function(f, m, x, pre = FALSE) {
  B <- dim(x)[1]
  rows <- lapply(seq_len(B), function(b) f(m, instance(x, b), pre))
  do.call(rbind, rows)
}

# Instance `b` of a batch array (B, ...) as an array of the in-shape.
instance <- function(x, b) {
  d <- dim(x)
  array(x[b + d[1] * (seq_len(prod(d[-1])) - 1)], d[-1])
}

# Random data of shape (B, in-shape), channels first.
rand_data <- function(B, shape, seed = 100) {
  with_seed(seed, array(stats::rnorm(B * prod(shape)), dim = c(B, shape)))
}

# Channels first (B, C, ...) -> channels last (B, ..., C).
to_channels_last <- function(x) {
  r <- length(dim(x))
  if (r <= 2) return(x)
  aperm(x, c(1, seq(3, r), 2))
}

# Central finite differences of the model output node `node` (of output layer `k`)
# with respect to every input element of one instance `x` (dim (1, in-shape),
# channels first). `type` = "preactivation" matches ignore_last_act = TRUE.
# Returns an array of the in-shape.
fd_gradient <- function(conv, x, node, k = 1, type = "preactivation", h = 1e-5) {
  shape <- dim(x)[-1]
  n_feat <- prod(shape)
  base <- as.vector(x)
  rows <- matrix(base, nrow = 2 * n_feat, ncol = n_feat, byrow = TRUE)
  for (f in seq_len(n_feat)) {
    rows[f, f] <- rows[f, f] + h
    rows[n_feat + f, f] <- rows[n_feat + f, f] - h
  }
  batch <- array(rows, dim = c(2 * n_feat, shape))
  out <- predict(conv, batch, type = type, dtype = "double")
  if (is.list(out)) out <- out[[k]]
  g <- (out[seq_len(n_feat), node] - out[n_feat + seq_len(n_feat), node]) / (2 * h)
  array(g, dim = shape)
}

# Softmax of a numeric vector.
softmax <- function(z) {
  e <- exp(z - max(z))
  e / sum(e)
}

# Maximum relative difference (scaled by the largest reference magnitude).
rel_diff <- function(a, b) {
  max(abs(as.vector(a) - as.vector(b))) / max(abs(as.vector(b)), 1e-12)
}

# ---- Named tolerances ----------------------------------------------------------
tol_exact <- 1e-10     # double precision, same computation in closed form
tol_fd <- 1e-6         # analytic gradient vs central finite differences (double, h = 1e-5)
tol_float <- 1e-4      # float vs double results
tol_complete <- 1e-3   # IntegratedGradient completeness with n = 2000 (double)
tol_mc <- 0.02         # Monte-Carlo methods (ExpectedGradient) with n = 2000

# Everything print(x) shows, whether written to stdout or emitted as (cli) messages.
print_text <- function(x) {
  msgs <- character()
  out <- utils::capture.output(
    value <- withVisible(withCallingHandlers(print(x), message = function(m) {
      msgs <<- c(msgs, conditionMessage(m))
      invokeRestart("muffleMessage")
    }))
  )
  structure(paste(c(out, msgs), collapse = "\n"), visible = value$visible, value = value$value)
}
