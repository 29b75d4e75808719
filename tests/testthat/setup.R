# Keep the Rust thread pool small for the test run; restored afterwards.
old_innsight_opts <- options(innsight.threads = 2L)
withr::defer(options(old_innsight_opts), testthat::teardown_env())
