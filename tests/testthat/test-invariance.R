# Results must not depend on how the work is split: neither on the number of
# threads of the Rust core (option `innsight.threads`) nor on the rows per chunk
# (option `innsight.chunk_size`; NULL = one chunk).
#
# Why a tolerance at all: with several threads a reduction (a sum over rows,
# samples or matrix blocks) may be added up in another order, and floating-point
# addition is not associative. That changes only the last bits, so the tolerances
# are tight: 1e-5 (relative) in single precision, 1e-10 in double precision.
# Chunking alone should not change the order of any per-row sum, but the same
# tolerance is used for both.

tol_for <- function(dtype) if (dtype == "float") 1e-5 else 1e-10

# Result, predictions and goals of `make()` under the options `opts`; `make`
# draws its random numbers from the same seed every time.
run_with <- function(opts, make, seed = 42) {
  withr::with_options(opts, {
    m <- with_seed(seed, make())
    list(result = get_result(m), preds = m$preds, goal = m$decomp_goal)
  })
}

# The same method under 1, 2 and 3 threads and chunks of 1, 7 and all rows.
expect_split_invariant <- function(make, dtype, what) {
  ref <- run_with(list(innsight.threads = 1L, innsight.chunk_size = NULL), make)
  # the reference must be a real result (not all zero or NaN), else the test
  # could pass without checking anything
  expect_true(all(is.finite(unlist(ref$result))), label = paste(what, "finite"))
  expect_gt(max(abs(unlist(ref$result))), 0)
  tol <- tol_for(dtype)
  for (threads in 2:3) {
    got <- run_with(list(innsight.threads = threads, innsight.chunk_size = NULL), make)
    expect_equal(got, ref, tolerance = tol, label = sprintf("%s (%s), %d threads", what, dtype, threads))
  }
  for (size in c(1L, 7L)) {
    got <- run_with(list(innsight.threads = 2L, innsight.chunk_size = size), make)
    expect_equal(got, ref, tolerance = tol, label = sprintf("%s (%s), chunk size %d", what, dtype, size))
  }
}

# 17 rows: chunks of 7 leave a short last chunk (7 + 7 + 3).
dense <- convert(make_mlp_model())
x_dense <- rand_data(17, 4, seed = 7)
ref_dense <- rand_data(9, 4, seed = 8)
cnn <- convert(make_conv2d_model())
x_cnn <- rand_data(17, c(3, 8, 8), seed = 9)
ref_cnn <- rand_data(9, c(3, 8, 8), seed = 10)

models <- list(
  dense = list(conv = dense, x = x_dense, ref = ref_dense, x_ref = rand_data(1, 4, seed = 11)),
  cnn = list(conv = cnn, x = x_cnn, ref = ref_cnn, x_ref = rand_data(1, c(3, 8, 8), seed = 12))
)

for (dtype in c("float", "double")) {
  for (name in names(models)) {
    mod <- models[[name]]
    label <- paste(name, dtype)

    test_that(paste("Gradient and SmoothGrad do not depend on threads or chunks:", label), {
      expect_split_invariant(function() run_grad(mod$conv, mod$x, times_input = TRUE, output_idx = 1:2,
                                                 verbose = FALSE, dtype = dtype), dtype, "Gradient")
      # SmoothGrad draws its noise per global row from the seed: the same in every chunk
      expect_split_invariant(function() run_smoothgrad(mod$conv, mod$x, n = 8, verbose = FALSE, dtype = dtype),
                             dtype, "SmoothGrad")
    })

    test_that(paste("IntegratedGradient and ExpectedGradient do not depend on threads or chunks:", label), {
      expect_split_invariant(function() run_intgrad(mod$conv, mod$x, x_ref = mod$x_ref, n = 12, verbose = FALSE,
                                                    dtype = dtype), dtype, "IntegratedGradient")
      expect_split_invariant(function() run_expgrad(mod$conv, mod$x, data_ref = mod$ref, n = 6, verbose = FALSE,
                                                    dtype = dtype), dtype, "ExpectedGradient")
    })

    test_that(paste("LRP does not depend on threads or chunks:", label), {
      expect_split_invariant(function() run_lrp(mod$conv, mod$x, rule_name = "epsilon", rule_param = 0.01,
                                                verbose = FALSE, dtype = dtype), dtype, "LRP epsilon")
      expect_split_invariant(function() run_lrp(mod$conv, mod$x, rule_name = "alpha_beta", rule_param = 2,
                                                verbose = FALSE, dtype = dtype), dtype, "LRP alpha_beta")
    })

    test_that(paste("DeepLift and DeepSHAP do not depend on threads or chunks:", label), {
      expect_split_invariant(function() run_deeplift(mod$conv, mod$x, x_ref = mod$x_ref, verbose = FALSE,
                                                     dtype = dtype), dtype, "DeepLift rescale")
      expect_split_invariant(function() run_deeplift(mod$conv, mod$x, x_ref = mod$x_ref, rule_name = "reveal_cancel",
                                                     verbose = FALSE, dtype = dtype), dtype, "DeepLift reveal_cancel")
      expect_split_invariant(function() run_deepshap(mod$conv, mod$x, data_ref = mod$ref, verbose = FALSE,
                                                     dtype = dtype), dtype, "DeepSHAP")
    })
  }

  test_that(paste("SHAP and LIME do not depend on threads or chunks:", dtype), {
    # the coalitions and samples come from one seed, the same for every chunk
    expect_split_invariant(function() run_shap(dense, x_dense, data_ref = ref_dense, verbose = FALSE, dtype = dtype),
                           dtype, "SHAP kernel")
    expect_split_invariant(function() run_shap(dense, x_dense, data_ref = ref_dense, method = "permutation",
                                               n_permutations = 4, verbose = FALSE, dtype = dtype),
                           dtype, "SHAP permutation")
    expect_split_invariant(function() run_lime(dense, x_dense, data_ref = ref_dense, n_samples = 200,
                                               verbose = FALSE, dtype = dtype), dtype, "LIME")
    expect_split_invariant(function() run_shap(cnn, x_cnn[1:9, , , , drop = FALSE], data_ref = ref_cnn,
                                               patch_size = c(4, 4), verbose = FALSE, dtype = dtype),
                           dtype, "SHAP image patches")
  })
}
