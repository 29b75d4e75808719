# `make demo`: convert a small network, explain it with every gradient method, and
# print what was computed. (A later version explains trained models.)
suppressPackageStartupMessages(library(innsight))
options(innsight.threads = 2L)
set.seed(2026)

cat("innsight", as.character(utils::packageVersion("innsight")), "- a Rust core, no torch needed\n\n")

# A small image classifier in innsight's list format (random weights):
# 3x16x16 image -> conv 3x3 (8) -> relu -> max-pool 2 -> conv 3x3 (8) -> relu
# -> global average pooling -> dense softmax over 4 classes.
rn <- function(...) array(rnorm(prod(c(...)), sd = 0.3), c(...))
model <- list(
  input_dim = c(3, 16, 16), input_nodes = 1, output_nodes = 5,
  input_names = list(c("red", "green", "blue"), paste0("h", 1:16), paste0("w", 1:16)),
  output_names = c("cat", "dog", "bird", "fish"),
  layers = list(
    list(type = "Conv2D", weight = rn(8, 3, 3, 3), bias = rn(8), padding = 1,
         activation_name = "relu", input_layers = 0, output_layers = 2),
    list(type = "MaxPooling2D", kernel_size = c(2, 2), input_layers = 1, output_layers = 3),
    list(type = "Conv2D", weight = rn(8, 8, 3, 3), bias = rn(8), padding = 1,
         activation_name = "relu", input_layers = 2, output_layers = 4),
    list(type = "GlobalPooling", method = "average", input_layers = 3, output_layers = 5),
    list(type = "Dense", weight = rn(4, 8), bias = rn(4), activation_name = "softmax",
         input_layers = 4, output_layers = -1)
  )
)
conv <- convert(model)
print(conv)

# four images in Keras' layout (batch, height, width, channels)
x <- array(runif(4 * 16 * 16 * 3), c(4, 16, 16, 3))
probs <- predict(conv, x, channels_first = FALSE)
top <- apply(probs, 1, which.max)
cat("\nPredictions:\n")
print(data.frame(image = 1:4, class = colnames(probs)[top], probability = round(apply(probs, 1, max), 3)))

methods <- list(
  "Gradient" = function(i) run_grad(conv, x[i, , , , drop = FALSE], channels_first = FALSE, output_idx = top[i], verbose = FALSE),
  "SmoothGrad (n = 10)" = function(i) run_smoothgrad(conv, x[i, , , , drop = FALSE], n = 10, channels_first = FALSE, output_idx = top[i], verbose = FALSE),
  "Gradient x Input" = function(i) run_grad(conv, x[i, , , , drop = FALSE], times_input = TRUE, channels_first = FALSE, output_idx = top[i], verbose = FALSE),
  "IntegratedGradient (n = 50)" = function(i) run_intgrad(conv, x[i, , , , drop = FALSE], channels_first = FALSE, output_idx = top[i], verbose = FALSE),
  "ExpectedGradient (n = 50)" = function(i) run_expgrad(conv, x[i, , , , drop = FALSE], data_ref = x, channels_first = FALSE, output_idx = top[i], verbose = FALSE)
)

cat("\nAttributions for each image's predicted class (sum over pixels vs. the goal):\n")
rows <- list()
for (name in names(methods)) {
  for (i in 1:4) {
    t <- system.time(res <- methods[[name]](i))[["elapsed"]]
    a <- get_result(res)
    goal <- res$decomp_goal[[1]][1, 1]
    rows[[length(rows) + 1]] <- data.frame(method = name, image = i, seconds = round(t, 3),
                                           sum = signif(sum(a), 4), goal = signif(goal, 4),
                                           max_abs = signif(max(abs(a)), 3))
  }
}
print(do.call(rbind, rows), row.names = FALSE)

# the most relevant pixels of image 1 by Gradient x Input, channels summed
gxi <- get_result(methods[["Gradient x Input"]](1))[1, , , , 1]
heat <- apply(gxi, c(1, 2), sum)
cat("\nImage 1, Gradient x Input summed over channels: top 5 pixels\n")
o <- order(-abs(heat))[1:5]
print(data.frame(row = (o - 1) %% 16 + 1, col = (o - 1) %/% 16 + 1, relevance = signif(heat[o], 3)))
df <- get_result(methods[["Gradient"]](1), "data.frame")
cat("\nget_result(..., \"data.frame\") has", nrow(df), "rows and columns:", paste(names(df), collapse = ", "), "\n")
