test_that("a dense list model converts with the documented fields and default names", {
  m <- make_mlp_model()
  conv <- Converter$new(m)
  expect_s3_class(conv, "Converter")
  expect_s3_class(conv, "R6")
  expect_identical(conv$input_dim, list(4L))
  expect_identical(conv$output_dim, list(3L))
  expect_identical(conv$input_names, list(list(factor(paste0("X", 1:4), levels = paste0("X", 1:4)))))
  expect_identical(conv$output_names, list(list(factor(paste0("Y", 1:3), levels = paste0("Y", 1:3)))))
  expect_null(conv$model_as_list)

  conv2 <- convert(m, save_model_as_list = TRUE)
  expect_identical(conv2$model_as_list, m)
  x <- rand_data(3, 4)
  expect_identical(predict(conv2, x), predict(conv, x))
})

test_that("default names of signal and image inputs follow C/L and C/H/W", {
  c1 <- convert(make_conv1d_model())
  expect_identical(c1$input_dim, list(c(3L, 16L)))
  expect_identical(lapply(c1$input_names[[1]], as.character), list(paste0("C", 1:3), paste0("L", 1:16)))
  expect_identical(as.character(c1$output_names[[1]][[1]]), c("Y1", "Y2"))

  c2 <- convert(make_conv2d_model())
  expect_identical(c2$input_dim, list(c(3L, 8L, 8L)))
  expect_identical(c2$output_dim, list(3L))
  expect_identical(lapply(c2$input_names[[1]], as.character),
                   list(paste0("C", 1:3), paste0("H", 1:8), paste0("W", 1:8)))
})

test_that("input_dim given as vector or list is cross-checked and accepted when equal", {
  m <- make_mlp_model()
  expect_identical(convert(m, input_dim = 4)$input_dim, list(4L))
  expect_identical(convert(m, input_dim = list(4))$input_dim, list(4L))
  g <- make_graph_model()
  expect_identical(convert(g, input_dim = list(3, 5))$input_dim, list(3L, 5L))
})

test_that("custom names: characters become factors, factors keep their levels", {
  m <- make_mlp_model()
  conv <- convert(m, input_names = c("d", "b", "c", "a"), output_names = c("lo", "mid", "hi"))
  expect_identical(levels(conv$input_names[[1]][[1]]), c("d", "b", "c", "a"))
  expect_identical(levels(conv$output_names[[1]][[1]]), c("lo", "mid", "hi"))

  f <- factor(c("w", "x", "y", "z"), levels = c("z", "y", "x", "w"))
  conv <- convert(m, input_names = f)
  expect_identical(conv$input_names[[1]][[1]], f)

  # list per axis for an image input
  conv2 <- convert(make_conv2d_model(),
                   input_names = list(c("red", "green", "blue"), paste0("h", 1:8), paste0("w", 1:8)))
  expect_identical(as.character(conv2$input_names[[1]][[1]]), c("red", "green", "blue"))
  expect_identical(as.character(conv2$input_names[[1]][[3]]), paste0("w", 1:8))

  # names stored in the model list are used, arguments override them
  g <- make_graph_model()
  cg <- convert(g)
  expect_identical(as.character(cg$input_names[[2]][[1]]), paste0("b", 1:5))
  expect_identical(as.character(cg$output_names[[2]][[1]]), c("r1", "r2", "r3"))
  # several output layers: a list of vectors and a list of lists are both accepted
  cg2 <- convert(g, output_names = list(c("A", "B", "C"), c("u", "v", "w")))
  cg3 <- convert(g, output_names = list(list(c("A", "B", "C")), list(c("u", "v", "w"))))
  expect_identical(cg2$output_names, cg3$output_names)
  expect_identical(as.character(cg2$output_names[[2]][[1]]), c("u", "v", "w"))
})

test_that("predict() of the dense MLP equals a plain-R forward pass", {
  m <- make_mlp_model()
  conv <- convert(m, dtype = "double")
  x <- rand_data(5, 4)
  out <- predict(conv, x, dtype = "double")
  expect_identical(dim(out), c(5L, 3L))
  expect_identical(colnames(out), c("Y1", "Y2", "Y3"))
  expect_equal(unname(out), ref_batch(ref_forward_mlp, m, x), tolerance = tol_exact)
  expect_equal(rowSums(out), rep(1, 5), tolerance = tol_exact)
  pre <- predict(conv, x, type = "preactivation", dtype = "double")
  expect_equal(unname(pre), ref_batch(ref_forward_mlp, m, x, pre = TRUE), tolerance = tol_exact)
  # a data.frame is one input
  expect_equal(predict(conv, as.data.frame(x), dtype = "double"), out, tolerance = tol_exact)
  # float precision is close to double
  expect_equal(predict(conv, x), out, tolerance = tol_float)
})

test_that("predict() of the two-input/two-output graph equals a plain-R forward pass", {
  m <- make_graph_model()
  conv <- convert(m)
  x1 <- rand_data(4, 3, seed = 1)
  x2 <- rand_data(4, 5, seed = 2)
  out <- predict(conv, list(x1, x2), dtype = "double")
  expect_type(out, "list")
  expect_length(out, 2)
  expect_identical(colnames(out[[1]]), c("cat", "dog", "fish"))
  expect_identical(colnames(out[[2]]), c("r1", "r2", "r3"))
  ref <- lapply(1:4, function(b) ref_forward_graph(m, x1[b, ], x2[b, ]))
  expect_equal(unname(out[[1]]), do.call(rbind, lapply(ref, `[[`, 1)), tolerance = tol_exact)
  expect_equal(unname(out[[2]]), do.call(rbind, lapply(ref, `[[`, 2)), tolerance = tol_exact)
})

test_that("predict() of the conv models equals plain-R convolutions, in both layouts", {
  m1 <- make_conv1d_model()
  c1 <- convert(m1)
  x1 <- rand_data(3, c(3, 16))
  out1 <- predict(c1, x1, dtype = "double")
  expect_identical(dim(out1), c(3L, 2L))
  expect_equal(unname(out1), ref_batch(ref_forward_conv1d, m1, x1), tolerance = tol_exact)
  expect_equal(predict(c1, to_channels_last(x1), channels_first = FALSE, dtype = "double"), out1,
               tolerance = tol_exact)

  m2 <- make_conv2d_model()
  c2 <- convert(m2)
  x2 <- rand_data(2, c(3, 8, 8))
  out2 <- predict(c2, x2, dtype = "double")
  expect_equal(unname(out2), ref_batch(ref_forward_conv2d, m2, x2), tolerance = tol_exact)
  expect_equal(unname(predict(c2, x2, type = "preactivation", dtype = "double")),
               ref_batch(ref_forward_conv2d, m2, x2, pre = TRUE), tolerance = tol_exact)
  expect_equal(predict(c2, to_channels_last(x2), channels_first = FALSE, dtype = "double"), out2,
               tolerance = tol_exact)
})

test_that("a Converter built in double precision predicts like the float one", {
  m <- make_conv2d_model()
  x <- rand_data(2, c(3, 8, 8))
  cf <- convert(m)
  cd <- convert(m, dtype = "double")
  expect_equal(predict(cf, x, dtype = "float"), predict(cd, x, dtype = "double"), tolerance = tol_float)
  expect_equal(predict(cd, x), predict(cd, x, dtype = "double"), tolerance = tol_exact)
})

test_that("list-format variants from the decisions table convert correctly", {
  Ws <- with_seed(7, lapply(1:4, function(i) matrix(stats::rnorm(6), 3, 2)))
  x <- rand_data(2, 2, seed = 8)
  # a Skipping input layer fans out; Concatenate with the alias `dim` (decision 2)
  model <- list(
    input_dim = 2, input_nodes = 1, output_nodes = 4,
    layers = list(
      list(type = "Skipping", input_layers = 0, output_layers = c(2, 3)),
      dense_layer(Ws[[1]], rep(0, 3), "linear", 1, 4),
      dense_layer(Ws[[2]], rep(0, 3), "linear", 1, 4),
      list(type = "Concatenate", dim = 2, input_layers = c(2, 3), output_layers = -1)
    )
  )
  out <- predict(convert(model), x, dtype = "double")
  expect_identical(dim(out), c(2L, 6L))
  expect_equal(unname(out), cbind(x %*% t(Ws[[1]]), x %*% t(Ws[[2]])), tolerance = tol_exact)

  # Add of four inputs is a plain sum (decision 19); stand-alone softmax (decision 4)
  model2 <- list(
    input_dim = 2, input_nodes = 1, output_nodes = 7,
    layers = c(
      list(list(type = "Skipping", input_layers = 0, output_layers = 2:5)),
      lapply(1:4, function(i) dense_layer(Ws[[i]], rep(0, 3), "linear", 1, 6)),
      list(list(type = "Add", input_layers = 2:5, output_layers = 7),
           list(type = "Activation", act_name = "softmax", input_layers = 6, output_layers = -1))
    )
  )
  out2 <- predict(convert(model2), x, dtype = "double")
  ref <- t(apply(x %*% t(Reduce(`+`, Ws)), 1, softmax))
  expect_equal(unname(out2), ref, tolerance = tol_exact)
  # the gradient through the stand-alone softmax (ignore_last_act = FALSE) sums to zero over classes
  g <- run_grad(convert(model2), x, ignore_last_act = FALSE, dtype = "double", verbose = FALSE)
  expect_equal(unname(apply(get_result(g), c(1, 2), sum)), matrix(0, 2, 2), tolerance = tol_exact)
  expect_gt(max(abs(get_result(g))), 1e-3)
})

test_that("print() of a Converter shows shapes, names and layers and returns invisibly", {
  conv <- convert(make_graph_model())
  txt <- print_text(conv)
  expect_match(txt, "Converter")
  expect_match(txt, "(*, 3)", fixed = TRUE)
  expect_match(txt, "(*, 5)", fixed = TRUE)
  expect_match(txt, "a1, a2, a3", fixed = TRUE)
  expect_match(txt, "cat, dog, fish", fixed = TRUE)
  expect_match(txt, "Concatenate")
  expect_match(txt, "Add")
  expect_false(attr(txt, "visible"))
  expect_identical(attr(txt, "value"), conv)

  txt2 <- print_text(convert(make_conv2d_model()))
  expect_match(txt2, "(*, 3, 8, 8)", fixed = TRUE)
  expect_match(txt2, "Image height")
  expect_match(txt2, "Conv2D")
  expect_match(txt2, "MaxPooling2D")
  expect_match(txt2, "Y1, Y2, Y3", fixed = TRUE)
  expect_match(print_text(convert(make_mlp_model(), save_model_as_list = TRUE)), "included")
  expect_match(print_text(convert(make_mlp_model())), "not included")
})
