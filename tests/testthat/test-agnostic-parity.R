# Parity of the perturbation and model-agnostic methods with pinned references
# (tests/fixtures/agnostic, written by tools/fixtures/make_agnostic_fixtures.py):
# shap's KernelExplainer with all coalitions, captum's Occlusion, LayerGradCam
# (upsampled with LayerAttribution.interpolate) and Lime on a fixed set of
# perturbations. Models are the list-format zoo of tests/fixtures/models.

agnostic_manifest <- read_fixture("agnostic/manifest.json")
tol_agnostic <- 1e-6

agnostic_case <- function(case) {
  raw <- read_fixture(file.path("agnostic", case$file))
  lapply(raw[vapply(raw, is.list, logical(1))], fixture_array)
}

case_model <- function(case) convert(fixture_model(file.path("models", paste0(case$model, ".json"))))

run_case <- list(
  kernel_shap = function(case, t, conv) {
    shap <- SHAP$new(conv, t$data, t$data_ref, output_idx = unlist(case$outputs), dtype = "double", verbose = FALSE)
    expect_identical(shap$method, "kernel")
    expect_parity(get_result(shap), t$expected, tol_agnostic, paste(case$id, "values"))
    # efficiency: the values add up to f(x) - mean f(ref), to rounding
    goal <- sweep(t$fx, 2, t$f_ref_mean)
    expect_parity(apply(get_result(shap), c(1, 3), sum), goal, 1e-12, paste(case$id, "efficiency"))
    expect_parity(shap$decomp_goal[[1]], goal, 1e-12, paste(case$id, "decomp_goal"))
  },
  occlusion = function(case, t, conv) {
    occ <- Occlusion$new(conv, t$data, output_idx = unlist(case$outputs), window = unlist(case$window),
                         strides = unlist(case$strides), baseline = case$baseline, dtype = "double", verbose = FALSE)
    expect_parity(get_result(occ), t$expected, tol_agnostic, case$id)
  },
  gradcam = function(case, t, conv) {
    for (mode in c("nearest", "bilinear")) {
      cam <- GradCAM$new(conv, t$data, output_idx = unlist(case$outputs), layer = case$layer, upsample = mode,
                         dtype = "double", verbose = FALSE)
      res <- get_result(cam)
      # every input channel carries an equal share: the channel sum is the map
      map <- apply(res, setdiff(seq_along(dim(res)), 2), sum)
      want <- if (mode == "nearest") t$cam_nearest else t$cam_linear
      expect_parity(map, want, tol_agnostic, paste(case$id, mode))
    }
  },
  lime = function(case, t, conv) {
    B <- dim(t$data)[1]
    shape <- dim(t$data)[-1]
    groups <- if (is.null(t$groups)) seq_len(prod(shape)) else as.integer(as.vector(t$groups)) + 1L
    masks <- lapply(seq_len(nrow(t$masks)), function(i) as.integer(t$masks[i, ]))
    spec <- list(method = "lime", n_samples = length(masks), kernel_width = case$kernel_width,
                 lambda = case$ridge_alpha, seed = 1, masks = masks)
    run <- AgnosticRun$new(to_json(spec), matrix(t$data, nrow = B), matrix(t$baseline, nrow = 1), groups)
    nodes <- as.integer(unlist(case$outputs))
    res <- run$run_model(conv$model$handle("double"), 1L, nodes, as.integer(shape), TRUE, 1000, 1L, NULL)
    values <- array(res$values, c(B, shape, length(nodes)))
    # captum gives every feature of a group the group's coefficient; innsight an equal share
    size <- tabulate(groups)[groups]
    values <- values * array(rep(size, each = B), dim(values))
    expect_parity(values, t$expected, tol_agnostic, case$id)
  }
)

test_that("the agnostic fixture manifest lists every method", {
  expect_setequal(unique(vapply(agnostic_manifest$cases, function(c) c$method, "")), names(run_case))
})

for (case in agnostic_manifest$cases) {
  test_that(paste("agnostic parity:", case$id), {
    run_case[[case$method]](case, agnostic_case(case), case_model(case))
  })
}
