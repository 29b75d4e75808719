# ONNX import end to end: PyTorch exports (tests/fixtures/onnx, made by
# tools/fixtures/make_onnx_fixtures.py) through Converter$new(path), against
# onnxruntime's and torch's outputs and captum's / zennit's attributions stored next
# to them; and the classed errors for files that cannot be read.

onnx_fixture <- function(...) test_path("..", "fixtures", "onnx", ...)
onnx_manifest <- function() jsonlite::fromJSON(onnx_fixture("manifest.json"), simplifyVector = FALSE)
onnx_refs <- function(name) innsight:::io_read_safetensors(onnx_fixture(paste0(name, ".ref.safetensors")))$tensors
refs_of <- function(refs, prefix) {
  out <- list()
  while (!is.null(refs[[paste0(prefix, ".", length(out) + 1)]])) out[[length(out) + 1]] <- refs[[paste0(prefix, ".", length(out) + 1)]]
  out
}
as_data <- function(xs) if (length(xs) == 1) xs[[1]] else xs
rel_err <- function(got, expected) max(abs(got - expected)) / max(abs(expected))
drop_last <- function(a) array(a, dim = head(dim(a), -1))

test_that("PyTorch exports (both exporters) predict like onnxruntime (float) and torch (double)", {
  for (m in onnx_manifest()$models) {
    refs <- onnx_refs(m$name)
    x <- as_data(refs_of(refs, "input"))
    for (kind in c("torchscript", "dynamo")) {
      file <- onnx_fixture(m$files[[kind]])
      ort <- refs_of(refs, if (kind == "dynamo") "ort_dynamo" else "ort")
      p32 <- predict(Converter$new(file), x)
      p64 <- predict(Converter$new(file, dtype = "double"), x)
      if (!is.list(p32)) { p32 <- list(p32); p64 <- list(p64) }
      for (k in seq_along(ort)) {
        expect_lt(rel_err(unname(p32[[k]]), ort[[k]]), 1e-5, label = paste(m$files[[kind]], "float output", k))
        # exporters write batch norms folded into float32 weights: ~1e-7 off the module
        expect_lt(rel_err(unname(p64[[k]]), refs[[paste0("torch.", k)]]), 1e-6,
                  label = paste(m$files[[kind]], "double output", k))
      }
    }
  }
})

test_that("Gradient, IntegratedGradient, DeepLift and LRP on ONNX models match captum and zennit", {
  man <- onnx_manifest()
  for (m in man$models) {
    if (is.null(m$target)) next
    refs <- onnx_refs(m$name)
    x <- as_data(refs_of(refs, "input"))
    conv <- Converter$new(onnx_fixture(m$files$torchscript))
    runs <- list(
      grad = function() run_grad(conv, x, output_idx = m$target),
      ig = function() run_intgrad(conv, x, output_idx = m$target, n = man$ig_steps),
      deeplift = function() run_deeplift(conv, x, output_idx = m$target),
      lrp_eps = function() run_lrp(conv, x, output_idx = m$target, rule_name = "epsilon", rule_param = man$epsilon)
    )
    for (key in names(runs)) {
      expected <- refs_of(refs, key)
      if (length(expected) == 0) next
      got <- get_result(runs[[key]]())
      if (!is.list(got)) got <- list(got)
      for (k in seq_along(expected)) {
        expect_lt(rel_err(drop_last(got[[k]]), expected[[k]]), 1e-4, label = paste(m$name, key, "input", k))
      }
    }
  }
})

test_that("an ONNX model with two outputs explains the second one", {
  refs <- onnx_refs("two_outputs")
  conv <- Converter$new(onnx_fixture("two_outputs.onnx"), dtype = "double")
  g <- get_result(run_grad(conv, refs[["input.1"]], output_idx = list(NULL, 1), ignore_last_act = FALSE, dtype = "double"))
  expect_lt(rel_err(drop_last(g), refs[["grad.1"]]), 1e-9)
})

test_that("weights in an external-data file are read from the model's folder", {
  refs <- onnx_refs("external")
  conv <- Converter$new(onnx_fixture("external.onnx"))
  expect_lt(rel_err(unname(predict(conv, refs[["input.1"]])), refs[["ort.1"]]), 1e-6)
  dir <- withr::local_tempdir()
  file.copy(onnx_fixture("external.onnx"), dir)
  expect_error(Converter$new(file.path(dir, "external.onnx")), "external.bin", class = "innsight_error_io")
})

test_that("converted ONNX models survive saveRDS() and save_model()", {
  refs <- onnx_refs("mobilenet_v2_small")
  conv <- Converter$new(onnx_fixture("mobilenet_v2_small.onnx"))
  f <- withr::local_tempfile(fileext = ".rds")
  saveRDS(conv, f)
  expect_identical(predict(readRDS(f), refs[["input.1"]]), predict(conv, refs[["input.1"]]))
  g <- withr::local_tempfile(fileext = ".safetensors")
  save_model(conv, g)
  expect_identical(predict(load_model(g), refs[["input.1"]]), predict(conv, refs[["input.1"]]))
})

test_that("an ONNX model built from its weight blob equals the same model as a list", {
  # the blob path skips the list format's R checks; the list it can return goes
  # through them and must give the same model, to the last bit in double precision
  refs <- onnx_refs("residual_concat")
  x <- as_data(refs_of(refs, "input"))
  conv <- Converter$new(onnx_fixture("residual_concat.onnx"), dtype = "double", save_model_as_list = TRUE)
  lst <- conv$model_as_list
  expect_type(lst, "list")
  expect_true(all(c("input_dim", "layers") %in% names(lst)))
  expect_identical(predict(Converter$new(lst, dtype = "double"), x), predict(conv, x))
  expect_identical(conv$input_dim, Converter$new(lst)$input_dim)
  expect_error(Converter$new(onnx_fixture("residual_concat.onnx"), input_dim = c(1, 2, 3)),
               class = "innsight_error_model", regexp = "input_dim")
})

test_that("unreadable or unsupported ONNX files give classed errors naming the problem", {
  good <- readBin(onnx_fixture("resnet50_small.onnx"), "raw", file.size(onnx_fixture("resnet50_small.onnx")))
  dir <- withr::local_tempdir()
  truncated <- file.path(dir, "truncated.onnx")
  writeBin(good[seq_len(length(good) %/% 2)], truncated)
  expect_error(Converter$new(truncated), class = "innsight_error_io")
  noise <- file.path(dir, "noise.onnx")
  writeBin(as.raw(with_seed(3, sample(0:255, 2000, TRUE))), noise)
  expect_error(Converter$new(noise), "ONNX", class = "innsight_error_io")
  empty <- file.path(dir, "empty.onnx")
  file.create(empty)
  expect_error(Converter$new(empty), "no graph", class = "innsight_error_io")
  expect_error(Converter$new(file.path(dir, "missing.onnx")), "does not exist", class = "innsight_error_model")
  expect_error(Converter$new(onnx_fixture("bad_unsupported_op.onnx")), "CumSum.*not supported", class = "innsight_error_model")
  expect_error(Converter$new(onnx_fixture("bad_opset_10.onnx")), "opset 10.*11 to 21", class = "innsight_error_model")
  expect_error(Converter$new(onnx_fixture("bad_opset_22.onnx")), "opset 22", class = "innsight_error_model")
  expect_error(Converter$new(onnx_fixture("bad_dynamic_shape.onnx")), "dynamic size `features`", class = "innsight_error_model")
})

test_that("a PyTorch module without input_dim is a classed error (no Python needed)", {
  fake <- structure(list(), class = c("torch.nn.modules.module.Module", "python.builtin.object"))
  expect_error(Converter$new(fake), "input_dim", class = "innsight_error_model")
})
