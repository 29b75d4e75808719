"""Step 2 of `make demo-models`: train innsight's demo models with PyTorch (CPU).

    python tools/demo-models/train.py WORKDIR [--fmnist DIR]

Trains four small networks with fixed seeds, deterministic kernels and two threads:

* fmnist_cnn     Fashion-MNIST, 1x28x28 -> Conv2D, BatchNorm, ReLU, max pooling,
                 Conv2D, BatchNorm, ReLU, average pooling, Flatten, Dropout, Dense,
                 ReLU, Dropout, Dense (10 classes).
* fmnist_resnet  Fashion-MNIST, a small residual network: a stem, a residual block
                 (Add), a block of two parallel convolutions joined by Concatenate,
                 average pooling, a second residual block, Flatten and Dense.
* iris_mlp       iris, 4 -> 16 -> 16 -> 3.
* penguin_mlp    palmerpenguins (four body measurements), 4 -> 16 -> 16 -> 3.

Inputs: the Fashion-MNIST IDX files of the Debian package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist) and WORKDIR/iris.csv, WORKDIR/penguins.csv
written by export-data.R. Fashion-MNIST pixels are scaled to [0, 1], channels
first (N, 1, 28, 28) as torch has them.

Outputs in WORKDIR, per model NAME:
* NAME.safetensors        the state dict in float32 (batch-norm running statistics
                          included). For the MLPs the input standardisation of
                          training is folded into the first layer, so they take the
                          raw measurements.
* NAME_logits.safetensors the model's logits on its test set (`logits`) and the
                          labels (`labels`), for the parity check in export.R.
* report.json             test accuracies, epochs, parameter counts, training times,
                          versions, and the Fashion-MNIST example indices.
"""

import argparse
import gzip
import json
import os
import random
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 20260107
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist(folder):
    def part(prefix):
        x = read_idx(os.path.join(folder, prefix + "-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz"))
        x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)  # N, 1, 28, 28
        return x, torch.from_numpy(y.astype(np.int64))
    return part("train"), part("t10k")


# ---- models -----------------------------------------------------------------------

class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.drop1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.drop2 = nn.Dropout(0.25)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)   # 16 x 14 x 14
        x = F.avg_pool2d(F.relu(self.bn2(self.conv2(x))), 2)   # 32 x 7 x 7
        x = self.drop1(torch.flatten(x, 1))                    # channels-first order
        x = self.drop2(F.relu(self.fc1(x)))
        return self.fc2(x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        conv = lambda i, o, k: nn.Conv2d(i, o, k, padding=k // 2, bias=False)
        self.stem_conv, self.stem_bn = conv(1, 16, 3), nn.BatchNorm2d(16)
        self.b1_conv1, self.b1_bn1 = conv(16, 16, 3), nn.BatchNorm2d(16)
        self.b1_conv2, self.b1_bn2 = conv(16, 16, 3), nn.BatchNorm2d(16)
        self.cat_a = nn.Conv2d(16, 16, 1)
        self.cat_b = nn.Conv2d(16, 16, 3, padding=1)
        self.b2_conv1, self.b2_bn1 = conv(32, 32, 3), nn.BatchNorm2d(32)
        self.b2_conv2, self.b2_bn2 = conv(32, 32, 3), nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        s = F.max_pool2d(F.relu(self.stem_bn(self.stem_conv(x))), 2)          # 16 x 14 x 14
        h = F.relu(self.b1_bn1(self.b1_conv1(s)))
        r = F.relu(self.b1_bn2(self.b1_conv2(h)) + s)                        # Add
        c = torch.cat([F.relu(self.cat_a(r)), F.relu(self.cat_b(r))], 1)     # Concatenate: 32 x 14 x 14
        p = F.avg_pool2d(c, 2)                                               # 32 x 7 x 7
        h = F.relu(self.b2_bn1(self.b2_conv1(p)))
        r = F.relu(self.b2_bn2(self.b2_conv2(h)) + p)                        # Add
        return self.fc(torch.flatten(r, 1))


class MLP(nn.Module):
    def __init__(self, n_in, n_out, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


# ---- training -----------------------------------------------------------------------

@torch.no_grad()
def logits_of(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def accuracy(logits, y):
    return float((logits.argmax(1) == y).float().mean())


def train_images(name, model, train, test, epochs, lr, batch=128):
    seed_everything(SEED)
    x, y = train
    gen = torch.Generator().manual_seed(SEED)
    steps = epochs * ((len(x) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc = accuracy(logits_of(model, test[0]), test[1])
        print(f"{name} epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f}, "
              f"test accuracy {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
    return time.time() - t0


def train_tabular(name, csv, epochs=100, lr=0.01):
    seed_everything(SEED)
    d = np.genfromtxt(csv, delimiter=",", names=True, dtype=None, encoding="utf-8")
    cols = [c for c in d.dtype.names if c not in ("label", "test")]
    x = torch.tensor(np.stack([d[c].astype(np.float64) for c in cols], 1), dtype=torch.float32)
    y = torch.tensor(d["label"].astype(np.int64))
    test = torch.tensor(np.array([str(v).upper() == "TRUE" for v in d["test"]]))
    mu, sd = x[~test].mean(0), x[~test].std(0)
    model = MLP(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    z = (x - mu) / sd
    t0 = time.time()
    for _ in range(epochs):  # full batch
        model.train()
        loss = F.cross_entropy(model(z[~test]), y[~test])
        opt.zero_grad()
        loss.backward()
        opt.step()
    secs = time.time() - t0
    # Fold the standardisation into the first layer: W (x - mu) / sd + b.
    with torch.no_grad():
        w = model.fc1.weight / sd
        model.fc1.bias -= w @ mu
        model.fc1.weight.copy_(w)
    logits = logits_of(model, x)
    info = {
        "test_accuracy": accuracy(logits[test], y[test]),
        "train_accuracy": accuracy(logits[~test], y[~test]),
        "all_accuracy": accuracy(logits, y),
        "n_train": int((~test).sum()), "n_test": int(test.sum()),
        "epochs": epochs, "seconds": round(secs, 1), "features": cols,
    }
    print(f"{name}: test accuracy {info['test_accuracy']:.4f} "
          f"({info['n_test']} rows), train {info['train_accuracy']:.4f}", flush=True)
    return model, logits, y, info


def save_model(work, name, model, logits, labels):
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    save_file(sd, os.path.join(work, name + ".safetensors"))
    save_file({"logits": logits.float().contiguous(), "labels": labels.float().contiguous()},
              os.path.join(work, name + "_logits.safetensors"))
    return sum(p.numel() for p in model.parameters())


def example_indices(labels, per_class=10):
    """The first `per_class` test images of each class, interleaved: image i has class
    (i mod 10), so any 10 consecutive examples show every class once."""
    first = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    return [int(first[c][r]) for r in range(per_class) for c in range(10)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--fmnist", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.work, exist_ok=True)
    report = {"seed": SEED, "torch": torch.__version__, "numpy": np.__version__,
              "threads": 2, "models": {}}

    train, test = load_fmnist(args.fmnist)
    report["fmnist_classes"] = CLASSES
    report["fmnist_examples"] = example_indices(test[1].numpy())
    for name, make, lr in [("fmnist_cnn", CNN, 3e-3), ("fmnist_resnet", ResNet, 3e-3)]:
        seed_everything(SEED)
        model = make()
        secs = train_images(name, model, train, test, args.epochs, lr)
        logits = logits_of(model, test[0])
        n = save_model(args.work, name, model, logits, test[1])
        report["models"][name] = {
            "test_accuracy": accuracy(logits, test[1]),
            "train_accuracy": accuracy(logits_of(model, train[0]), train[1]),
            "n_train": len(train[1]), "n_test": len(test[1]),
            "epochs": args.epochs, "seconds": round(secs, 1), "parameters": n,
        }
        print(f"{name}: {n} parameters, test accuracy {report['models'][name]['test_accuracy']:.4f}", flush=True)

    for name, csv in [("iris_mlp", "iris.csv"), ("penguin_mlp", "penguins.csv")]:
        model, logits, y, info = train_tabular(name, os.path.join(args.work, csv))
        info["parameters"] = save_model(args.work, name, model, logits, y)
        report["models"][name] = info

    with open(os.path.join(args.work, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print("wrote", os.path.join(args.work, "report.json"))


if __name__ == "__main__":
    main()
