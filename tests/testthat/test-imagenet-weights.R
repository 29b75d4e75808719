# Weight files for the ImageNet architectures: torchvision/timm safetensors state
# dicts and Keras .h5 files mapped onto the annotated list models. The fixtures are
# small models with the real module/layer names (tools/imagenet/make_*_fixtures.py),
# with the logits torch and Keras computed for them.

torch_expected <- function() {
  innsight:::io_read_safetensors(fixture_path("tiny_torch_expected.safetensors"))$tensors
}

keras_expected <- function(name) {
  f <- hdf5r::H5File$new(fixture_path("tiny_keras_expected.h5"), mode = "r")
  on.exit(f$close_all())
  rd <- function(p) {
    a <- f[[paste0(name, "/", p)]]$read()
    aperm(a, rev(seq_along(dim(a))))  # hdf5r reverses the file's (row-major) dims
  }
  list(input = rd("input"), logits = rd("logits"), probs = rd("probs"))
}

load_weights <- function(model, arch, file) innsight:::load_imagenet_weights(model, arch, fixture_path(file))

test_that("torchvision state dicts give torch's logits (VGG and ResNet layouts)", {
  exp <- torch_expected()
  cases <- list(
    list(list = tiny_vgg_list(), arch = "vgg19", file = "tiny_vgg.safetensors", name = "vgg"),
    list(list = tiny_vgg_list(), arch = "vgg16", file = "tiny_vgg_timm.safetensors", name = "vgg"),
    list(list = tiny_resnet_list(), arch = "resnet50", file = "tiny_resnet.safetensors", name = "resnet")
  )
  for (cs in cases) {
    m <- load_weights(cs$list, cs$arch, cs$file)
    x <- exp[[paste0(cs$name, ".input")]]
    conv <- convert(m, dtype = "double")
    logits <- predict(conv, x, type = "preactivation")
    expect_lt(rel_err(logits, exp[[paste0(cs$name, ".logits_f64")]]), 1e-10)
    expect_lt(rel_err(logits, exp[[paste0(cs$name, ".logits_f32")]]), 1e-5)
    expect_lt(rel_err(predict(convert(m), x, type = "preactivation"), exp[[paste0(cs$name, ".logits_f32")]]), 1e-5)
  }
})

test_that("the weights land in the list format's layout", {
  st <- innsight:::io_read_safetensors(fixture_path("tiny_resnet.safetensors"))
  m <- load_weights(tiny_resnet_list(), "resnet50", "tiny_resnet.safetensors")
  conv1 <- m$layers[[1]]
  expect_identical(conv1$torch_name, "conv1")
  expect_identical(dim(conv1$weight), c(64L, 3L, 7L, 7L))
  expect_identical(conv1$weight, st$tensors[["conv1.weight"]])
  expect_identical(conv1$bias, numeric(64))          # torchvision's convolutions have no bias
  bn1 <- m$layers[[2]]
  expect_identical(bn1$run_var, st$tensors[["bn1.running_var"]])
  expect_identical(bn1$eps, 1e-5)
  fc <- m$layers[[length(m$layers)]]
  expect_identical(dim(fc$weight), c(10L, 64L))
})

test_that("Keras .h5 files (legacy, Keras 3, .keras archive) give Keras' outputs", {
  skip_if_not_installed("hdf5r")
  exp <- keras_expected("vgg")
  for (file in c("tiny_vgg_keras.h5", "tiny_vgg_keras.weights.h5", "tiny_vgg_keras.keras")) {
    m <- load_weights(tiny_vgg_list(), "vgg16", file)
    # Keras flattens channels last
    expect_identical(m$layers[[which(vapply(m$layers, function(l) l$type == "Flatten", TRUE))]]$data_format,
                     "channels_last")
    conv <- convert(m, dtype = "double")
    expect_lt(rel_err(predict(conv, exp$input, channels_first = FALSE, type = "preactivation"), exp$logits), 1e-5)
    expect_lt(rel_err(predict(conv, exp$input, channels_first = FALSE), exp$probs), 1e-5)
  }
  exp <- keras_expected("resnet")
  m <- load_weights(tiny_resnet_list(), "resnet50", "tiny_resnet_keras.h5")
  conv <- convert(m, dtype = "double")
  expect_lt(rel_err(predict(conv, exp$input, channels_first = FALSE, type = "preactivation"), exp$logits), 1e-5)
  expect_lt(rel_err(predict(convert(m), exp$input, channels_first = FALSE), exp$probs), 1e-5)
  # Keras' ResNet: stride on the first 1x1 convolution, biases, eps 1.001e-5
  by_name <- function(n) m$layers[[which(vapply(m$layers, function(l) identical(l$torch_name, n), TRUE))]]
  expect_equal(by_name("layer2.0.conv1")$stride, c(2, 2))
  expect_equal(by_name("layer2.0.conv2")$stride, c(1, 1))
  expect_identical(by_name("bn1")$eps, 1.001e-5)
  expect_false(all(by_name("conv1")$bias == 0))
})

test_that("mismatching state dicts name every problem", {
  st <- innsight:::io_read_safetensors(fixture_path("tiny_vgg.safetensors"))$tensors
  dir <- withr::local_tempdir()
  write_dict <- function(tensors, name) {
    path <- file.path(dir, name)
    innsight:::io_write_safetensors(path, tensors, "F32", list())
    path
  }
  bad <- st
  bad[["features.3.bias"]] <- NULL
  bad[["classifier.0.weight"]] <- matrix(0, 16, 100)
  bad[["extra.weight"]] <- 1:3 + 0
  path <- write_dict(bad, "bad.safetensors")
  e <- expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg19", path), "model")
  msg <- conditionMessage(e)
  expect_match(msg, "features.3.bias", fixed = TRUE)
  expect_match(msg, "classifier.0.weight: (16, 100), expected (16, 128)", fixed = TRUE)
  expect_match(msg, "extra.weight", fixed = TRUE)
  expect_match(msg, "vgg19", fixed = TRUE)
  # the wrong architecture
  e <- expect_innsight_error(load_weights(tiny_resnet_list(), "resnet50", "tiny_vgg.safetensors"), "model")
  expect_match(conditionMessage(e), "conv1.weight", fixed = TRUE)
  # a DataParallel prefix is dropped, num_batches_tracked ignored
  pre <- st
  names(pre) <- paste0("module.", names(pre))
  pre[["module.features.0.num_batches_tracked"]] <- 0
  m <- innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg19", write_dict(pre, "prefixed.safetensors"))
  expect_identical(m$layers[[1]]$weight, st[["features.0.weight"]])
  # non-finite weights
  nan <- st
  nan[["features.0.bias"]][1] <- NaN
  expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg19", write_dict(nan, "nan.safetensors")),
                        "model", "non-finite")
})

test_that("mismatching Keras files name every problem", {
  skip_if_not_installed("hdf5r")
  e <- expect_innsight_error(load_weights(tiny_resnet_list(), "resnet50", "tiny_vgg_keras.h5"), "model")
  expect_match(conditionMessage(e), "conv1_conv/kernel", fixed = TRUE)
  expect_match(conditionMessage(e), "block1_conv1", fixed = TRUE)   # not used
  # a file without the classifier (include_top = FALSE)
  dir <- withr::local_tempdir()
  path <- file.path(dir, "notop.h5")
  file.copy(fixture_path("tiny_vgg_keras.h5"), path)
  f <- hdf5r::H5File$new(path, mode = "r+")
  names <- innsight:::h5_strings(f, "layer_names")
  f$attr_delete("layer_names")
  f$create_attr("layer_names", setdiff(names, c("flatten", "fc1", "fc2", "predictions")))
  f$close_all()
  e <- expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg16", path), "model", "include_top")
  expect_match(conditionMessage(e), "fc1/kernel", fixed = TRUE)
  # an HDF5 file that is not a Keras weight file
  other <- file.path(dir, "other.h5")
  f <- hdf5r::H5File$new(other, mode = "w")
  f[["x"]] <- 1:3
  f$close_all()
  expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg16", other), "model",
                        "not a Keras weight file")
})

test_that("unreadable or wrong kinds of files are classed errors", {
  dir <- withr::local_tempdir()
  expect_innsight_error(load_weights(tiny_vgg_list(), "vgg19", "does-not-exist.safetensors"), "io", "does not exist")
  junk <- file.path(dir, "junk.safetensors")
  writeBin(as.raw(c(1:200)), junk)
  expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg19", junk), "io")
  # a PyTorch pickle (a zip without Keras' weights)
  pt <- file.path(dir, "model.pt")
  withr::with_dir(dir, {
    writeLines("x", "data.pkl")
    utils::zip("model.pt", "data.pkl", flags = "-q")
  })
  skip_if_not(file.exists(pt), "no zip program")
  expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg19", pt), "io", "safetensors.torch.save_file")
  # an innsight model file is not a weight file
  mf <- file.path(dir, "model.safetensors")
  save_model(convert(make_mlp_model()), mf)
  expect_innsight_error(innsight:::load_imagenet_weights(tiny_vgg_list(), "vgg19", mf), "model", "load_model")
})

test_that("imagenet_model(weights = ) checks the file against the architecture", {
  expect_innsight_error(imagenet_model("vgg19", weights = fixture_path("tiny_vgg.safetensors")), "model",
                        "does not fit the architecture")
  expect_innsight_error(imagenet_model("resnet50", weights = tempfile()), "io")
})
