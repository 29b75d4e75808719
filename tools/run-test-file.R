# Run one testthat file against the installed package (the optional Python-backed
# suites: make test-keras, make test-torch), print the measurements the tests wrote
# to the file named by the environment variable `report_var`, and end with a plain
# "N passed, N failed" line. Usage: Rscript tools/run-test-file.R FILE REPORT_VAR HEADING
args <- commandArgs(trailingOnly = TRUE)
options(innsight.threads = 2L)
res <- testthat::test_file(args[[1]], package = "innsight", load_package = "installed",
                           reporter = testthat::ProgressReporter$new(show_praise = FALSE), stop_on_failure = FALSE)
df <- as.data.frame(res)
failed <- sum(df$failed) + sum(df$error)
report <- readLines(Sys.getenv(args[[2]]))
if (length(report)) { cat("\n", args[[3]], ":\n", sep = ""); writeLines(paste0("  ", report)) }
if (sum(df$skipped) > 0) cat(sum(df$skipped), "skipped\n")
cat(sprintf("%d passed, %d failed\n", sum(df$passed), failed))
quit(status = if (failed > 0) 1 else 0)
