# The ImageNet article's workflow on VGG- and ResNet-shaped list models: every one
# of its seven method configurations runs on channels-last images for the predicted
# class of each image and gives finite attributions of the right shape.

run_article <- function(model) {
  conv <- convert(model)
  size <- model$input_dim[2]
  set.seed(7)
  images <- array(runif(2 * size * size * 3, 0, 255), c(2, size, size, 3)) - 120
  probs <- predict(conv, images, channels_first = FALSE)
  expect_equal(dim(probs), c(2, 10))
  top <- apply(probs, 1, which.max)
  for (name in names(article_configs())) {
    conf <- article_configs()[[name]]
    for (i in 1:2) {
      args <- conf$args
      args$converter <- conv
      args$data <- images[i, , , , drop = FALSE]
      args$output_idx <- top[i]
      args$channels_first <- FALSE
      args$verbose <- FALSE
      if (identical(args$x_ref, "mean")) {
        # the article's per-channel Gaussian reference
        m <- apply(args$data, 4, mean)
        s <- apply(args$data, 4, sd)
        noise <- array(rnorm(size * size * 3), c(1, size, size, 3))
        args$x_ref <- sweep(sweep(noise, 4, s, "*"), 4, m, "+")
      }
      res <- do.call(conf$method, args)
      a <- get_result(res)
      expect_equal(dim(a), c(1, size, size, 3, 1), info = name)
      expect_true(all(is.finite(a)), info = name)
      expect_gt(max(abs(a)), 0, label = paste(name, "max |attribution|"))
      df <- get_result(res, "data.frame")
      expect_equal(nrow(df), size * size * 3)
      expect_true(all(is.finite(df$decomp_sum)), info = name)
    }
  }
}

test_that("the article's seven configurations run on a VGG-shaped model (channels last)", {
  run_article(vgg_shaped())
})

test_that("the article's seven configurations run on a ResNet-shaped model (channels last)", {
  run_article(resnet_shaped())
})

test_that("DeepLift on the ResNet-shaped model sums to the output difference", {
  model <- resnet_shaped()
  conv <- convert(model, dtype = "double")
  set.seed(3)
  x <- array(rnorm(32 * 32 * 3), c(1, 32, 32, 3))
  x_ref <- array(rnorm(32 * 32 * 3, sd = 0.1), c(1, 32, 32, 3))
  for (rule in c("rescale", "reveal_cancel")) {
    dl <- DeepLift$new(conv, x, x_ref = x_ref, rule_name = rule, channels_first = FALSE,
                       output_idx = 1:3, winner_takes_all = FALSE, dtype = "double", verbose = FALSE)
    sums <- apply(get_result(dl), c(1, 5), sum)
    expect_equal(sums, dl$decomp_goal[[1]], tolerance = 1e-8, ignore_attr = TRUE)
  }
})
