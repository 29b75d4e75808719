# The kernels' instruction-set versions give the same results. The core picks
# AVX-512, AVX2 or baseline kernels at run time (its own loops and the matrix
# products); `kernel_isa_cap()` caps the level for the process, so on an AVX-512
# machine all three paths run here, on an AVX2 machine two. The model takes every
# kind of kernel: an im2col convolution (3 input channels), a Winograd one (16 -> 16
# channels, 3x3, 144 tiles per image), overlapping max pooling, dense layers.

isa_model <- function() {
  set.seed(11)
  conv <- function(c_out, c_in) {
    list(type = "Conv2D", weight = rn_array(c_out, c_in, 3, 3, sd = sqrt(2 / (9 * c_in))),
         bias = rn_array(c_out, sd = 0.05), padding = 1, activation_name = "relu")
  }
  layers <- list(conv(16, 3), conv(16, 16),
                 list(type = "MaxPooling2D", kernel_size = c(3, 3), strides = c(2, 2)),
                 conv(24, 16), list(type = "Flatten"),
                 list(type = "Dense", weight = rn_array(10, 24 * 11 * 11, sd = 0.02),
                      bias = rn_array(10, sd = 0.01), activation_name = "softmax"))
  n <- length(layers)
  for (i in seq_len(n)) {
    layers[[i]]$input_layers <- i - 1
    layers[[i]]$output_layers <- if (i == n) -1 else i + 1
  }
  list(input_dim = c(3, 24, 24), input_nodes = 1, output_nodes = n, layers = layers)
}

# Every method's result (and the forward pass) with the kernels capped at `level`
# ("" = uncapped).
isa_results <- function(conv, x, dtype, level) {
  innsight:::kernel_isa_cap(level)
  on.exit(innsight:::kernel_isa_cap(""), add = TRUE)
  run <- function(cls, ...) {
    cls$new(conv, x, output_idx = c(1, 4), dtype = dtype, verbose = FALSE, ...)$get_result()
  }
  list(
    forward = conv$model$forward(x, dtype = dtype)[[1]],
    gradient = run(Gradient),
    grad_x_input = run(Gradient, times_input = TRUE),
    smoothgrad = { set.seed(3); run(SmoothGrad, n = 4) },
    lrp_epsilon = run(LRP, rule_name = "epsilon", rule_param = 0.01),
    lrp_alpha_beta = run(LRP, rule_name = "alpha_beta", rule_param = 1),
    deeplift = run(DeepLift)
  )
}

test_that("the AVX-512, AVX2 and baseline kernels give the same results", {
  conv <- Converter$new(isa_model())
  # Data away from ties: in float, a max-pooling window whose two largest entries
  # (or a ReLU input near 0) differ by less than the rounding can pick another entry
  # when the summation order changes (with FMA or without), and the gradient then
  # takes another path through that window. With set.seed(5) one window of the
  # baseline path does so (5% off in a few entries, every other entry within 3e-7);
  # the double comparison has no such luck involved.
  set.seed(1)
  x <- array(rnorm(4 * 3 * 24 * 24), c(4, 3, 24, 24))
  cpu <- innsight:::kernel_isa()[["cpu"]]
  levels <- c("baseline", "avx2", "avx512")
  narrower <- levels[seq_len(match(cpu, levels) - 1)]
  if (length(narrower) == 0) skip("this CPU has only the baseline kernels")
  for (dtype in c("float", "double")) {
    tol <- if (dtype == "float") 1e-4 else 1e-10
    widest <- isa_results(conv, x, dtype, "")
    for (level in narrower) {
      expect_equal(innsight:::kernel_isa_cap(level), level)
      innsight:::kernel_isa_cap("")
      capped <- isa_results(conv, x, dtype, level)
      for (m in names(widest)) {
        scale <- max(abs(widest[[m]]))
        expect_gt(scale, 0)
        expect_lte(max(abs(capped[[m]] - widest[[m]])) / scale, tol,
                   label = sprintf("%s, %s, %s vs %s: relative difference", m, dtype, level, cpu))
      }
    }
  }
  expect_equal(innsight:::kernel_isa()[["kernels"]], cpu)
})

test_that("an unknown instruction set is refused", {
  expect_error(innsight:::kernel_isa_cap("neon"), "unknown instruction set")
  expect_equal(innsight:::kernel_isa()[["kernels"]], innsight:::kernel_isa()[["cpu"]])
})
