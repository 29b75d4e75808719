# Small list models annotated like imagenet_list()'s (torch_name, torch_params,
# param_shapes; built with the same internal helpers), matching the tiny models of
# tools/imagenet/make_torch_fixtures.py and make_keras_fixtures.py (fixtures in
# tests/testthat/fixtures/imagenet).

fixture_path <- function(...) test_path("fixtures", "imagenet", ...)

# torchvision's VGG layout: features = [conv 4, M, conv 8, conv 8, M], input 3 x 16 x 16,
# classifier 128 -> 16 -> 16 -> 10.
tiny_vgg_list <- function(init = "none") {
  innsight:::inet_vgg(c(1, 2), init, widths = c(4, 8), hidden = 16, n_classes = 10, input_dim = c(3L, 16L, 16L))
}

# torchvision's ResNet layout with Bottleneck blocks: stem 64 (7x7, stride 2), max
# pooling, stages of widths 8 (1 block) and 16 (2 blocks, stride 2), fc 64 -> 10;
# input 3 x 32 x 32.
tiny_resnet_list <- function(init = "none") {
  innsight:::inet_resnet(c(1, 2), init, widths = c(8, 16), n_classes = 10, input_dim = c(3L, 32L, 32L))
}

# Max |a - b| relative to max |b|.
rel_err <- function(a, b) max(abs(a - b)) / max(abs(b))
