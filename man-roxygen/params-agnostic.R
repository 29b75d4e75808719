#' @param model The model to explain: a [`Converter`], a fitted `neuralnet` or
#'   Keras model (built-in predictions), or any other model together with
#'   `pred_fun` (and, for LIME, `output_type`).
#' @param data (`matrix`, `data.frame` or `array`)\cr The instances to explain,
#'   batch axis first (one input layer only).
#' @param data_ref (`matrix`, `data.frame`, `array` or `NULL`)\cr The reference
#'   (background) data, shaped like `data`: features switched off take their
#'   values from it. Default (`NULL`): `data` itself. For images, one baseline
#'   image (e.g. all zeros or the mean image) is usual.
#' @param pred_fun (`function` or `NULL`)\cr A prediction function with an
#'   argument `newdata` (tables: a data frame with one column per feature;
#'   images and signals: an array with the instances on the first axis, in the
#'   layout of `data`) returning one row of outputs per instance. Needed for models other than
#'   [`Converter`], `neuralnet` and Keras models; replaces the built-in one when
#'   given.
#' @param channels_first (`logical(1)`)\cr Whether the channel axis of image and
#'   signal data comes right after the batch axis (default `TRUE`).
#' @param input_dim (`integer` or `NULL`)\cr The shape of one instance (channels
#'   first); checked against the data. Default: taken from `data_ref`.
#' @param input_names (`character`, `factor`, `list` or `NULL`)\cr Names of the
#'   input features. Default: the model's own, the column names of the data
#'   (tables), or generated names.
#' @param output_names (`character`, `factor`, `list` or `NULL`)\cr Names of the
#'   output nodes. Default: the model's own, the column names of the
#'   predictions, or generated names.
#' @param feature_groups (`array`, `vector` or `NULL`)\cr Features that are
#'   switched on and off together: a label per feature of one instance (an array
#'   shaped like an instance, or a vector in R's column-major order), e.g.
#'   superpixels. Each feature of a group gets an equal share of the group's
#'   value.
#' @param patch_size (`integer` or `NULL`)\cr For images and signals without
#'   `feature_groups`: groups are patches of this size along the spatial axes
#'   (all channels together). Default: a grid of at most 16 patches per spatial
#'   axis. Tables default to one group per feature.
#' @param verbose (`logical(1)`)\cr Show a progress bar.
#' @param dtype (`character(1)`)\cr Precision of a [`Converter`]'s forward passes,
#'   `"float"` (default) or `"double"`.
