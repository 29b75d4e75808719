#!/usr/bin/env python3
"""Keras weight files (.h5) for innsight's `imagenet_model(weights = )` /
`load_imagenet_weights()`, with Keras' own outputs.

  python tools/imagenet/make_keras_fixtures.py tiny
      Small models with keras.applications' layer names (a VGG in the layout of
      keras.applications.VGG16, and a ResNet made by keras.applications' own ResNet
      builder from two small stacks), random weights, saved in the legacy layout
      that keras.applications downloads (`<name>_keras.h5`), in Keras 3's layout
      (`.weights.h5`) and as a Keras 3 archive (`.keras`), in
      tests/testthat/fixtures/imagenet/, plus inputs, logits and probabilities
      (`tiny_keras_expected.h5`). Committed; testthat reads them with hdf5r.

  python tools/imagenet/make_keras_fixtures.py full OUTDIR
      keras.applications' VGG16, VGG19 and ResNet50 with `weights=None` (fixed seed,
      batch normalisation statistics and biases randomised), saved in the legacy
      layout as OUTDIR/<arch>_keras.h5 with OUTDIR/<arch>_keras_expected.h5 (two
      inputs, logits, probabilities). Used by tools/imagenet/check-keras.R (dev only).

Pinned: Python 3.11, keras 3.15.1 on tensorflow-cpu 2.21.0, h5py 3.14.0, numpy 1.26.4
(the venv of tools/setup-keras-venv.sh). Other versions need --any-version.
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import keras
import numpy as np
from keras import layers
from keras.src.applications import resnet as keras_resnet
from keras.src.legacy.saving import legacy_h5_format

PINNED = {"keras": "3.15.1", "h5py": "3.14.0", "numpy": "1.26.4"}


def check_versions():
    got = {"keras": keras.__version__, "h5py": h5py.__version__, "numpy": np.__version__}
    if got != PINNED and "--any-version" not in sys.argv:
        sys.exit(f"versions {got} differ from the pinned {PINNED}; rerun with --any-version to proceed")


def randomise(model, rng):
    for layer in model.layers:
        w = layer.get_weights()
        if not w:
            continue
        if isinstance(layer, layers.BatchNormalization):
            g, b, m, v = w
            layer.set_weights([0.5 + rng.random(g.shape), 0.1 * rng.standard_normal(b.shape),
                               0.1 * rng.standard_normal(m.shape), 0.5 + rng.random(v.shape)])
        elif len(w) == 2:
            layer.set_weights([w[0], 0.01 * rng.standard_normal(w[1].shape)])
    return model


def tiny_vgg():
    """keras.applications.VGG16's layer names and layout, 16 x 16 inputs."""
    x = inp = keras.Input((16, 16, 3))
    for b, filters in enumerate([[4], [8, 8]], start=1):
        for r, f in enumerate(filters, start=1):
            x = layers.Conv2D(f, 3, activation="relu", padding="same", name=f"block{b}_conv{r}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, activation="relu", name="fc1")(x)
    x = layers.Dense(16, activation="relu", name="fc2")(x)
    x = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, x, name="tiny_vgg")


def tiny_resnet():
    """keras.applications' ResNet builder (ResNet50's stem and blocks) with two small stacks."""
    def stack_fn(x):
        x = keras_resnet.stack_residual_blocks_v1(x, 8, 1, stride1=1, name="conv2")
        return keras_resnet.stack_residual_blocks_v1(x, 16, 2, name="conv3")
    return keras_resnet.ResNet(stack_fn, False, True, name="tiny_resnet", include_top=True, weights=None,
                               input_shape=(32, 32, 3), classes=10)


def outputs(model, x):
    feat = keras.Model(model.input, model.get_layer("predictions").input)
    w, b = model.get_layer("predictions").get_weights()
    logits = feat.predict(x, verbose=0).astype(np.float64) @ w.astype(np.float64) + b
    return logits, model.predict(x, verbose=0).astype(np.float64)


def save_legacy(model, path):
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def save_expected(path, entries):
    with h5py.File(path, "w") as f:
        for name, (x, logits, probs) in entries.items():
            f[f"{name}/input"] = x
            f[f"{name}/logits"] = logits
            f[f"{name}/probs"] = probs
        f.attrs.update({f"version_{k}": v for k, v in PINNED.items()})


def tiny():
    out = Path("tests/testthat/fixtures/imagenet")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240612)
    keras.utils.set_random_seed(20240612)
    vgg = randomise(tiny_vgg(), rng)
    resnet = randomise(tiny_resnet(), rng)
    save_legacy(vgg, out / "tiny_vgg_keras.h5")
    vgg.save_weights(out / "tiny_vgg_keras.weights.h5")
    vgg.save(out / "tiny_vgg_keras.keras")
    save_legacy(resnet, out / "tiny_resnet_keras.h5")
    entries = {}
    for name, model, size in (("vgg", vgg, 16), ("resnet", resnet, 32)):
        x = rng.standard_normal((2, size, size, 3)).astype(np.float32)
        entries[name] = (x.astype(np.float64), *outputs(model, x))
    save_expected(out / "tiny_keras_expected.h5", entries)
    for f in sorted(out.glob("tiny_*keras*")):
        print(f, f.stat().st_size, "bytes")


def full(outdir):
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    keras.utils.set_random_seed(42)
    x = rng.standard_normal((2, 224, 224, 3)).astype(np.float32)
    for arch, ctor in (("vgg16", keras.applications.VGG16), ("vgg19", keras.applications.VGG19),
                       ("resnet50", keras.applications.ResNet50)):
        model = randomise(ctor(weights=None), rng)
        save_legacy(model, out / f"{arch}_keras.h5")
        save_expected(out / f"{arch}_keras_expected.h5", {arch: (x.astype(np.float64), *outputs(model, x))})
        print(out / f"{arch}_keras.h5")


if __name__ == "__main__":
    check_versions()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if args[:1] == ["tiny"]:
        tiny()
    elif args[:1] == ["full"] and len(args) == 2:
        full(args[1])
    else:
        sys.exit(__doc__)
