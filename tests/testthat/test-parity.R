# Numeric parity with the reference fixtures in tests/fixtures (written by
# tools/fixtures/make_fixtures.py from captum, zennit, torch autograd or a direct
# re-implementation of innsight's formulas; the manifest says which, per case).
# Every manifest case runs through the R API end to end (list model -> convert() ->
# method -> get_result()) in double and in float precision. The same manifest drives
# src/rust/crates/core/tests/parity.rs.

# max |got - expected| <= tol * max(1, max |expected|), per tensor
tol_parity <- c(double = 1e-6, float = 1e-4)

# The R class of each method and the reference argument it takes.
parity_methods <- list(
  gradient = list(class = "Gradient", ref = NULL),
  integrated_gradient = list(class = "IntegratedGradient", ref = "x_ref"),
  lrp = list(class = "LRP", ref = NULL),
  deep_lift = list(class = "DeepLift", ref = "x_ref"),
  deep_shap = list(class = "DeepSHAP", ref = "data_ref")
)

# get_result() unwraps single inputs/outputs; give it back the nested list form
# [[explained output]][[input]].
result_leaves <- function(res, n_out, n_in) {
  per_out <- if (n_out == 1) list(res) else unname(res)
  lapply(per_out, function(x) if (n_in == 1) list(x) else unname(x))
}

manifest <- read_fixture("manifest.json")

test_that("the parity manifest matches this file's tolerances", {
  expect_identical(manifest$tolerances$standard$double, tol_parity[["double"]])
  expect_identical(manifest$tolerances$standard$float, tol_parity[["float"]])
  expect_gt(length(manifest$cases), 0)
})

for (case in manifest$cases) {
  test_that(paste("parity:", case$id), {
    m <- parity_methods[[case$method]]
    expect_false(is.null(m), info = paste("unknown method", case$method))
    if (case$method %in% c("lrp", "deep_lift", "deep_shap")) {
      skip_if_not(exists(m$class, envir = asNamespace("innsight")),
                  paste("the R class", m$class, "is not available yet"))
    }
    expect_identical(case$tolerance, "standard")
    cls <- get(m$class, envir = asNamespace("innsight"))
    conv <- convert(fixture_model(case$model))
    data <- fixture_tensors(case$data)
    expected <- read_fixture(case$expected)$result
    n_in <- length(data)
    for (dtype in c("double", "float")) {
      args <- c(list(converter = conv, data = data, output_idx = fixture_output_idx(case$spec$output_idx),
                     ignore_last_act = case$spec$ignore_last_act, verbose = FALSE, dtype = dtype),
                case$r_args)
      if (!is.null(m$ref)) args[[m$ref]] <- fixture_tensors(case[[m$ref]])
      method <- do.call(cls$new, args)
      tol <- tol_parity[[dtype]]
      leaves <- result_leaves(get_result(method), length(expected), n_in)
      expect_length(leaves, length(expected))
      for (r in seq_along(expected)) {
        k <- expected[[r]]$output
        for (j in seq_len(n_in)) {
          what <- sprintf("%s [%s] result output %d input %d", case$id, dtype, k, j)
          want <- expected[[r]]$inputs[[j]]
          got <- leaves[[r]][[j]]
          if (is.null(want)) {
            expect(identical(got, NaN), paste0(what, ": expected no result (input not connected)"))
          } else if (identical(got, NaN)) {
            expect(FALSE, paste0(what, ": no result (input reported as not connected), expected values"))
          } else {
            expect_parity(got, fixture_array(want), tol, what)
          }
        }
        expect_parity(method$preds[[k]], fixture_array(expected[[r]]$pred), tol,
                      sprintf("%s [%s] preds output %d", case$id, dtype, k))
        expect_parity(method$decomp_goal[[k]], fixture_array(expected[[r]]$goal), tol,
                      sprintf("%s [%s] decomp_goal output %d", case$id, dtype, k))
      }
    }
  })
}
