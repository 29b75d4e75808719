# Step 1 of `make demo-models`: write the tabular training data as CSV files for
# tools/demo-models/train.py.
#
#   Rscript tools/demo-models/export-data.R WORKDIR
#
# iris (base R) and palmerpenguins' `penguins` (the rows with all four body
# measurements, 342 of 344). The split is fixed, with no random numbers: every third
# row (rows 3, 6, 9, ... of the data as written) is a test row, the others are
# training rows. Both data sets are sorted by species, so the split is stratified.
args <- commandArgs(trailingOnly = TRUE)
work <- if (length(args)) args[1] else stop("usage: Rscript export-data.R WORKDIR")
dir.create(work, showWarnings = FALSE, recursive = TRUE)

write_set <- function(x, y, file) {
  d <- data.frame(x, label = as.integer(y) - 1L, test = seq_len(nrow(x)) %% 3L == 0L)
  utils::write.csv(d, file.path(work, file), row.names = FALSE)
  cat("wrote", file, ":", nrow(d), "rows,", sum(d$test), "test rows\n")
}

write_set(iris[, 1:4], iris$Species, "iris.csv")

peng <- as.data.frame(palmerpenguins::penguins)
cols <- c("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
peng <- peng[stats::complete.cases(peng[, cols]), ]
write_set(peng[, cols], peng$species, "penguins.csv")
