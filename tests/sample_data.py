"""Tiny deterministic image data and source files for tests (no downloads)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from sparkling_mnist.data.idx import encode_idx


def make_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` digit-like 28x28 uint8 images (a bright bar whose angle depends on the label)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    rows, cols = np.mgrid[0:28, 0:28]
    for i, label in enumerate(labels):
        angle = np.pi * label / 10
        dist = np.abs((cols - 14) * np.sin(angle) - (rows - 14) * np.cos(angle))
        stroke = (dist < 1.5 + rng.random()) & (np.hypot(rows - 14, cols - 14) < 10)
        images[i][stroke] = rng.integers(180, 256, size=int(stroke.sum()))
    return images, labels


def write_idx_pair(
    folder: Path, images: np.ndarray, labels: np.ndarray, name: str, gz: bool = True
) -> tuple[Path, Path]:
    """Write images and labels as an IDX pair (gzip unless told otherwise)."""
    suffix = ".gz" if gz else ""
    image_path = folder / f"{name}-images-idx3-ubyte{suffix}"
    label_path = folder / f"{name}-labels-idx1-ubyte{suffix}"
    for path, array in ((image_path, images), (label_path, labels)):
        data = encode_idx(array)
        path.write_bytes(gzip.compress(data) if gz else data)
    return image_path, label_path


def csv_lines(images: np.ndarray, labels: np.ndarray) -> list[str]:
    """H2O-style CSV lines: 784 pixels then the label."""
    flat = images.reshape(len(images), -1)
    return [",".join(map(str, [*row.tolist(), int(label)])) for row, label in zip(flat, labels, strict=True)]


def write_csv(path: Path, lines: list[str], header: bool = False) -> Path:
    """Write CSV lines, with an H2O-style header (C1..C785) when asked."""
    head = [",".join(f"C{i + 1}" for i in range(785))] if header else []
    path.write_text("\n".join(head + lines) + "\n")
    return path
