# The quantile sketch of data set summaries (src/rust/crates/core/src/sketch.rs),
# seen from R: accuracy, exact merging, and classed errors for malformed lists.

sketch_block <- function(...) innsight:::rust_call(innsight:::sketch_block(...))
sketch_merge <- function(...) innsight:::rust_call(innsight:::sketch_merge(...))
sketch_quantiles <- function(...) innsight:::rust_call(innsight:::sketch_quantiles(...))
sketch_buckets <- function(...) innsight:::rust_call(innsight:::sketch_buckets(...))

# The order statistic the sketch estimates, the 0-based rank r = floor(p (n - 1)):
# stats::quantile(type = 1) (the inverse ECDF) at (r + 0.5) / n, half way between
# two jumps of the ECDF so that rounding cannot pick the neighbouring rank.
exact_quantiles <- function(m, probs) {
  t(apply(m, 2, function(x) {
    n <- length(x)
    vapply(probs, function(p) unname(stats::quantile(x, (floor(p * (n - 1)) + 0.5) / n, type = 1)), 0)
  }))
}

# Relative error alpha, except for values more than six decades below their
# cell's largest magnitude `top` (one per row of `truth`): those share the cell's
# floor bucket and are only within about 1e-6 * top (the documented bound).
within_alpha <- function(est, truth, alpha, top = rep(Inf, nrow(truth))) {
  tiny <- matrix(top * 1e-6 * (1 + alpha)^4, nrow(truth), ncol(truth))
  floor <- abs(truth) < tiny
  zero <- abs(truth) < 1e-30 & !floor
  rel <- !zero & !floor
  all(abs(est[zero]) < 1e-30) && all(abs(est[floor] - truth[floor]) <= 2 * tiny[floor]) &&
    all(abs(est[rel] - truth[rel]) <= alpha * (1 + 1e-9) * abs(truth[rel]))
}
top_of <- function(m) apply(abs(m), 2, max)

test_block <- function(n) {
  set.seed(42)
  cbind(
    rnorm(n, sd = 3),
    exp(rnorm(n, sd = 6)) * sample(c(-1, 1), n, replace = TRUE),
    ifelse(runif(n) < 0.4, 0, rnorm(n)),
    -runif(n, 1e-3, 10),
    rep(2.5, n)
  )
}

probs <- c(0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1)

test_that("sketch quantiles are within relative error alpha of the exact ones", {
  m <- test_block(1001)
  for (alpha in c(0.005, 0.02)) {
    s <- sketch_block(m, alpha)
    expect_identical(s$cells, ncol(m))
    expect_equal(s$count, rep(nrow(m), ncol(m)))
    expect_equal(s$sum, colSums(m))
    expect_equal(s$sum_abs, colSums(abs(m)))
    expect_equal(s$sum_sq, colSums(m^2))
    expect_identical(s$min, apply(m, 2, min))
    expect_identical(s$max, apply(m, 2, max))
    q <- sketch_quantiles(s, probs, FALSE)
    expect_identical(dim(q), c(ncol(m), length(probs)))
    truth <- exact_quantiles(m, probs)
    expect_true(within_alpha(q, truth, alpha, top_of(m)))
    expect_identical(q[, 1], apply(m, 2, min))
    expect_identical(q[, length(probs)], apply(m, 2, max))
  }
})

test_that("cells are the flattened non-first axes in column-major order", {
  set.seed(1)
  a <- array(rnorm(50 * 3 * 4), c(50, 3, 4))
  s <- sketch_block(a, 0.005)
  expect_identical(s$cells, 12L)
  expect_identical(s$max, apply(matrix(a, 50), 2, max))
  expect_identical(sketch_quantiles(s, 0.5, FALSE), sketch_quantiles(sketch_block(matrix(a, 50), 0.005), 0.5, FALSE))
  one <- sketch_block(7.25, 0.005)
  expect_identical(one$cells, 1L)
  expect_identical(sketch_quantiles(one, probs, FALSE), matrix(7.25, 1, length(probs)))
})

test_that("merged sketches of parts equal the sketch of the whole block", {
  m <- test_block(900)
  whole <- sketch_block(m, 0.005)
  parts <- lapply(split(seq_len(nrow(m)), rep(1:4, c(1, 299, 400, 200))), function(i) sketch_block(m[i, , drop = FALSE], 0.005))
  left <- Reduce(sketch_merge, parts)
  right <- Reduce(function(a, b) sketch_merge(b, a), rev(parts))
  pairs <- sketch_merge(sketch_merge(parts[[3]], parts[[1]]), sketch_merge(parts[[4]], parts[[2]]))
  for (merged in list(left, right, pairs)) {
    for (f in c("alpha", "cells", "count", "min", "max", "buckets")) {
      expect_identical(merged[[f]], whole[[f]], label = f)
    }
    for (f in c("sum", "sum_abs", "sum_sq")) expect_equal(merged[[f]], whole[[f]], tolerance = 1e-12)
    expect_identical(sketch_quantiles(merged, probs, TRUE), sketch_quantiles(whole, probs, TRUE))
  }
  # the list survives serialisation (it travels between future workers)
  expect_identical(unserialize(serialize(whole, NULL)), whole)
  expect_identical(sketch_merge(unserialize(serialize(left, NULL)), sketch_block(m[0, , drop = FALSE], 0.005))$buckets,
                   whole$buckets)
})

test_that("quantiles of |x| come from the sketch of x", {
  m <- test_block(777)
  s <- sketch_block(m, 0.005)
  q <- sketch_quantiles(s, probs, TRUE)
  expect_true(within_alpha(q, exact_quantiles(abs(m), probs), 0.005, top_of(m)))
  expect_identical(q[, length(probs)], apply(abs(m), 2, max))
  # an all-negative cell: the smallest |x| is known exactly
  expect_identical(q[4, 1], min(abs(m[, 4])))
})

test_that("an empty block gives NA quantiles", {
  s <- sketch_block(matrix(numeric(), 0, 2), 0.005)
  expect_identical(s$count, c(0, 0))
  expect_true(all(is.na(s$min)))
  expect_true(all(is.na(sketch_quantiles(s, c(0.1, 0.5), FALSE))))
})

test_that("bad input and malformed sketches give classed errors", {
  m <- test_block(20)
  s <- sketch_block(m, 0.005)
  bad <- m
  bad[3, 2] <- NaN
  expect_innsight_error(sketch_block(bad, 0.005), "data", "cell 2")
  expect_innsight_error(sketch_block(m, 0), "argument")
  expect_innsight_error(sketch_block("a", 0.005), "data")
  expect_innsight_error(sketch_merge(s, sketch_block(m, 0.01)), "argument", "accuracy")
  expect_innsight_error(sketch_merge(s, sketch_block(m[, 1:2], 0.005)), "argument", "cells")
  expect_innsight_error(sketch_quantiles(s, 2, FALSE), "argument")
  expect_innsight_error(sketch_quantiles(s, 0.5, NA), "argument")

  expect_innsight_error(sketch_quantiles(s[setdiff(names(s), "buckets")], 0.5, FALSE), "data", "buckets")
  expect_innsight_error(sketch_quantiles(list(1, 2), 0.5, FALSE), "data", "alpha")
  expect_innsight_error(sketch_quantiles("s", 0.5, FALSE), "data")
  broken <- function(f, v) {
    s[[f]] <- v
    s
  }
  expect_innsight_error(sketch_quantiles(broken("count", s$count[-1]), 0.5, FALSE), "data", "count")
  expect_innsight_error(sketch_quantiles(broken("count", s$count + 1), 0.5, FALSE), "data", "count")
  # the raw bucket encoding: cut short, extended, not raw, a key step of zero,
  # a bucket count of zero, a cell claiming more buckets than there are bytes
  raw <- s$buckets
  expect_innsight_error(sketch_quantiles(broken("buckets", raw[-length(raw)]), 0.5, FALSE), "data", "ends inside cell 5")
  expect_innsight_error(sketch_quantiles(broken("buckets", c(raw, as.raw(0))), 0.5, FALSE), "data", "after the last cell")
  expect_innsight_error(sketch_quantiles(broken("buckets", as.integer(raw)), 0.5, FALSE), "data", "raw vector")
  b <- sketch_buckets(s)
  expect_identical(sum(b$n), sum(s$count))
  # cell 1 starts with its number of buckets (one byte if below 128), its first key
  # and count; then comes the step to the second key, set to zero here
  n1 <- sum(b$cell == 1)
  expect_true(n1 >= 2 && n1 < 128)
  step_at <- function(r) {
    i <- 2L
    skip <- function(i) { while (as.integer(r[i]) >= 128L) i <- i + 1L; i + 1L }
    i <- skip(i)
    skip(i)
  }
  z <- raw
  z[step_at(raw)] <- as.raw(0)
  expect_innsight_error(sketch_quantiles(broken("buckets", z), 0.5, FALSE), "data", "do not increase")
  expect_innsight_error(sketch_quantiles(broken("buckets", c(as.raw(0xff), as.raw(0x7f), raw[-1])), 0.5, FALSE), "data",
                        "more buckets than bytes")
  expect_innsight_error(sketch_quantiles(broken("buckets", as.raw(rep(0xff, 12))), 0.5, FALSE), "data", "overlong")
  expect_innsight_error(sketch_quantiles(broken("buckets", rev(raw)), 0.5, FALSE), "data", "buckets|cell")
  expect_innsight_error(sketch_quantiles(broken("min", s$max), 0.5, FALSE), "data", "min")
  expect_innsight_error(sketch_quantiles(broken("sum", rep(NA_real_, 5)), 0.5, FALSE), "data", "sum")
  expect_innsight_error(sketch_merge(s, broken("cells", "5")), "data", "cells")
})

test_that("a cell's buckets stay bounded however many long-tailed values it sees", {
  # 24 decades: without the floor the buckets would keep growing with the draws
  set.seed(9)
  draw <- function(n) matrix(10^runif(n, -14, 10) * sample(c(-1, 1), n, replace = TRUE), n)
  acc <- sketch_block(draw(2000), 0.005)
  sizes <- length(sketch_buckets(acc)$key)
  for (i in 1:5) {
    acc <- sketch_merge(acc, sketch_block(draw(2000), 0.005))
    sizes <- c(sizes, length(sketch_buckets(acc)$key))
  }
  # six decades per sign at 0.5 %: 2 * ceil(6 log(10) / log(1.01005)) + 1 buckets
  bound <- 2 * ceiling(6 * log(10) / log(1.005 / 0.995)) + 1
  expect_true(all(sizes <= bound))
  expect_gt(sizes[6], 0.5 * bound)
  # and the summary is still consistent: every value counted, extremes exact
  expect_identical(acc$count, 12000)
  expect_identical(sum(sketch_buckets(acc)$n), 12000)
})
