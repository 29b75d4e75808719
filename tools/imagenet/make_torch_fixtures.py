#!/usr/bin/env python3
"""Weight files in torchvision's (and timm's) state-dict layout, for innsight's
`imagenet_model(weights = )` / `load_imagenet_weights()`.

Two modes (run from the repository root):

  python tools/imagenet/make_torch_fixtures.py tiny
      Small torchvision-style models (the module names of torchvision's VGG and
      ResNet, a few layers, random weights) saved as safetensors state dicts in
      tests/testthat/fixtures/imagenet/, with inputs and expected logits. Committed;
      the testthat suite reads them (no Python in CI).

  python tools/imagenet/make_torch_fixtures.py full OUTDIR
      torchvision's VGG19 and ResNet50 with random weights (fixed seed; batch
      normalisation statistics and biases randomised so that they matter), saved
      as OUTDIR/{vgg19,resnet50}.safetensors, plus OUTDIR/{vgg19,resnet50}_expected
      .safetensors with two input images and torch's logits in float32 and
      float64. Used by tools/imagenet/check-torch.R (dev only; about 700 MB).

Pinned: Python 3.11, torch 2.15.0, torchvision 0.29.2, safetensors 0.8.0.
The script refuses other versions unless given --any-version.
"""
import sys
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import Bottleneck, conv1x1
from torchvision.models.vgg import make_layers
import safetensors
from safetensors.torch import save_file

PINNED = {"torch": "2.15.0", "torchvision": "0.29.2", "safetensors": "0.8.0"}


def check_versions():
    got = {"torch": torch.__version__.split("+")[0], "torchvision": torchvision.__version__.split("+")[0],
           "safetensors": safetensors.__version__}
    if got != PINNED and "--any-version" not in sys.argv:
        sys.exit(f"versions {got} differ from the pinned {PINNED}; rerun with --any-version to proceed")


def randomise(model, gen):
    """Make batch normalisation and biases non-trivial (torchvision inits them to 0/1)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(0.01 * torch.randn(m.bias.shape, generator=gen))
    return model.eval()


class TinyVGG(nn.Module):
    """torchvision's VGG layout (features / classifier indices), 16 x 16 inputs."""

    def __init__(self):
        super().__init__()
        self.features = make_layers([4, "M", 8, 8, "M"])
        self.classifier = nn.Sequential(
            nn.Linear(8 * 4 * 4, 16), nn.ReLU(True), nn.Dropout(),
            nn.Linear(16, 16), nn.ReLU(True), nn.Dropout(),
            nn.Linear(16, 10),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class TinyResNet(nn.Module):
    """torchvision's ResNet layout with torchvision's Bottleneck: stem 64, stages of
    widths 8 and 16 with 1 and 2 blocks, 32 x 32 inputs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(
            Bottleneck(64, 8, downsample=nn.Sequential(conv1x1(64, 32), nn.BatchNorm2d(32))))
        self.layer2 = nn.Sequential(
            Bottleneck(32, 16, stride=2, downsample=nn.Sequential(conv1x1(32, 64, 2), nn.BatchNorm2d(64))),
            Bottleneck(64, 16))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def state_dict(model):
    return {k: v.detach().contiguous() for k, v in model.state_dict().items()}


def expected(model, x):
    with torch.no_grad():
        l32 = model.float()(x.float())
        l64 = model.double()(x.double())
    model.float()
    return {"input": x.double().contiguous(), "logits_f32": l32.double().contiguous(), "logits_f64": l64.contiguous()}


def timm_vgg(sd):
    """timm's names for the VGG classifier: pre_logits.fc1 (a convolution over the
    last feature map), pre_logits.fc2 (1 x 1) and head.fc."""
    out = {k: v for k, v in sd.items() if not k.startswith("classifier.")}
    out["pre_logits.fc1.weight"] = sd["classifier.0.weight"].reshape(16, 8, 4, 4).contiguous()
    out["pre_logits.fc1.bias"] = sd["classifier.0.bias"]
    out["pre_logits.fc2.weight"] = sd["classifier.3.weight"].reshape(16, 16, 1, 1).contiguous()
    out["pre_logits.fc2.bias"] = sd["classifier.3.bias"]
    out["head.fc.weight"] = sd["classifier.6.weight"]
    out["head.fc.bias"] = sd["classifier.6.bias"]
    return out


def tiny():
    out = Path("tests/testthat/fixtures/imagenet")
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(20240611)
    torch.manual_seed(20240611)
    vgg = randomise(TinyVGG(), gen)
    resnet = randomise(TinyResNet(), gen)
    meta = {"format": "pt", "note": "innsight test fixture, random weights"}
    save_file(state_dict(vgg), out / "tiny_vgg.safetensors", metadata=meta)
    save_file(timm_vgg(state_dict(vgg)), out / "tiny_vgg_timm.safetensors", metadata=meta)
    save_file(state_dict(resnet), out / "tiny_resnet.safetensors", metadata=meta)
    exp = {}
    for name, model, size in (("vgg", vgg, 16), ("resnet", resnet, 32)):
        x = torch.randn(2, 3, size, size, generator=gen)
        for k, v in expected(model, x).items():
            exp[f"{name}.{k}"] = v
    save_file(exp, out / "tiny_torch_expected.safetensors", metadata=PINNED)
    for f in sorted(out.glob("tiny_*.safetensors")):
        print(f, f.stat().st_size, "bytes")


def full(outdir):
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(42)
    torch.manual_seed(42)
    x = torch.randn(2, 3, 224, 224, generator=gen)
    for arch in ("vgg19", "resnet50"):
        model = randomise(getattr(torchvision.models, arch)(weights=None), gen)
        save_file(state_dict(model), out / f"{arch}.safetensors", metadata={"format": "pt"})
        save_file(expected(model, x), out / f"{arch}_expected.safetensors", metadata=PINNED)
        print(out / f"{arch}.safetensors")


if __name__ == "__main__":
    check_versions()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if args[:1] == ["tiny"]:
        tiny()
    elif args[:1] == ["full"] and len(args) == 2:
        full(args[1])
    else:
        sys.exit(__doc__)
