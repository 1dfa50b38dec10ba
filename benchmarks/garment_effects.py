"""Which augmentation effects help a pixel network on garments: one MLP per training set
(Fashion-MNIST's originals alone, or the originals plus one copy of every image through
an effect), the same number of optimizer steps for each, on the full recipe's split.

    python benchmarks/garment_effects.py --effects none,flip,translate,affine,erase,jitter,garments,all2 \\
        --out benchmarks/results/garment-effects.json

The split is the full recipe's (`conf/full-recipe.yaml`: run seed 42, 3,000 of the 60 K
training images as valid, the standard 10 K test set) drawn the same way as here: a
seeded permutation, so figures compare with each other, not with a pipeline run. The
copies come from the effects' own kernels (`augment.apply_effect`, copy 0, seed 42).
The network: 784-512-256 ReLU, input dropout 0.2, hidden dropout 0.3, Adam 1e-3 with a
cosine schedule, batch 128, label smoothing 0.1, inputs standardised as H2O does; every
training set gets `--steps` steps (default: 20 epochs of the originals). Plain torch on
the driver (the torch trainer's network and loop without Spark or H2O): the data choice
is what is measured. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sparkling_mnist.augment import apply_effect
from sparkling_mnist.config.recipe import FASHION_MNIST_DIR
from sparkling_mnist.data.idx import read_idx_pair
from sparkling_mnist.torch_trainer.loop import rate_factor

log = logging.getLogger("benchmarks.garment_effects")

SEED = 42
VALID_ROWS = 3_000
BATCH = 128
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def fashion(part: Literal["train", "test"]) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's `train` or `test` part: (N, 28, 28) uint8 images and their labels."""
    prefix = "train" if part == "train" else "t10k"
    batch = read_idx_pair(
        f"{FASHION_MNIST_DIR}/{prefix}-images-idx3-ubyte.gz", f"{FASHION_MNIST_DIR}/{prefix}-labels-idx1-ubyte.gz", part
    )
    return np.asarray(batch.pixels).reshape(-1, 28, 28), np.asarray(batch.labels, dtype=np.int64)


def training_set(images: np.ndarray, labels: np.ndarray, effect: str) -> tuple[np.ndarray, np.ndarray]:
    """The originals, plus one copy of each through `effect` unless it is 'none'."""
    if effect == "none":
        return images, labels
    ids = np.arange(len(images), dtype=np.int64)
    copies = apply_effect(effect, images, ids, 0, SEED)
    return np.concatenate([images, copies]), np.concatenate([labels, labels])


def train_and_score(
    train: tuple[np.ndarray, np.ndarray], evaluated: dict[str, tuple[np.ndarray, np.ndarray]], steps: int
) -> dict[str, Any]:
    """Train the benchmark's MLP for `steps` steps; its error on each evaluated split."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    x = train[0].reshape(len(train[0]), -1).astype(np.float64)
    mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
    sd[sd == 0] = 1.0

    def scaled(images: np.ndarray) -> Any:
        return torch.from_numpy(((images.reshape(len(images), -1) - mean) / sd).astype(np.float32))

    inputs, labels = scaled(train[0]), torch.from_numpy(train[1])
    network = nn.Sequential(
        nn.Dropout(0.2),
        nn.Linear(784, 512),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(256, 10),
    )
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    started = time.monotonic()
    step = 0
    while step < steps:
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), BATCH):
            if step == steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = 1e-3 * rate_factor("cosine", step, steps)
            chosen = order[start : start + BATCH]
            loss = nn.functional.cross_entropy(network(inputs[chosen]), labels[chosen], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            step += 1
    network.eval()
    result: dict[str, Any] = {"rows": len(inputs), "steps": steps, "seconds": round(time.monotonic() - started, 1)}
    with torch.no_grad():
        for split, (images, truth) in evaluated.items():
            predicted = network(scaled(images)).argmax(dim=1).numpy()
            result[f"{split}_error"] = round(float(np.mean(predicted != truth)), 5)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--effects", default="none,flip,translate,affine,erase,jitter,garments,all2")
    parser.add_argument("--steps", type=int, default=None, help="default: 20 epochs of the originals")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "garment-effects.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    images, labels = fashion("train")
    order = np.random.default_rng(SEED).permutation(len(images))
    valid, train = order[:VALID_ROWS], order[VALID_ROWS:]
    evaluated = {"valid": (images[valid], labels[valid]), "test": fashion("test")}
    steps = args.steps or 20 * math.ceil(len(train) / BATCH)
    results: dict[str, Any] = {}
    for effect in args.effects.split(","):
        results[effect] = train_and_score(training_set(images[train], labels[train], effect), evaluated, steps)
        log.info("%s: %s", effect, results[effect])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": SEED, "valid_rows": VALID_ROWS, "results": results}, indent=2) + "\n")
    print("| training rows | rows | valid error | test error | seconds |\n|---|---:|---:|---:|---:|")
    for effect, row in results.items():
        name = "originals" if effect == "none" else f"originals + `{effect}` copy"
        print(f"| {name} | {row['rows']:,} | {row['valid_error']:.4f} | {row['test_error']:.4f} | {row['seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
