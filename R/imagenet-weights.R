# Weight files for the ImageNet architectures, mapped onto the list models that
# imagenet_list() builds (R/imagenet-models.R). Every layer with parameters there
# carries `torch_name` (its module name in torchvision's state dict),
# `torch_params` (list entry -> state-dict suffix) and `param_shapes` (the expected
# shape of every parameter entry, channels first). Two sources:
#
# * torchvision / timm state dicts saved as safetensors (read by the Rust io
#   module into R arrays with the file's dims, which are the list format's:
#   convolutions (out, in, kh, kw), dense (out, in)). timm's VGG keeps its
#   classifier as `pre_logits.fc1` (a 7x7 convolution), `pre_logits.fc2` (1x1) and
#   `head.fc`; those are reshaped to dense weights. A `module.` prefix (from
#   DataParallel) is dropped; `num_batches_tracked` entries are ignored.
# * Keras weight files (.h5, read with hdf5r): the legacy layout that
#   keras.applications downloads and `save_weights("x.h5")` writes (root attribute
#   `layer_names`, per layer the attribute `weight_names` and the datasets), a
#   full-model .h5 (the same under `model_weights`), and Keras 3's `.weights.h5`
#   (`layers/<key>/vars/<0, 1, ...>`, the layer's name in the `vars` group's
#   attribute `name`). hdf5r returns arrays with the file's dims reversed, so a
#   Keras convolution kernel (kh, kw, in, out) arrives as (out, in, kw, kh) and a
#   dense kernel (in, out) as (out, in).
#
# Keras' architectures differ from torchvision's in ways the weights depend on:
# VGG flattens channels last (the Flatten layer is marked so); ResNet50 (Keras'
# "v1") has biases in its convolutions, the stride of a stage's first block on its
# first 1x1 convolution instead of the 3x3 one, and batch normalisation with
# eps = 1.001e-5. The list model is adjusted accordingly.

#' @section Weight files:
#' `weights` may point to
#' * a torchvision or timm state dict saved as safetensors
#'   (`safetensors.torch.save_file(model.state_dict(), path)`), with torchvision's
#'   names (`features.0.weight`, `classifier.0.weight`, `conv1.weight`,
#'   `bn1.running_mean`, `layer1.0.conv1.weight`, `fc.weight`, ...; timm's VGG
#'   classifier `pre_logits.fc1`, `pre_logits.fc2`, `head.fc` is accepted too);
#' * a Keras weight file: the `.h5` files `keras.applications` downloads (e.g.
#'   `vgg19_weights_tf_dim_ordering_tf_kernels.h5`, with the classifier), Keras 3
#'   `.weights.h5` files or `.keras` archives. Reading them needs the package
#'   \pkg{hdf5r}. Keras kernels are permuted to innsight's layouts, and the model
#'   follows Keras' variant of the architecture (VGG flattens channels last;
#'   ResNet50 has convolution biases, the stride on a block's first 1x1
#'   convolution and `eps = 1.001e-5`).
#'
#' The weights' names and shapes are checked against the architecture; every
#' missing, wrongly shaped or unused weight is named in one error of class
#' `innsight_error_model`. Unreadable files raise `innsight_error_io`. See
#' `vignette("model-files", package = "innsight")`.
#' @rdname imagenet_model
#' @name imagenet_model
NULL

load_imagenet_weights <- function(model, arch, path, call = parent.frame()) {
  if (!is.character(path) || length(path) != 1 || is.na(path)) {
    innsight_abort("{.arg weights} must be the path of a weight file.", call = call)
  }
  full <- path.expand(path)
  if (!file.exists(full) || dir.exists(full)) {
    innsight_abort("The weight file {.file {path}} does not exist.", kind = "io", call = call)
  }
  targets <- imagenet_targets(model, call)
  family <- if (startsWith(arch, "vgg")) "vgg" else "resnet"
  format <- weight_file_format(full)
  src <- switch(format,
    keras_h5 = keras_sources(read_keras_h5(full, path, call), model, targets, family, call),
    keras_archive = {
      h5 <- extract_keras_archive(full, path, call)
      on.exit(unlink(dirname(h5), recursive = TRUE), add = TRUE)
      keras_sources(read_keras_h5(h5, path, call), model, targets, family, call)
    },
    torch_pickle = innsight_abort(c(
      "The weight file {.file {path}} is a PyTorch pickle ({.file .pt}/{.file .pth}), which cannot be read safely without Python.",
      "i" = "Save the state dict as safetensors in Python: {.code safetensors.torch.save_file(model.state_dict(), \"weights.safetensors\")}."
    ), kind = "io", call = call),
    torch_sources(read_state_dict(full, path, call), targets, call)
  )
  report_weight_mismatches(src, targets, arch, path, call)
  for (k in seq_len(nrow(targets))) {
    model$layers[[targets$layer[k]]][[targets$param[k]]] <- src$values[[k]]
  }
  if (identical(src$kind, "keras")) model <- keras_architecture(model, family)
  model
}

# One row per parameter entry of the list model: layer index, list entry, the
# state-dict key, the expected shape.
imagenet_targets <- function(model, call) {
  rows <- list()
  for (i in seq_along(model$layers)) {
    l <- model$layers[[i]]
    if (is.null(l$torch_name)) next
    params <- names(l$param_shapes)
    for (p in params) {
      key <- if (p %in% names(l$torch_params)) paste0(l$torch_name, ".", l$torch_params[[p]]) else NA_character_
      rows[[length(rows) + 1]] <- list(layer = i, param = p, type = l$type, torch_name = l$torch_name, key = key,
                                       shape = list(as.integer(l$param_shapes[[p]])))
    }
  }
  if (length(rows) == 0) {
    innsight_abort("The model has no layers annotated for weight files ({.field torch_name}).", kind = "internal", call = call)
  }
  data.frame(
    layer = vapply(rows, `[[`, 0L, "layer"), param = vapply(rows, `[[`, "", "param"),
    type = vapply(rows, `[[`, "", "type"), torch_name = vapply(rows, `[[`, "", "torch_name"),
    key = vapply(rows, `[[`, "", "key"), shape = I(lapply(rows, function(r) r$shape[[1]])),
    stringsAsFactors = FALSE
  )
}

# Magic numbers: HDF5 (Keras), zip (a Keras 3 `.keras` archive or a PyTorch
# pickle), otherwise safetensors (which starts with its header length).
weight_file_format <- function(full) {
  con <- file(full, "rb")
  magic <- readBin(con, "raw", 8)
  close(con)
  if (length(magic) == 8 && identical(magic, as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)))) {
    return("keras_h5")
  }
  if (length(magic) >= 4 && identical(magic[1:4], as.raw(c(0x50, 0x4b, 0x03, 0x04)))) {
    files <- tryCatch(utils::unzip(full, list = TRUE)$Name, error = function(e) character())
    if ("model.weights.h5" %in% files) return("keras_archive")
    return("torch_pickle")
  }
  "safetensors"
}

extract_keras_archive <- function(full, path, call) {
  dir <- tempfile("innsight-keras-")
  dir.create(dir)
  ok <- tryCatch({
    utils::unzip(full, files = "model.weights.h5", exdir = dir)
    file.exists(file.path(dir, "model.weights.h5"))
  }, error = function(e) FALSE)
  if (!ok) innsight_abort("Could not extract the weights from the Keras archive {.file {path}}.", kind = "io", call = call)
  file.path(dir, "model.weights.h5")
}

# ---- torchvision / timm state dicts --------------------------------------------------

read_state_dict <- function(full, path, call) {
  st <- rust_call(io_read_safetensors(full), call = call)
  if (!is.null(st$metadata) && "innsight_format" %in% names(st$metadata)) {
    innsight_abort(c("{.file {path}} is an innsight model file, not a weight file.",
                     "i" = "Read it with {.code load_model(\"{path}\")}."), kind = "model", call = call)
  }
  tensors <- st$tensors
  nm <- names(tensors)
  if (length(nm) > 0 && all(startsWith(nm, "module."))) names(tensors) <- substring(nm, 8)
  tensors
}

# timm's names for torchvision's VGG classifier.
timm_vgg_aliases <- c("classifier.0" = "pre_logits.fc1", "classifier.3" = "pre_logits.fc2", "classifier.6" = "head.fc")

# Sources for the targets: list(kind, values (per target, NULL when missing),
# labels (the file's name per target), unused (file entries not used)).
torch_sources <- function(tensors, targets, call) {
  values <- vector("list", nrow(targets))
  labels <- targets$key
  used <- character()
  for (k in seq_len(nrow(targets))) {
    key <- targets$key[k]
    if (is.na(key)) {
      # a parameter torchvision does not have (ResNet's convolution biases): zeros
      values[k] <- list(numeric(prod(targets$shape[[k]])))
      if (length(targets$shape[[k]]) > 1) dim(values[[k]]) <- targets$shape[[k]]
      labels[k] <- paste0(targets$torch_name[k], " (", targets$param[k], ", zero)")
      next
    }
    a <- tensors[[key]]
    if (is.null(a) && targets$torch_name[k] %in% names(timm_vgg_aliases)) {
      alias <- paste0(timm_vgg_aliases[[targets$torch_name[k]]], substring(key, nchar(targets$torch_name[k]) + 1))
      a <- tensors[[alias]]
      if (!is.null(a)) {
        key <- alias
        labels[k] <- alias
        # timm keeps the classifier as convolutions (out, in, kh, kw): flatten each
        # filter channels first, as the model's Flatten layer does
        if (length(dim(a)) == 4) {
          d <- dim(a)
          a <- aperm(a, c(1, 4, 3, 2))
          dim(a) <- c(d[1], prod(d[-1]))
        }
      }
    }
    if (!is.null(a)) used <- c(used, key)
    values[k] <- list(a)
  }
  unused <- setdiff(names(tensors), used)
  unused <- unused[!endsWith(unused, "num_batches_tracked")]
  list(kind = "torch", values = values, labels = labels, unused = unused)
}

# ---- Keras weight files ----------------------------------------------------------------

# A Keras .h5 file -> named list (layer name) of lists of arrays, each with
# attribute "weight_name" (the file's name of the weight, or its position).
read_keras_h5 <- function(full, path, call) {
  if (!requireNamespace("hdf5r", quietly = TRUE)) {
    innsight_abort(c("Reading Keras weight files ({.file .h5}) needs the package {.pkg hdf5r}.",
                     "i" = "Install it, e.g. from Debian: {.code apt-get install r-cran-hdf5r}."),
                   kind = "io", call = call)
  }
  f <- tryCatch(hdf5r::H5File$new(full, mode = "r"), error = function(e) NULL)
  if (is.null(f)) innsight_abort("Could not open {.file {path}} as an HDF5 file.", kind = "io", call = call)
  on.exit(try(f$close_all(), silent = TRUE), add = TRUE)
  out <- tryCatch({
    root <- if (f$exists("model_weights")) f[["model_weights"]] else f
    if ("layer_names" %in% hdf5r::h5attr_names(root)) {
      # Keras 2 / legacy layout (the files keras.applications downloads)
      layers <- list()
      for (ln in h5_strings(root, "layer_names")) {
        g <- root[[ln]]
        wn <- h5_strings(g, "weight_names")
        layers[[ln]] <- lapply(wn, function(w) structure(g[[w]]$read(drop = FALSE), weight_name = w))
      }
      layers
    } else if (root$exists("layers")) {
      # Keras 3 `.weights.h5`: layers/<key>/vars/<i>, the layer's name as attribute
      info <- root$ls(recursive = TRUE)
      groups <- info$name[info$obj_type == "H5I_GROUP" & grepl("(^|/)vars$", info$name)]
      layers <- list()
      for (gname in groups) {
        g <- root[[gname]]
        ln <- h5_strings(g, "name")[1]
        if (is.na(ln)) ln <- basename(dirname(gname))
        vars <- g$ls()$name
        vars <- vars[order(suppressWarnings(as.integer(vars)))]
        if (length(vars) == 0) next
        layers[[ln]] <- lapply(vars, function(v) structure(g[[v]]$read(drop = FALSE), weight_name = paste0(ln, "/vars/", v)))
      }
      layers
    } else {
      NULL
    }
  }, error = function(e) e)
  if (inherits(out, "error")) {
    innsight_abort(c("Could not read the Keras weight file {.file {path}}.", "x" = "{conditionMessage(out)}"),
                   kind = "io", call = call)
  }
  if (is.null(out)) {
    innsight_abort(c("{.file {path}} is an HDF5 file but not a Keras weight file.",
                     "i" = "Expected the attribute {.field layer_names} (Keras 2, the files of {.code keras.applications}) or a group {.field layers} (Keras 3 {.file .weights.h5})."),
                   kind = "model", call = call)
  }
  out
}

# A string attribute as a character vector (empty when absent or empty: Keras
# writes layers without weights as an empty float array, which hdf5r cannot read).
h5_strings <- function(obj, name) {
  if (!name %in% hdf5r::h5attr_names(obj)) return(character())
  a <- obj$attr_open(name)
  on.exit(a$close())
  if (prod(a$get_space()$dims) == 0) return(character())
  as.character(a$read())
}

# The Keras layer name of a list layer (keras.applications' names).
keras_layer_names <- function(model, targets, family) {
  tn <- unique(targets$torch_name)
  if (family == "vgg") {
    # features.<k> convolutions, numbered per block (blocks end at max pooling)
    out <- character()
    block <- 1L
    conv <- 0L
    for (l in model$layers) {
      if (identical(l$type, "MaxPooling2D")) {
        block <- block + 1L
        conv <- 0L
      } else if (identical(l$type, "Conv2D") && !is.null(l$torch_name)) {
        conv <- conv + 1L
        out[[l$torch_name]] <- sprintf("block%d_conv%d", block, conv)
      }
    }
    out[c("classifier.0", "classifier.3", "classifier.6")] <- c("fc1", "fc2", "predictions")
    return(out[tn])
  }
  out <- vapply(tn, function(n) {
    if (n == "conv1") return("conv1_conv")
    if (n == "bn1") return("conv1_bn")
    if (n == "fc") return("predictions")
    m <- regmatches(n, regexec("^layer([0-9]+)\\.([0-9]+)\\.(conv|bn)([0-9])$", n))[[1]]
    if (length(m) == 5) {
      return(sprintf("conv%d_block%d_%s_%s", as.integer(m[2]) + 1L, as.integer(m[3]) + 1L, m[5], m[4]))
    }
    m <- regmatches(n, regexec("^layer([0-9]+)\\.([0-9]+)\\.downsample\\.([01])$", n))[[1]]
    if (length(m) == 4) {
      return(sprintf("conv%d_block%d_0_%s", as.integer(m[2]) + 1L, as.integer(m[3]) + 1L,
                     if (m[4] == "0") "conv" else "bn"))
    }
    NA_character_
  }, "")
  out
}

keras_sources <- function(klayers, model, targets, family, call) {
  knames <- keras_layer_names(model, targets, family)
  values <- vector("list", nrow(targets))
  labels <- character(nrow(targets))
  bn_roles <- c(gamma = "gamma", beta = "beta", run_mean = "moving_mean", run_var = "moving_variance")
  for (k in seq_len(nrow(targets))) {
    kn <- knames[[targets$torch_name[k]]]
    p <- targets$param[k]
    labels[k] <- paste0(kn, "/", switch(p, weight = "kernel", run_mean = "moving_mean", run_var = "moving_variance", p))
    ws <- klayers[[kn]]
    if (is.null(ws) || length(ws) == 0) next
    ranks <- vapply(ws, function(a) length(dim(a) %||% 1L), 0L)
    a <- NULL
    if (targets$type[k] %in% c("Conv2D", "Dense")) {
      # kernel first, bias second (identified by rank, whatever the names)
      if (p == "weight") {
        j <- which(ranks > 1)[1]
        if (!is.na(j)) {
          a <- ws[[j]]
          # Conv2D: hdf5r gives (out, in, kw, kh); dense: (out, in) already
          if (length(dim(a)) == 4) a <- aperm(a, c(1, 2, 4, 3))
        }
      } else {
        j <- which(ranks == 1)[1]
        if (!is.na(j)) a <- ws[[j]]
      }
    } else if (targets$type[k] == "BatchNorm") {
      wn <- vapply(ws, function(w) attr(w, "weight_name") %||% "", "")
      role <- bn_roles[[p]]
      j <- which(grepl(paste0("(^|/)", role, "(:0)?$"), wn))[1]
      if (is.na(j) && length(ws) == 4) j <- match(p, names(bn_roles))  # Keras order
      if (!is.na(j)) a <- ws[[j]]
    }
    if (!is.null(a)) {
      attr(a, "weight_name") <- NULL
      if (length(dim(a)) <= 1) a <- as.vector(a)
    }
    values[k] <- list(a)
  }
  with_weights <- names(klayers)[lengths(klayers) > 0]
  unused <- setdiff(with_weights, unname(knames))
  list(kind = "keras", values = values, labels = labels, unused = unused)
}

# Keras' variants of the architectures (see the top of this file).
keras_architecture <- function(model, family) {
  for (i in seq_along(model$layers)) {
    l <- model$layers[[i]]
    if (family == "vgg" && identical(l$type, "Flatten")) {
      model$layers[[i]]$data_format <- "channels_last"
    }
    if (family == "resnet" && identical(l$type, "BatchNorm")) {
      model$layers[[i]]$eps <- 1.001e-5
    }
    if (family == "resnet" && identical(l$type, "Conv2D") && grepl("^layer[0-9]+\\.[0-9]+\\.conv2$", l$torch_name %||% "")) {
      s <- l$stride %||% c(1, 1)
      if (any(s > 1)) {
        # move the stride to the block's first 1x1 convolution
        first <- sub("conv2$", "conv1", l$torch_name)
        j <- which(vapply(model$layers, function(m) identical(m$torch_name, first), logical(1)))
        model$layers[[i]]$stride <- c(1, 1)
        model$layers[[j]]$stride <- s
      }
    }
  }
  model
}

# ---- checks ------------------------------------------------------------------------------

report_weight_mismatches <- function(src, targets, arch, path, call) {
  fmt_shape <- function(s) paste0("(", paste(s, collapse = ", "), ")")
  missing <- character()
  wrong <- character()
  for (k in seq_len(nrow(targets))) {
    a <- src$values[[k]]
    want <- targets$shape[[k]]
    if (is.null(a)) {
      missing <- c(missing, src$labels[k])
      next
    }
    got <- as.integer(dim(a) %||% length(a))
    if (!identical(got, want)) {
      wrong <- c(wrong, sprintf("%s: %s, expected %s", src$labels[k], fmt_shape(got), fmt_shape(want)))
    } else if (anyNA(a) || any(!is.finite(a))) {
      wrong <- c(wrong, sprintf("%s: has missing or non-finite values", src$labels[k]))
    }
  }
  unused <- src$unused
  if (length(missing) + length(wrong) + length(unused) == 0) return(invisible())
  show <- function(x, n = 8) {
    x <- gsub("}", "}}", gsub("{", "{{", x, fixed = TRUE), fixed = TRUE)  # no cli interpolation
    if (length(x) > n) c(x[seq_len(n)], sprintf("... and %d more", length(x) - n)) else x
  }
  bullets <- c(
    if (length(missing)) c("x" = sprintf("%d missing: %s", length(missing), paste(show(missing), collapse = "; "))),
    if (length(wrong)) c("x" = sprintf("%d with a wrong shape: %s", length(wrong), paste(show(wrong), collapse = "; "))),
    if (length(unused)) c("x" = sprintf("%d not used by %s: %s", length(unused), arch, paste(show(unused), collapse = "; ")))
  )
  hint <- if (length(missing) > 0 && all(grepl("^(fc|predictions|classifier|head)", missing))) {
    c("i" = "A weight file without the classifier (Keras {.code include_top = FALSE}, {.file _notop}) cannot be used.")
  }
  msg <- c("The weight file {.file {path}} does not fit the architecture {.val {arch}}.", bullets, hint)
  names(msg)[1] <- ""
  cli::cli_abort(msg, class = c("innsight_error_model", "innsight_error"), call = call,
                 .envir = environment())
}
