# Small VGG- and ResNet-shaped list models (random weights) in the layout of the
# ImageNet article: channels-last images, 1000-way-style softmax heads (here 10).

rn_array <- function(..., sd = 0.1) array(stats::rnorm(prod(c(...)), sd = sd), c(...))

vgg_shaped <- function(size = 32, classes = 10, seed = 1) {
  set.seed(seed)
  layers <- list()
  add <- function(l) {
    i <- length(layers) + 1
    l$input_layers <- i - 1
    l$output_layers <- i + 1
    layers[[i]] <<- l
  }
  c_in <- 3
  for (c_out in c(8, 16)) {
    for (rep in 1:2) {
      add(list(type = "Conv2D", weight = rn_array(c_out, c_in, 3, 3, sd = sqrt(2 / (9 * c_in))),
               bias = rn_array(c_out, sd = 0.01), padding = 1, activation_name = "relu"))
      c_in <- c_out
    }
    add(list(type = "MaxPooling2D", kernel_size = c(2, 2)))
  }
  add(list(type = "Flatten"))
  n_flat <- c_in * (size / 4)^2
  add(list(type = "Dense", weight = rn_array(32, n_flat, sd = sqrt(2 / n_flat)), bias = rn_array(32, sd = 0.01),
           activation_name = "relu"))
  add(list(type = "Dense", weight = rn_array(classes, 32, sd = sqrt(1 / 32)), bias = rn_array(classes, sd = 0.01),
           activation_name = "softmax"))
  layers[[length(layers)]]$output_layers <- -1
  list(input_dim = c(3, size, size), input_nodes = 1, output_nodes = length(layers), layers = layers)
}

resnet_shaped <- function(size = 32, classes = 10, seed = 2) {
  set.seed(seed)
  bn <- function(c) list(type = "BatchNorm", num_features = c, eps = 1e-5, gamma = 1 + rn_array(c),
                         beta = rn_array(c), run_mean = rn_array(c), run_var = 1 + abs(rn_array(c)))
  conv <- function(c_out, c_in, k, stride = 1, pad = 0, act = "linear") {
    list(type = "Conv2D", weight = rn_array(c_out, c_in, k, k, sd = sqrt(2 / (k * k * c_in))),
         bias = rn_array(c_out, sd = 0.01), stride = stride, padding = pad, activation_name = act)
  }
  L <- list(
    conv(8, 3, 3, stride = 2, pad = 1),                       # 1
    bn(8),                                                    # 2
    list(type = "Activation", act_name = "relu"),             # 3
    list(type = "MaxPooling2D", kernel_size = c(2, 2)),       # 4: stem out
    conv(8, 8, 3, pad = 1, act = "relu"),                     # 5: block a
    conv(8, 8, 3, pad = 1),                                   # 6
    bn(8),                                                    # 7
    list(type = "Add"),                                       # 8: 7 + 4
    list(type = "Activation", act_name = "relu"),             # 9
    conv(16, 8, 1, stride = 2),                               # 10: projection shortcut
    conv(16, 8, 3, stride = 2, pad = 1, act = "relu"),        # 11: block b
    conv(16, 16, 3, pad = 1),                                 # 12
    bn(16),                                                   # 13
    list(type = "Add"),                                       # 14: 13 + 10
    list(type = "Activation", act_name = "relu"),             # 15
    list(type = "AveragePooling2D", kernel_size = c(2, 2)),   # 16
    list(type = "GlobalPooling", method = "average"),         # 17
    list(type = "Dense", weight = rn_array(classes, 16, sd = 0.3), bias = rn_array(classes, sd = 0.01),
         activation_name = "softmax")                         # 18
  )
  edges <- list(c(0), 1, 2, 3, 4, 5, 6, c(7, 4), 8, 9, 9, 11, 12, c(13, 10), 14, 15, 16, 17)
  outs <- list(2, 3, 4, c(5, 8), 6, 7, 8, 9, c(10, 11), 14, 12, 13, 14, 15, 16, 17, 18, -1)
  for (i in seq_along(L)) {
    L[[i]]$input_layers <- edges[[i]]
    L[[i]]$output_layers <- outs[[i]]
  }
  list(input_dim = c(3, size, size), input_nodes = 1, output_nodes = length(L), layers = L)
}

# The seven method configurations of the ImageNet article (the package's own list,
# which innsight_demo() runs).
article_configs <- function() innsight:::demo_configs()
