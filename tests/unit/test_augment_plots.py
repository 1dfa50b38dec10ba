"""The augmentation pictures: the data behind the sharpen histograms, and the PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from sparkling_mnist.augment import RotateParams, SharpenMode, apply_effect, draw_rotate_angle, row_streams
from sparkling_mnist.augment.plots import (
    effect_grid_figure,
    grid_mosaic,
    rotation_sharpen_stages,
    save_png,
    sharpen_histogram_figure,
)
from tests.sample_data import make_images

SEED = 3


def test_sharpen_stages_replay_the_rotate_effect_exactly() -> None:
    images, _ = make_images(60, seed=4)
    ids = np.arange(60, dtype=np.int64) + 1000
    params = RotateParams(sigma_degrees=10.0)
    stages = rotation_sharpen_stages(images, ids, SEED, params)
    angles = np.array([draw_rotate_angle(rng, params) for rng in row_streams(SEED, ids, 0, "rotate")])
    moved = np.abs(angles) >= params.min_degrees
    assert 0 < moved.sum() < 60  # both kinds of rows occur, so the filter is tested
    np.testing.assert_array_equal(stages.originals, images[moved])
    np.testing.assert_array_equal(stages.sharpened, apply_effect("rotate", images, ids, 0, SEED, params=params)[moved])
    assert set(np.unique(stages.modes)) <= {int(mode) for mode in SharpenMode}


def test_interpolation_blurs_and_sharpening_restores_bright_strokes() -> None:
    images, _ = make_images(200, seed=6)
    stages = rotation_sharpen_stages(images, np.arange(200, dtype=np.int64), SEED)

    def mid_grey_share(batch: np.ndarray) -> float:
        ink = batch[batch > 0]
        return float(((ink > 30) & (ink < 150)).mean())

    assert mid_grey_share(stages.interpolated) > mid_grey_share(stages.originals)
    assert mid_grey_share(stages.sharpened) < mid_grey_share(stages.interpolated)


def test_figures_are_written_as_png(tmp_path: Path) -> None:
    images, labels = make_images(2, seed=1)
    ids = np.arange(2, dtype=np.int64)
    augmented = {name: apply_effect(name, images, ids, 0, SEED) for name in ("rotate", "erode", "all")}
    grid = save_png(effect_grid_figure(images, labels, augmented), tmp_path / "plots" / "grid.png")
    height, width, _ = matplotlib.image.imread(grid).shape
    # 2 samples x (original + 3 effects): 0.9 inch cells plus margins for the titles, at 110 dpi
    assert (height, width) == (242, 462)
    histograms = save_png(
        sharpen_histogram_figure(rotation_sharpen_stages(images, ids, SEED)), tmp_path / "plots" / "hist.png"
    )
    assert histograms.stat().st_size > 10_000


def test_grid_mosaic_places_each_batch_in_its_column() -> None:
    images, _ = make_images(2, seed=1)
    other = 255 - images
    mosaic = grid_mosaic([images, other], gap=3)
    assert mosaic.shape == (2 * 31 - 3, 2 * 31 - 3)
    np.testing.assert_array_equal(mosaic[31:59, 0:28], images[1])
    np.testing.assert_array_equal(mosaic[0:28, 31:59], other[0])
    assert (mosaic[28:31, :] == 96).all()  # the gap is neither ink nor background


def test_grid_needs_one_output_per_original() -> None:
    images, labels = make_images(3, seed=1)
    with pytest.raises(ValueError, match="effect 'rotate' has 2 images for 3 originals"):
        effect_grid_figure(images, labels, {"rotate": images[:2]})
    with pytest.raises(ValueError, match="at least one original"):
        effect_grid_figure(images[:0], labels[:0], {})
