# PyTorch modules through reticulate (`make test-torch`; skipped otherwise, see
# helper-torch.R): Converter$new(module, input_dim = ...) exports the module to ONNX
# and reads it back. Outputs are compared with the module's own (float32, max relative
# difference below 1e-5), gradients with torch.autograd (below 1e-4). Then full-size
# torchvision VGG16 and ResNet50 (random weights) as ONNX files exported here: the
# time Converter$new(path) takes is reported (not asserted), logits below 1e-4.

py_modules_src <- "
import torch, torch.nn as nn

def _innsight_randomise_bn(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
    return module

torch.manual_seed(1)
innsight_mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4)).eval()

torch.manual_seed(2)
innsight_cnn = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 3 * 3, 10))
innsight_cnn = _innsight_randomise_bn(innsight_cnn, 3).eval()

class InnsightTwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.vec = nn.Linear(5, 8)
        self.head = nn.Linear(4 * 3 * 3 + 8, 3)
    def forward(self, img, v):
        a = torch.flatten(self.pool(torch.relu(self.bn(self.conv(img)))), 1)
        b = torch.relu(self.vec(v))
        return self.head(torch.cat([a, b], dim=1))

torch.manual_seed(4)
innsight_two = _innsight_randomise_bn(InnsightTwoInputs(), 5).eval()
"

define_small_modules <- function() {
  main <- torch_test_env()
  if (!reticulate::py_has_attr(main, "innsight_two")) reticulate::py_run_string(py_modules_src)
  invisible(main)
}

as_list <- function(x) if (is.list(x)) x else list(x)

# Convert `module`, then compare predict() with the module and run_grad() with autograd.
expect_torch_parity <- function(module, input_dim, xs, k, what) {
  conv <- Converter$new(module, input_dim = input_dim)
  data <- if (length(xs) == 1) xs[[1]] else xs
  err_out <- torch_rel_err(predict(conv, data), torch_forward(module, xs))
  report_torch_err(paste(what, "predict()"), err_out)
  expect_lt(err_out, 1e-5, label = paste(what, "predict() relative difference"))
  got <- as_list(get_result(run_grad(conv, data, output_idx = k)))
  ref <- torch_gradient(module, xs, k)
  expect_length(got, length(ref))
  for (i in seq_along(ref)) {
    g <- got[[i]]
    expect_equal(dim(g), c(dim(ref[[i]]), 1L))
    err <- torch_rel_err(array(g, dim(ref[[i]])), ref[[i]])
    report_torch_err(sprintf("%s run_grad(), input %d", what, i), err)
    expect_lt(err, 1e-4, label = sprintf("%s gradient of input %d relative difference", what, i))
  }
  invisible(conv)
}

test_that("an MLP module converts: outputs and gradients match torch", {
  skip_if_no_torch()
  define_small_modules()
  x <- with_seed(1, as_float32(matrix(rnorm(5 * 6), 5, 6)))
  conv <- expect_torch_parity(py_main("innsight_mlp"), 6, list(x), k = 3, "MLP")
  expect_equal(conv$input_dim, list(6L))
})

test_that("a CNN with BatchNorm and MaxPool converts: outputs and gradients match torch", {
  skip_if_no_torch()
  define_small_modules()
  x <- with_seed(2, as_float32(array(rnorm(4 * 3 * 16 * 16), c(4, 3, 16, 16))))
  conv <- expect_torch_parity(py_main("innsight_cnn"), c(3, 16, 16), list(x), k = 7, "CNN (BatchNorm, MaxPool)")
  expect_equal(conv$input_dim, list(c(3L, 16L, 16L)))
})

test_that("a module with two inputs converts: outputs and both gradients match torch", {
  skip_if_no_torch()
  define_small_modules()
  xs <- with_seed(3, list(as_float32(array(rnorm(3 * 3 * 8 * 8), c(3, 3, 8, 8))),
                          as_float32(matrix(rnorm(3 * 5), 3, 5))))
  conv <- expect_torch_parity(py_main("innsight_two"), list(c(3, 8, 8), 5), xs, k = 2, "two-input module")
  expect_length(conv$input_dim, 2)
})

test_that("a module without input_dim is an innsight_error_model", {
  skip_if_no_torch()
  define_small_modules()
  expect_error(Converter$new(py_main("innsight_mlp")), class = "innsight_error_model")
  expect_error(Converter$new(py_main("innsight_mlp")), "input_dim")
})

test_that("a module reached through reticulate::py (converting handle) converts too", {
  skip_if_no_torch()
  define_small_modules()
  module <- reticulate::py$innsight_mlp
  res <- Converter$new(module, input_dim = 6)
  expect_s3_class(res, "Converter")
  x <- with_seed(1, as_float32(matrix(rnorm(5 * 6), 5, 6)))
  expect_lt(torch_rel_err(predict(res, x), torch_forward(py_main("innsight_mlp"), list(x))), 1e-5)
})

# --- full-size torchvision models --------------------------------------------------

# Build torchvision's `arch` with random weights (seeded) as __main__.<name>.
make_torchvision <- function(arch, name, seed, randomise_bn = FALSE) {
  define_small_modules()
  reticulate::py_run_string(sprintf(paste(
    "import torch, torchvision",
    "torch.manual_seed(%d)",
    "%s = torchvision.models.%s(weights=None).eval()",
    if (randomise_bn) sprintf("%s = _innsight_randomise_bn(%s, %d).eval()", name, name, seed) else "",
    sep = "\n"), seed, name, arch))
  py_main(name)
}

export_onnx <- function(module, path) {
  torch <- reticulate::import("torch", convert = FALSE)
  t <- system.time(torch$onnx$export(module, reticulate::tuple(torch$zeros(c(1L, 3L, 224L, 224L))), path,
                                     dynamo = FALSE, opset_version = 17L))
  report_torch(sprintf("%-50s %.1f s, %.0f MB", paste(basename(path), "torch.onnx.export (TorchScript, opset 17)"),
                       t[["elapsed"]], file.size(path) / 2^20))
}

check_imagenet_model <- function(arch, label, seed, randomise_bn = FALSE, via_module = FALSE) {
  name <- paste0("innsight_", arch)
  on.exit(py_free(name), add = TRUE)
  module <- make_torchvision(arch, name, seed, randomise_bn)
  path <- file.path(tempdir(), paste0(arch, ".onnx"))
  on.exit(unlink(path), add = TRUE)
  export_onnx(module, path)
  x <- with_seed(seed, as_float32(array(rnorm(2 * 3 * 224 * 224), c(2, 3, 224, 224))))
  ref <- torch_forward(module, list(x))
  expect_equal(dim(ref), c(2L, 1000L))

  t <- system.time(conv <- Converter$new(path))
  report_torch(sprintf("%-50s %.2f s", paste(label, "ONNX file: Converter$new(path)"), t[["elapsed"]]))
  err <- torch_rel_err(predict(conv, x), ref)
  report_torch_err(paste(label, "ONNX file predict(), 2 images"), err)
  expect_lt(err, 1e-4, label = paste(label, "logits relative difference"))
  rm(conv)
  gc(verbose = FALSE)
  unlink(path)

  if (via_module) {
    t <- system.time(conv <- Converter$new(module, input_dim = c(3, 224, 224)))
    report_torch(sprintf("%-50s %.2f s", paste(label, "module: Converter$new(module, input_dim)"), t[["elapsed"]]))
    err <- torch_rel_err(predict(conv, x), ref)
    report_torch_err(paste(label, "module predict(), 2 images"), err)
    expect_lt(err, 1e-4, label = paste(label, "(module) logits relative difference"))
    rm(conv)
  }
  rm(module)
  invisible(NULL)
}

test_that("full-size VGG16 (random weights) as an ONNX file predicts like torch", {
  skip_if_no_torch()
  skip_if_not(reticulate::py_module_available("torchvision"), "torchvision is not importable")
  check_imagenet_model("vgg16", "VGG16", seed = 16)
})

test_that("full-size ResNet50 (random weights) as an ONNX file and as a module predicts like torch", {
  skip_if_no_torch()
  skip_if_not(reticulate::py_module_available("torchvision"), "torchvision is not importable")
  check_imagenet_model("resnet50", "ResNet50", seed = 50, randomise_bn = TRUE, via_module = TRUE)
})
