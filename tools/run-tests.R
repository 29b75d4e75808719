# Run the testthat suite against the installed package and print a plain
# "N passed, N failed" line (testthat's own summary is not machine-readable).
# Exits non-zero on any failure or error.
options(innsight.threads = 2L)
# The developers' suite: without NOT_CRAN, testthat skips the snapshot tests and
# then deletes their snapshots as unused.
if (!nzchar(Sys.getenv("NOT_CRAN"))) Sys.setenv(NOT_CRAN = "true")
res <- testthat::test_dir("tests/testthat", package = "innsight", load_package = "installed",
                          reporter = testthat::ProgressReporter$new(show_praise = FALSE),
                          stop_on_failure = FALSE)
df <- as.data.frame(res)
passed <- sum(df$passed)
failed <- sum(df$failed) + sum(df$error)
skipped <- sum(df$skipped)
cat(sprintf("R: %d passed, %d failed, %d skipped\n", passed, failed, skipped))
writeLines(sprintf("%d %d %d", passed, failed, skipped), Sys.getenv("INNSIGHT_R_COUNTS", "/dev/null"))
quit(status = if (failed > 0) 1 else 0)
