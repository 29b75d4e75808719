library(testthat)
library(innsight)

test_check("innsight")
