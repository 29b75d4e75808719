# Weight files for the ImageNet architectures (torchvision/timm safetensors state
# dicts, Keras .h5 files) mapped onto innsight's list models. PLACEHOLDER.
load_imagenet_weights <- function(model, arch, path, call = parent.frame()) {
  innsight_abort("Loading ImageNet weight files is not implemented yet.", kind = "model", call = call)
}
