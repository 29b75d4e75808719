# Small list models annotated like imagenet_list()'s (torch_name, torch_params,
# param_shapes; built with the same internal helpers), matching the tiny models of
# tools/imagenet/make_torch_fixtures.py and make_keras_fixtures.py (fixtures in
# tests/testthat/fixtures/imagenet).

fixture_path <- function(...) test_path("fixtures", "imagenet", ...)

# torchvision's VGG layout: features = [conv 4, M, conv 8, conv 8, M], input 3 x 16 x 16,
# classifier 128 -> 16 -> 16 -> 10.
tiny_vgg_list <- function(init = "none") {
  g <- innsight:::inet_graph()
  prev <- 0L
  c_in <- 3
  idx <- 0L
  for (block in list(4, c(8, 8))) {
    for (c_out in block) {
      prev <- g$add(innsight:::inet_conv(c_out, c_in, 3, padding = 1, act = "relu", name = paste0("features.", idx),
                                         init = init), prev)
      idx <- idx + 2L
      c_in <- c_out
    }
    prev <- g$add(list(type = "MaxPooling2D", kernel_size = c(2, 2), strides = c(2, 2)), prev)
    idx <- idx + 1L
  }
  prev <- g$add(list(type = "Flatten"), prev)
  prev <- g$add(innsight:::inet_dense(16, 128, "relu", "classifier.0", init), prev)
  prev <- g$add(innsight:::inet_dense(16, 16, "relu", "classifier.3", init), prev)
  g$add(innsight:::inet_dense(10, 16, "softmax", "classifier.6", init), prev)
  g$finish(c(3L, 16L, 16L))
}

# torchvision's ResNet layout with Bottleneck blocks: stem 64 (7x7, stride 2), max
# pooling, stages of widths 8 (1 block) and 16 (2 blocks, stride 2), fc 64 -> 10;
# input 3 x 32 x 32.
tiny_resnet_list <- function(init = "none") {
  g <- innsight:::inet_graph()
  relu <- function(from) g$add(list(type = "Activation", act_name = "relu"), from)
  conv_bn <- function(from, c_out, c_in, k, stride, padding, conv_name, bn_name) {
    i <- g$add(innsight:::inet_conv(c_out, c_in, k, stride, padding, name = conv_name, bias = FALSE, init = init), from)
    g$add(innsight:::inet_bn(c_out, bn_name, init), i)
  }
  x <- relu(conv_bn(0L, 64, 3, 7, 2, 3, "conv1", "bn1"))
  x <- g$add(list(type = "Padding", padding = c(1, 1, 1, 1), mode = "replicate"), x)
  x <- g$add(list(type = "MaxPooling2D", kernel_size = c(3, 3), strides = c(2, 2)), x)
  c_in <- 64
  widths <- c(8, 16)
  blocks <- c(1, 2)
  for (s in seq_along(widths)) {
    width <- widths[s]
    c_out <- width * 4
    for (b in seq_len(blocks[s])) {
      stride <- if (s > 1 && b == 1) 2 else 1
      pre <- paste0("layer", s, ".", b - 1, ".")
      y <- relu(conv_bn(x, width, c_in, 1, 1, 0, paste0(pre, "conv1"), paste0(pre, "bn1")))
      y <- relu(conv_bn(y, width, width, 3, stride, 1, paste0(pre, "conv2"), paste0(pre, "bn2")))
      y <- conv_bn(y, c_out, width, 1, 1, 0, paste0(pre, "conv3"), paste0(pre, "bn3"))
      shortcut <- if (b == 1) {
        conv_bn(x, c_out, c_in, 1, stride, 0, paste0(pre, "downsample.0"), paste0(pre, "downsample.1"))
      } else {
        x
      }
      x <- relu(g$add(list(type = "Add"), c(y, shortcut)))
      c_in <- c_out
    }
  }
  x <- g$add(list(type = "GlobalPooling", method = "average"), x)
  g$add(innsight:::inet_dense(10, 64, "softmax", "fc", init, kind = "torch_default"), x)
  g$finish(c(3L, 32L, 32L))
}

# Max |a - b| relative to max |b|.
rel_err <- function(a, b) max(abs(a - b)) / max(abs(b))
