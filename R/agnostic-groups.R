# Feature groups of the model-agnostic methods: which features are switched on and
# off together. Returned as one 1-based group id per feature, in R's column-major
# order of the caller's instance shape (the order of the flattened rows).

# Dense ids in order of first appearance.
dense_ids <- function(v) match(v, unique(v))

# Patches over the spatial axes (all channels together); `patch` per spatial axis.
patch_groups <- function(user_dim, spatial_axes, patch) {
  idx <- arrayInd(seq_len(prod(user_dim)), user_dim)
  id <- numeric(nrow(idx))
  stride <- 1
  for (a in seq_along(spatial_axes)) {
    ax <- spatial_axes[a]
    id <- id + ((idx[, ax] - 1) %/% patch[a]) * stride
    stride <- stride * ceiling(user_dim[ax] / patch[a])
  }
  dense_ids(id)
}

feature_groups_vector <- function(feature_groups, patch_size, user_dim, channels_first, call) {
  d <- prod(user_dim)
  rank <- length(user_dim)
  if (!is.null(feature_groups) && !is.null(patch_size)) {
    innsight_abort("Pass either {.arg feature_groups} or {.arg patch_size}, not both.", call = call)
  }
  if (!is.null(feature_groups)) {
    fg <- if (is.data.frame(feature_groups)) unlist(feature_groups, use.names = FALSE) else feature_groups
    shape_ok <- if (is.null(dim(fg))) length(fg) == d else identical(as.integer(dim(fg)), as.integer(user_dim))
    if (!shape_ok || anyNA(fg) || !(is.numeric(fg) || is.factor(fg) || is.character(fg))) {
      innsight_abort(c("{.arg feature_groups} must label every feature of one instance: an array of shape ({paste(user_dim, collapse = ', ')}) or a vector of length {d} without missing values.",
                       "x" = "Got {.obj_type_friendly {feature_groups}}{if (!is.null(dim(fg))) paste0(' of shape (', paste(dim(fg), collapse = ', '), ')') else ''}."),
                     call = call)
    }
    return(dense_ids(as.vector(if (is.factor(fg)) as.character(fg) else fg)))
  }
  spatial_axes <- if (rank == 1) 1L else if (channels_first) seq(2, rank) else seq_len(rank - 1)
  spatial <- user_dim[spatial_axes]
  if (is.null(patch_size)) {
    if (rank == 1) return(seq_len(d))
    patch_size <- ceiling(spatial / 16)
  }
  if (!is_integerish(patch_size) || any(patch_size < 1) || !length(patch_size) %in% c(1, length(spatial))) {
    innsight_abort("{.arg patch_size} must be one positive integer or one per spatial axis ({length(spatial)}).", call = call)
  }
  patch <- rep_len(as.integer(patch_size), length(spatial))
  if (any(patch > spatial)) {
    innsight_abort("{.arg patch_size} ({paste(patch, collapse = ' x ')}) is larger than the input ({paste(spatial, collapse = ' x ')}).",
                   call = call)
  }
  patch_groups(user_dim, spatial_axes, patch)
}
