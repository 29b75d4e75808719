# Fixtures for the plot tests: small method objects on the list models of
# helper-models.R, computed in double precision so that the drawn values (and
# the vdiffr snapshots) are deterministic.

plot_tabular_method <- function(B = 6) {
  conv <- convert(make_mlp_model(), input_names = c("a", "b", "c", "d"), output_names = c("x", "y", "z"),
                  dtype = "double")
  run_grad(conv, rand_data(B, 4, seed = 21), output_idx = 1:3, dtype = "double", verbose = FALSE)
}

plot_signal_method <- function(B = 5) {
  conv <- convert(make_conv1d_model(), dtype = "double")
  run_lrp(conv, rand_data(B, c(3, 16), seed = 22), output_idx = 1:2, dtype = "double", verbose = FALSE)
}

# 3 x 8 x 8 images in [0, 1] (a bright square on a dark background).
plot_images <- function(B = 4) {
  x <- with_seed(23, array(stats::runif(B * 3 * 64, 0, 0.3), c(B, 3, 8, 8)))
  for (b in seq_len(B)) x[b, , (b %% 4) + 1:4, ((b * 3) %% 4) + 1:4] <- 0.9
  x
}

plot_image_method <- function(B = 4, channels_first = TRUE, method = "grad") {
  conv <- convert(make_conv2d_model(), output_names = c("cat", "dog", "bird"), dtype = "double")
  x <- plot_images(B)
  if (!channels_first) x <- to_channels_last(x)
  switch(method,
    grad = run_grad(conv, x, output_idx = 1:3, channels_first = channels_first, dtype = "double", verbose = FALSE),
    lrp = run_lrp(conv, x, output_idx = 1:3, channels_first = channels_first, dtype = "double", verbose = FALSE),
    deeplift = run_deeplift(conv, x, output_idx = 1:3, channels_first = channels_first, dtype = "double",
                            verbose = FALSE),
    gxi = run_grad(conv, x, output_idx = 1:3, times_input = TRUE, channels_first = channels_first,
                   dtype = "double", verbose = FALSE)
  )
}

plot_graph_method <- function(B = 4) {
  conv <- convert(make_graph_model(), dtype = "double")
  x <- list(rand_data(B, 3, seed = 24), rand_data(B, 5, seed = 25))
  run_grad(conv, x, output_idx = list(c(1, 3), 2), dtype = "double", verbose = FALSE)
}

# A model with a tabular and an image input and two outputs.
make_mixed_model <- function(seed = 6) {
  with_seed(seed, {
    layers <- list(
      dense_layer(rand_w(4, 3), stats::rnorm(4, sd = 0.3), "tanh", 0, 4),
      list(type = "Conv2D", weight = rand_w(2, 1, 3, 3), bias = stats::rnorm(2, sd = 0.2),
           activation_name = "relu", input_layers = 0, output_layers = 3),
      list(type = "Flatten", input_layers = 2, output_layers = 4),
      list(type = "Concatenate", axis = 2, input_layers = c(1, 3), output_layers = c(5, 6)),
      dense_layer(rand_w(2, 22), stats::rnorm(2, sd = 0.3), "softmax", 4, -1),
      dense_layer(rand_w(1, 22), stats::rnorm(1, sd = 0.3), "sigmoid", 4, -1)
    )
  })
  list(input_dim = list(3, c(1, 5, 5)), input_nodes = c(1, 2), output_nodes = c(5, 6), layers = layers)
}

plot_mixed_method <- function(B = 3) {
  conv <- convert(make_mixed_model(), dtype = "double")
  x <- list(rand_data(B, 3, seed = 26), rand_data(B, c(1, 5, 5), seed = 27))
  run_grad(conv, x, output_idx = list(1:2, 1), dtype = "double", verbose = FALSE)
}

# Every public field of a method object (to check that plotting changes nothing).
method_state <- function(m) {
  list(data = m$data, result = m$result, preds = m$preds, goal = m$decomp_goal, output_idx = m$output_idx,
       output_label = m$output_label, converter_names = m$converter$input_names, dtype = m$dtype)
}

# Draw to a null device; returns the value of print() visibly or not.
draw_quietly <- function(x, fun = print) {
  f <- tempfile(fileext = ".pdf")
  grDevices::pdf(f)
  on.exit({
    grDevices::dev.off()
    unlink(f)
  })
  withVisible(fun(x))
}
