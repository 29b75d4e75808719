# PyTorch through reticulate, for test-torch.R. Nothing is ever installed: the tests
# run only when INNSIGHT_TEST_TORCH is set and RETICULATE_PYTHON can import torch
# (`make test-torch` sets both up); otherwise they skip before Python is started.
#
# Tensors travel between R and torch as raw float32 bytes (bytearray <-> raw vector),
# not through numpy: Debian's reticulate (1.28) cannot convert NumPy 2 arrays.

skip_if_no_torch <- function() {
  testthat::skip_if_not(nzchar(Sys.getenv("INNSIGHT_TEST_TORCH")), "INNSIGHT_TEST_TORCH is not set (make test-torch)")
  testthat::skip_if_not_installed("reticulate")
  ok <- isTRUE(tryCatch(reticulate::py_module_available("torch"), error = function(e) FALSE))
  testthat::skip_if_not(ok, "reticulate cannot import torch")
  torch_test_env()
  invisible(TRUE)
}

# Python-side helpers, defined once in __main__ (idempotent).
torch_test_env <- function() {
  main <- reticulate::import_main(convert = FALSE)
  if (!reticulate::py_has_attr(main, "_innsight_t_to_r")) {
    reticulate::py_run_string("
import torch
torch.set_num_threads(2)
def _innsight_t_from_r(buf, shape):
    shape = [int(s) for s in shape]
    t = torch.frombuffer(bytearray(buf), dtype=torch.float32).reshape(list(reversed(shape)))
    return t.permute(*reversed(range(len(shape)))).contiguous()
def _innsight_t_to_r(t):
    t = t.detach().to(torch.float32)
    dims = [int(s) for s in t.shape]
    t = t.permute(*reversed(range(t.dim()))).contiguous()
    return (bytearray(t.numpy().tobytes()), dims)
def _innsight_grad(module, xs, k):
    xs = [x.clone().requires_grad_(True) for x in xs]
    with torch.enable_grad():
        out = module(*xs)
        out[:, int(k)].sum().backward()
    return [x.grad for x in xs]
")
  }
  invisible(main)
}

# An object of Python's __main__, unconverted (what Converter$new() expects).
py_main <- function(name) reticulate::py_get_attr(torch_test_env(), name)

# R array -> float32 torch tensor of the same shape.
r_to_tensor <- function(x) {
  x <- as.array(x)
  torch_test_env()$`_innsight_t_from_r`(writeBin(as.numeric(x), raw(), size = 4), as.list(as.integer(dim(x))))
}

# torch tensor -> R array (double holding the float32 values).
tensor_to_r <- function(t) {
  res <- reticulate::py_to_r(torch_test_env()$`_innsight_t_to_r`(t))
  dims <- unlist(res[[2]])
  array(readBin(res[[1]], "double", n = prod(dims), size = 4), dims)
}

# Values exactly representable in float32, so both sides see the same input.
as_float32 <- function(x) {
  d <- dim(x)
  y <- readBin(writeBin(as.numeric(x), raw(), size = 4), "double", n = length(x), size = 4)
  if (is.null(d)) y else array(y, d)
}

# The module's output on the R data `xs` (a list of arrays, batch first).
torch_forward <- function(module, xs) {
  torch <- reticulate::import("torch", convert = FALSE)
  ctx <- torch$no_grad()
  ctx$`__enter__`()
  on.exit(ctx$`__exit__`(NULL, NULL, NULL))
  tensor_to_r(do.call(reticulate::py_call, c(list(module), unname(lapply(xs, r_to_tensor)))))
}

# torch.autograd gradient of output column k (1-based) summed over the batch, for
# every input: a list of arrays shaped like `xs`.
torch_gradient <- function(module, xs, k) {
  grads <- torch_test_env()$`_innsight_grad`(module, reticulate::r_to_py(unname(lapply(xs, r_to_tensor))), as.integer(k - 1L))
  lapply(reticulate::py_to_r(grads), tensor_to_r)
}

# max |a - b| / max |b| over whole arrays.
torch_rel_err <- function(a, b) {
  a <- unname(as.array(a))
  b <- unname(as.array(b))
  max(abs(a - b)) / max(abs(b))
}

# Record a measurement (`make test-torch` prints the collected lines at the end).
report_torch <- function(line) {
  message(line)
  f <- Sys.getenv("INNSIGHT_TORCH_REPORT")
  if (nzchar(f)) cat(line, "\n", sep = "", file = f, append = TRUE)
}

report_torch_err <- function(what, err) report_torch(sprintf("%-50s max relative difference %.3g", what, err))

py_free <- function(...) {
  for (name in c(...)) reticulate::py_run_string(sprintf("globals().pop('%s', None)", name))
  gc(verbose = FALSE)
  reticulate::py_run_string("import gc; gc.collect()")
  invisible(gc(verbose = FALSE))
}
