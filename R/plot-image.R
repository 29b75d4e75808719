# Images in plots: input images shown next to or under heatmaps, the diverging
# colour map, and two raster geoms:
# * GeomRasterRGB: a geom_raster whose pixels carry their own colour (aesthetic
#   `rgb`, not scaled), so an image and a heatmap with a fill scale can share a plot;
# * GeomPanelRaster: one pre-coloured raster per panel (one data row per panel),
#   which draws a grid of large heatmaps in a fraction of the time geom_raster
#   needs for millions of pixel rows (used by plot_comparison()).

# Name of the extra facet column that shows the input images.
image_column_label <- "Input image"

# ---- colours ----------------------------------------------------------------

# Colours for values in [-1, 1]: a palette of `n` colours interpolated in Lab
# space between colours[1] (-1), colours[2] (0) and colours[3] (1), looked up by
# index (vectorised). NA values give NA.
diverging_colours <- function(v, colours = c("blue", "white", "red"), n = 511L) {
  pal <- grDevices::colorRampPalette(colours, space = "Lab")(n)
  idx <- round((pmin(pmax(v, -1), 1) + 1) / 2 * (n - 1)) + 1
  pal[idx]
}

# Alpha-composite colour `fg` (hex) with opacity `alpha` over `bg` (hex); vectorised.
blend_colours <- function(fg, bg, alpha) {
  f <- grDevices::col2rgb(fg) / 255
  b <- grDevices::col2rgb(bg) / 255
  o <- f * rep(alpha, each = 3) + b * (1 - rep(alpha, each = 3))
  grDevices::rgb(o[1, ], o[2, ], o[3, ])
}

# Opacity of heatmap pixels over an image: `alpha` times the square root of the
# normalised absolute value, so that pixels without attribution show the image
# and the strongest ones the heatmap colour at opacity `alpha`.
overlay_opacity <- function(v, alpha) {
  a <- alpha * sqrt(pmin(abs(v), 1))
  a[!is.finite(a)] <- 0
  a
}

# ---- images -----------------------------------------------------------------

# (N, C, H, W) -> (N, H, W, 3) in [0, 1]. `scaling`: "auto" keeps [0, 1], divides
# [0, 255] by 255 and min-max scales anything else per image; "minmax" always
# min-max scales per image (used for the method's own, preprocessed data).
rgb_images <- function(x, scaling = c("auto", "minmax")) {
  scaling <- match.arg(scaling)
  d <- dim(x)
  N <- d[1]
  C <- d[2]
  if (C == 4) {
    x <- x[, 1:3, , , drop = FALSE]
    C <- 3
  }
  if (C != 3) {
    # one channel is grey; other channel counts are shown as the channel mean
    g <- if (C == 1) x[, 1, , , drop = FALSE] else array(apply_channel_mean(x), c(N, 1, d[3], d[4]))
    x <- g[, c(1, 1, 1), , , drop = FALSE]
  }
  x[!is.finite(x)] <- 0
  rng <- range(x)
  if (scaling == "auto" && rng[1] >= 0 && rng[2] <= 1) {
    out <- x
  } else if (scaling == "auto" && rng[1] >= 0 && rng[2] <= 255) {
    out <- x / 255
  } else {
    flat <- matrix(x, N)
    lo <- apply(flat, 1, min)
    hi <- apply(flat, 1, max)
    span <- ifelse(hi > lo, hi - lo, 1)
    out <- array((flat - lo) / span, dim(x))
  }
  aperm(out, c(1, 3, 4, 2))
}

apply_channel_mean <- function(x) {
  d <- dim(x)
  rowMeans(matrix(aperm(x, c(1, 3, 4, 2)), ncol = d[2]))
}

# Hex colours of image n of an (N, H, W, 3) array, as an H x W matrix; grey
# (luminance) with `grey = TRUE`.
image_hex <- function(imgs, n, grey = FALSE) {
  d <- dim(imgs)
  r <- imgs[n, , , 1]
  g <- imgs[n, , , 2]
  b <- imgs[n, , , 3]
  if (grey) {
    l <- 0.299 * r + 0.587 * g + 0.114 * b
    r <- g <- b <- l
  }
  matrix(grDevices::rgb(pmin(pmax(r, 0), 1), pmin(pmax(g, 0), 1), pmin(pmax(b, 0), 1)), d[2], d[3])
}

# The images of a method's input layer j for the instances `data_idx`, as an
# (N, H, W, 3) array in [0, 1]: the user's `images` (any layout, see
# as_image_array()) or the method's data, min-max scaled per image.
method_images <- function(m, j, data_idx, images = NULL, arg = "images", call = parent.frame()) {
  B <- result_batch_size(m)
  if (!is.null(images)) {
    imgs <- as_image_array(images, arg, call = call)
    N <- dim(imgs)[1]
    if (N == B) return(imgs[data_idx, , , , drop = FALSE])
    if (N == length(data_idx)) return(imgs)
    innsight_abort(c("{.arg {arg}} must hold one image per instance of the data ({B}) or per plotted instance ({length(data_idx)}).",
                     "x" = "It holds {N} image{?s}."), call = call)
  }
  x <- m$data[[j]]
  if (is.null(x)) {
    innsight_abort(c("The method has no input data to show as images.",
                     "i" = "Pass the images in {.arg {arg}}."), call = call)
  }
  if (!m$channels_first) x <- aperm(x, c(1, 4, 2, 3))
  rgb_images(x[data_idx, , , , drop = FALSE], "minmax")
}

# User images -> (N, H, W, 3) in [0, 1]. Accepts file paths (PNG/JPEG, read with
# load_images()), (N, H, W) grey arrays, and (N, H, W, C) or (N, C, H, W) arrays
# with C = 1, 3 or 4 (alpha is dropped); values in [0, 1] or [0, 255] are kept
# as they are, anything else is min-max scaled per image.
as_image_array <- function(images, arg = "images", target_size = NULL, call = parent.frame()) {
  if (is.character(images)) {
    if (length(images) == 0 || anyNA(images)) {
      innsight_abort("{.arg {arg}} must not be empty or contain missing paths.", call = call)
    }
    if (!all(file.exists(images))) {
      innsight_abort("{cli::qty(sum(!file.exists(images)))}File{?s} in {.arg {arg}} not found: {.file {images[!file.exists(images)]}}.",
                     call = call)
    }
    x <- load_images(images, target_size = target_size, channels_first = TRUE)
    return(rgb_images(x, "auto"))
  }
  if (!is.numeric(images) || !is.array(images) || !length(dim(images)) %in% c(3, 4)) {
    innsight_abort(c("{.arg {arg}} must be image file paths or a numeric array of images.",
                     "i" = "Arrays: (N, height, width, channels), (N, channels, height, width) or grey (N, height, width).",
                     "x" = "Got {.obj_type_friendly {images}}{if (is.array(images)) paste0(' with dimensions (', paste(dim(images), collapse = ', '), ')') else ''}."),
                   call = call)
  }
  d <- dim(images)
  if (length(d) == 3) {
    x <- array(images, c(d[1], 1, d[2], d[3]))
  } else if (d[4] %in% c(1, 3, 4)) {
    x <- aperm(images, c(1, 4, 2, 3))
  } else if (d[2] %in% c(1, 3, 4)) {
    x <- images
  } else {
    innsight_abort(c("{.arg {arg}} must have 1, 3 or 4 channels, first or last.",
                     "x" = "Got dimensions ({paste(d, collapse = ', ')})."), call = call)
  }
  rgb_images(x, "auto")
}

# Long data frame (x, y, rgb, data) of images for GeomRasterRGB.
image_layer_df <- function(imgs, data_idx, grey = FALSE) {
  d <- dim(imgs)
  N <- d[1]
  H <- d[2]
  W <- d[3]
  hex <- unlist(lapply(seq_len(N), function(n) as.vector(image_hex(imgs, n, grey))), use.names = FALSE)
  data.frame(
    x = rep(rep(seq_len(W), each = H), N),
    y = rep(seq_len(H), W * N),
    rgb = hex,
    data = factor(rep(paste0("data_", data_idx), each = H * W), levels = paste0("data_", data_idx)),
    stringsAsFactors = FALSE
  )
}

# ---- geoms ------------------------------------------------------------------

GeomRasterRGB <- ggplot2::ggproto("GeomRasterRGB", ggplot2::GeomRaster,
  required_aes = c("x", "y", "rgb"),
  default_aes = ggplot2::aes(rgb = "grey50", alpha = NA),
  draw_panel = function(self, data, panel_params, coord, interpolate = FALSE, hjust = 0.5, vjust = 0.5) {
    data$fill <- data$rgb
    ggplot2::ggproto_parent(ggplot2::GeomRaster, self)$draw_panel(data, panel_params, coord, interpolate,
                                                                    hjust, vjust)
  },
  draw_key = ggplot2::draw_key_blank
)

# Image layer for ggplot2 plots: columns x, y, rgb of `data`.
geom_image_rgb <- function(data, interpolate = FALSE) {
  ggplot2::layer(geom = GeomRasterRGB, stat = "identity", position = "identity", data = data,
                 mapping = ggplot2::aes(x = .data$x, y = .data$y, rgb = .data$rgb),
                 show.legend = FALSE, inherit.aes = FALSE, params = list(interpolate = interpolate))
}

GeomPanelRaster <- ggplot2::ggproto("GeomPanelRaster", ggplot2::Geom,
  required_aes = c("xmin", "xmax", "ymin", "ymax", "raster_id"),
  default_aes = ggplot2::aes(),
  draw_key = ggplot2::draw_key_blank,
  draw_panel = function(self, data, panel_params, coord, rasters) {
    if (nrow(data) == 0) return(grid::nullGrob())
    pos <- coord$transform(data, panel_params)
    grobs <- lapply(seq_len(nrow(pos)), function(i) {
      r <- rasters[[pos$raster_id[i]]]
      grid::rasterGrob(r, x = min(pos$xmin[i], pos$xmax[i]), y = min(pos$ymin[i], pos$ymax[i]),
                       width = abs(pos$xmax[i] - pos$xmin[i]), height = abs(pos$ymax[i] - pos$ymin[i]),
                       just = c("left", "bottom"), default.units = "native",
                       interpolate = isTRUE(attr(r, "interpolate")))
    })
    do.call(grid::grobTree, grobs)
  }
)

# One raster (a matrix of colours, drawn with row 1 at the top) per data row;
# `rasters` is the list of matrices, `raster_id` in the data indexes it.
geom_panel_raster <- function(data, rasters) {
  rasters <- lapply(rasters, function(r) {
    out <- grDevices::as.raster(r)
    attr(out, "interpolate") <- isTRUE(attr(r, "interpolate"))
    out
  })
  ggplot2::layer(geom = GeomPanelRaster, stat = "identity", position = "identity", data = data,
                 mapping = ggplot2::aes(xmin = .data$xmin, xmax = .data$xmax, ymin = .data$ymin,
                                        ymax = .data$ymax, raster_id = .data$raster_id),
                 show.legend = FALSE, inherit.aes = FALSE, params = list(rasters = rasters))
}
