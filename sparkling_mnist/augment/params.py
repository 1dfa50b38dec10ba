"""The settings of every augmentation effect, and which effects suit which images.

Frozen dataclasses whose defaults are the recipe's, validated when made, plus the
name-level facts about effects (:data:`EFFECT_PARAMS`, :data:`PRESET_EFFECTS`,
:func:`effect_suits`). Pure Python and numpy, no compiled kernel: a job config loads
and validates these without importing numba or scipy (the kernels live in
:mod:`.geometry`, :mod:`.morphology`, :mod:`.noise`, :mod:`.photometric`,
:mod:`.composite` and :mod:`.sharpen`; :mod:`.registry` binds each name to its batch
function).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE
from sparkling_mnist.errors import UnknownEffectError

_LAST = IMAGE_SIDE - 1

MAX_UNSHARP_RADIUS = 6.0
"""Widest unsharp-mask Gaussian, pixels: a 49-tap kernel, wider than a digit stroke by far."""


@dataclass(frozen=True)
class SharpenParams:
    """How interpolated images are sharpened.

    Attributes:
        unsharp_weight: relative chance of the unsharp mask (default 0.6).
        contrast_weight: relative chance of the contrast stretch (default 0.2).
        match_weight: relative chance of histogram matching to the source image
            (default 0.2). The three weights are normalised; their sum must be > 0.
        unsharp_radius: Gaussian sigma of the unsharp mask, pixels (default 1.0,
            the scikit-image default).
        unsharp_amount: unsharp mask strength (default 1.0, the scikit-image
            default).
        contrast_low: grey level mapped to 0 by the stretch (default 64).
        contrast_high: grey level mapped to 255 by the stretch (default 192).
    """

    unsharp_weight: float = 0.6
    contrast_weight: float = 0.2
    match_weight: float = 0.2
    unsharp_radius: float = 1.0
    unsharp_amount: float = 1.0
    contrast_low: float = 64.0
    contrast_high: float = 192.0

    def __post_init__(self) -> None:
        weights = (self.unsharp_weight, self.contrast_weight, self.match_weight)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(
                "SharpenParams: unsharp_weight, contrast_weight and match_weight must "
                f"be >= 0 with a positive sum, got {weights}"
            )
        if not 0 < self.unsharp_radius <= MAX_UNSHARP_RADIUS:
            raise ValueError(
                f"SharpenParams.unsharp_radius must be in (0, {MAX_UNSHARP_RADIUS}], got {self.unsharp_radius}"
            )
        if self.unsharp_amount < 0:
            raise ValueError(f"SharpenParams.unsharp_amount must be >= 0, got {self.unsharp_amount}")
        if not 0 <= self.contrast_low < self.contrast_high <= 255:
            raise ValueError(
                "SharpenParams needs 0 <= contrast_low < contrast_high <= 255, got "
                f"{self.contrast_low} and {self.contrast_high}"
            )

    def packed(self) -> NDArray[np.float64]:
        """The settings as the kernels take them: weights, radius, amount, low, high."""
        return np.array(
            [
                self.unsharp_weight,
                self.contrast_weight,
                self.match_weight,
                self.unsharp_radius,
                self.unsharp_amount,
                self.contrast_low,
                self.contrast_high,
            ]
        )


# Row and column offsets of the four shift directions: up, down, left, right.
SHIFT_DIRECTIONS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass(frozen=True)
class ShiftParams:
    """Settings of ``shift``.

    Attributes:
        distance: how many pixels the image moves, up, down, left or right with
            equal chance (default 1).
    """

    distance: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.distance < IMAGE_SIDE:
            raise ValueError(f"ShiftParams.distance must be in [1, {IMAGE_SIDE - 1}], got {self.distance}")


@dataclass(frozen=True)
class RotateParams:
    """Settings of ``rotate``.

    Attributes:
        sigma_degrees: standard deviation of the Normal(0, sigma) rotation angle,
            degrees (default 8).
        min_degrees: rotations smaller than this in magnitude leave the image
            untouched, unsharpened (default 1).
        sharpen: how the rotated image is sharpened.
    """

    sigma_degrees: float = 8.0
    min_degrees: float = 1.0
    sharpen: SharpenParams = field(default_factory=SharpenParams)

    def __post_init__(self) -> None:
        if self.sigma_degrees < 0:
            raise ValueError(f"RotateParams.sigma_degrees must be >= 0, got {self.sigma_degrees}")
        if self.min_degrees < 0:
            raise ValueError(f"RotateParams.min_degrees must be >= 0, got {self.min_degrees}")


@dataclass(frozen=True)
class WarpParams:
    """Settings of ``warp``: an elastic distortion (Simard et al., ICDAR 2003).

    Simard's field is ``alpha * G U G.T`` per axis, ``U`` a 28x28 Uniform(-1, 1)
    noise image and ``G`` the Gaussian filter of ``sigma`` pixels as a matrix. It is
    drawn here in ``G``'s singular basis: with ``G = V S W.T``, ``W.T U W`` has
    uncorrelated entries of variance 1/3, so the field is
    ``alpha / sqrt(3) * (V S) Z (V S).T`` with ``Z`` standard normal. Keeping the
    leading :data:`WARP_RANK` terms keeps 99.996 % of the field's variance at
    ``sigma = 4`` and needs 2 x 49 numbers per row instead of 2 x 784 (the same
    covariance; the entries are normal where Simard's are sums of uniforms). With
    the defaults each displacement component has an RMS of about 1.7 pixels.

    Attributes:
        alpha: displacement scale, pixels (default 34, Simard's MNIST value).
        sigma: smoothness of the field, pixels (default 4, Simard's MNIST value).
        sharpen: how the warped image is sharpened.
    """

    alpha: float = 34.0
    sigma: float = 4.0
    sharpen: SharpenParams = field(default_factory=SharpenParams)

    def __post_init__(self) -> None:
        if self.alpha < 0:
            raise ValueError(f"WarpParams.alpha must be >= 0, got {self.alpha}")
        if not self.sigma > 0:
            raise ValueError(f"WarpParams.sigma must be > 0, got {self.sigma}")


@dataclass(frozen=True)
class FlipParams:
    """Settings of ``flip``: a left-right mirror image (a garment's, never a digit's).

    Attributes:
        probability: chance that a row is mirrored (default 0.5; 1.0: every row).
    """

    probability: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"FlipParams.probability must be in [0, 1], got {self.probability}")


@dataclass(frozen=True)
class TranslateParams:
    """Settings of ``translate``: a move by whole pixels on both axes, zero fill.

    Attributes:
        max_pixels: the row and the column offsets are each uniform integers in
            ``-max_pixels..max_pixels`` (default 2: Fashion-MNIST garments fill most
            of the canvas, so larger moves cut off sleeves and hems).
    """

    max_pixels: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_pixels < IMAGE_SIDE:
            raise ValueError(f"TranslateParams.max_pixels must be in [1, {IMAGE_SIDE - 1}], got {self.max_pixels}")


@dataclass(frozen=True)
class AffineParams:
    """Settings of ``affine``: a small rotation and isotropic scaling about the centre.

    Attributes:
        sigma_degrees: the counter-clockwise angle is Normal(0, sigma) degrees,
            clipped to ``+-2 sigma`` (default 6).
        scale: the zoom factor is uniform in ``[1 - scale, 1 + scale]`` (default
            0.08: about two pixels on a 28-pixel garment); below 1 shrinks.
    """

    sigma_degrees: float = 6.0
    scale: float = 0.08

    def __post_init__(self) -> None:
        if not 0.0 <= self.sigma_degrees <= 90.0:
            raise ValueError(f"AffineParams.sigma_degrees must be in [0, 90], got {self.sigma_degrees}")
        if not 0.0 <= self.scale < 1.0:
            raise ValueError(f"AffineParams.scale must be in [0, 1), got {self.scale}")

    def packed(self) -> NDArray[np.float64]:
        """``(sigma_degrees, scale)`` for the kernels."""
        return np.array([self.sigma_degrees, self.scale])


DEFAULT_SHIFT = ShiftParams()
DEFAULT_ROTATE = RotateParams()
DEFAULT_WARP = WarpParams()
DEFAULT_FLIP = FlipParams()
DEFAULT_TRANSLATE = TranslateParams()
DEFAULT_AFFINE = AffineParams()


@dataclass(frozen=True)
class BoldParams:
    """Settings of ``bold``: the max of the image and copies shifted by one pixel.

    Each row takes between 1 and ``max_copies`` distinct directions out of up,
    down, left and right (count and directions uniform at random).

    Attributes:
        max_copies: most shifted copies per row, 1..4 (default 2).
    """

    max_copies: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_copies <= len(SHIFT_DIRECTIONS):
            raise ValueError(f"BoldParams.max_copies must be in [1, 4], got {self.max_copies}")


def _check_size_range(owner: str, min_size: int, max_size: int) -> None:
    if not 1 <= min_size <= max_size <= IMAGE_SIDE:
        raise ValueError(
            f"{owner} needs 1 <= min_size <= max_size <= {IMAGE_SIDE}, got min_size={min_size}, max_size={max_size}"
        )


@dataclass(frozen=True)
class DilateParams:
    """Settings of ``dilate``: grey dilation with a random square footprint.

    Each row draws the square's side uniformly from ``min_size..max_size`` and,
    for an even side, its anchor (see the module docstring).

    Attributes:
        min_size: smallest square side, pixels (default 2).
        max_size: largest square side, pixels (default 3).
    """

    min_size: int = 2
    max_size: int = 3

    def __post_init__(self) -> None:
        _check_size_range("DilateParams", self.min_size, self.max_size)


@dataclass(frozen=True)
class ErodeParams:
    """Settings of ``erode``: grey erosion with a random square footprint.

    Each row draws the square's side uniformly from ``min_size..max_size`` and,
    for an even side, its anchor (see the module docstring).

    Attributes:
        min_size: smallest square side, pixels (default 2).
        max_size: largest square side, pixels (default 2). On real MNIST digits a
            2x2 erosion keeps about half of the ink and a 3x3 one about 13 %,
            which erases many digits; so by default the square is 2x2 and only
            its anchor is random.
    """

    min_size: int = 2
    max_size: int = 2

    def __post_init__(self) -> None:
        _check_size_range("ErodeParams", self.min_size, self.max_size)


@dataclass(frozen=True)
class ErodeDilateParams:
    """Settings of ``erodedilate``: each row is dilated or eroded at random.

    Attributes:
        dilate_prob: chance of dilation rather than erosion (default 0.5).
        dilate: dilation settings.
        erode: erosion settings.
    """

    dilate_prob: float = 0.5
    dilate: DilateParams = field(default_factory=DilateParams)
    erode: ErodeParams = field(default_factory=ErodeParams)

    def __post_init__(self) -> None:
        if not 0.0 <= self.dilate_prob <= 1.0:
            raise ValueError(f"ErodeDilateParams.dilate_prob must be in [0, 1], got {self.dilate_prob}")

    def packed(self) -> NDArray[np.float64]:
        """``(dilate_prob, dilate min, dilate max, erode min, erode max)`` for the kernels."""
        return np.array(
            [self.dilate_prob, self.dilate.min_size, self.dilate.max_size, self.erode.min_size, self.erode.max_size],
            dtype=np.float64,
        )


DEFAULT_BOLD = BoldParams()
DEFAULT_DILATE = DilateParams()
DEFAULT_ERODE = ErodeParams()
DEFAULT_ERODEDILATE = ErodeDilateParams()


@dataclass(frozen=True)
class ScratchesParams:
    """Settings of ``scratches``: random one-pixel lines added to the image.

    A line starts at a uniform pixel, runs ``Uniform(min_length, max_length)``
    pixels in a uniform direction (its end rounded and clipped to the image) and
    has a uniform integer grey level in ``min_intensity..max_intensity``.

    Attributes:
        min_lines: fewest lines per row (default 1).
        max_lines: most lines per row (default 3).
        min_length: shortest line, pixels (default 5).
        max_length: longest line, pixels (default 15).
        min_intensity: dimmest line grey level (default 128).
        max_intensity: brightest line grey level (default 255).
    """

    min_lines: int = 1
    max_lines: int = 3
    min_length: float = 5.0
    max_length: float = 15.0
    min_intensity: int = 128
    max_intensity: int = 255

    def __post_init__(self) -> None:
        if not 0 <= self.min_lines <= self.max_lines:
            raise ValueError(
                f"ScratchesParams needs 0 <= min_lines <= max_lines, got {self.min_lines}, {self.max_lines}"
            )
        if not 0 <= self.min_length <= self.max_length:
            raise ValueError(
                f"ScratchesParams needs 0 <= min_length <= max_length, got {self.min_length}, {self.max_length}"
            )
        if not 0 <= self.min_intensity <= self.max_intensity <= 255:
            raise ValueError(
                "ScratchesParams needs 0 <= min_intensity <= max_intensity <= 255, got "
                f"{self.min_intensity}, {self.max_intensity}"
            )

    def packed(self) -> NDArray[np.float64]:
        """The six settings, in field order, for the kernels."""
        return np.array(
            [
                self.min_lines,
                self.max_lines,
                self.min_length,
                self.max_length,
                self.min_intensity,
                self.max_intensity,
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class BlotchesParams:
    """Settings of ``blotches``: random discs where the ink is wiped to 0.

    Disc centres are uniform in ``[margin, 27 - margin]`` on both axes, where
    MNIST digits live (they are centred in a 20x20 box), so blotches mostly hit
    ink instead of empty background.

    Attributes:
        min_blobs: fewest discs per row (default 1).
        max_blobs: most discs per row (default 3).
        min_radius: smallest disc radius, pixels (default 1.5).
        max_radius: largest disc radius, pixels (default 3).
        margin: distance of the centres from the border, pixels (default 6; on
            real MNIST digits about 11 % of rows then keep all their ink and the
            median row loses 8 % of it).
    """

    min_blobs: int = 1
    max_blobs: int = 3
    min_radius: float = 1.5
    max_radius: float = 3.0
    margin: float = 6.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_blobs <= self.max_blobs:
            raise ValueError(
                f"BlotchesParams needs 0 <= min_blobs <= max_blobs, got {self.min_blobs}, {self.max_blobs}"
            )
        if not 0 < self.min_radius <= self.max_radius:
            raise ValueError(
                f"BlotchesParams needs 0 < min_radius <= max_radius, got {self.min_radius}, {self.max_radius}"
            )
        if not 0 <= self.margin <= _LAST / 2:
            raise ValueError(f"BlotchesParams.margin must be in [0, {_LAST / 2}], got {self.margin}")

    def packed(self) -> NDArray[np.float64]:
        """The five settings, in field order, for the kernels."""
        return np.array(
            [self.min_blobs, self.max_blobs, self.min_radius, self.max_radius, self.margin], dtype=np.float64
        )


EraseFill = Literal["grey", "noise"]
"""What an erased rectangle is filled with: ``grey_level``, or uniform noise 0..255."""

_FILLS: tuple[EraseFill, ...] = ("grey", "noise")


@dataclass(frozen=True)
class EraseParams:
    """Settings of ``erase``: random erasing (Zhong et al. 2017, arXiv:1708.04896).

    With chance ``probability`` a row gets one rectangle of area ``Uniform(min_area,
    max_area)`` times the image's and aspect ratio (height / width) log-uniform in
    ``[min_aspect, max_aspect]``; its sides are rounded to whole pixels (at least 1)
    and clipped to 28, and its top-left corner is uniform among the positions where
    it fits. Unlike the paper, a rectangle that does not fit is clipped, not drawn
    again, so every row takes the same number of draws (with the defaults every
    rectangle fits: its longest side is at most 23 pixels).

    Attributes:
        probability: chance that a row is erased (default 0.5).
        min_area: smallest area fraction (default 0.02).
        max_area: largest area fraction (default 0.2).
        min_aspect: smallest height / width (default 0.3).
        max_aspect: largest height / width (default 3.3).
        fill: ``grey``: every pixel ``grey_level``; ``noise``: each pixel a uniform
            integer 0..255 (default ``grey``).
        grey_level: the constant fill of ``grey`` (default 128).
    """

    probability: float = 0.5
    min_area: float = 0.02
    max_area: float = 0.2
    min_aspect: float = 0.3
    max_aspect: float = 3.3
    fill: EraseFill = "grey"
    grey_level: int = 128

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"EraseParams.probability must be in [0, 1], got {self.probability}")
        if not 0.0 < self.min_area <= self.max_area <= 1.0:
            raise ValueError(f"EraseParams needs 0 < min_area <= max_area <= 1, got {self.min_area}, {self.max_area}")
        if not 0.0 < self.min_aspect <= self.max_aspect:
            raise ValueError(
                f"EraseParams needs 0 < min_aspect <= max_aspect, got {self.min_aspect}, {self.max_aspect}"
            )
        if self.fill not in _FILLS:
            raise ValueError(f"EraseParams.fill must be one of {', '.join(_FILLS)}, got {self.fill!r}")
        if not 0 <= self.grey_level <= 255:
            raise ValueError(f"EraseParams.grey_level must be in [0, 255], got {self.grey_level}")

    def packed(self) -> NDArray[np.float64]:
        """``(probability, min_area, max_area, log min_aspect, log max_aspect, noise?, grey_level)``."""
        return np.array(
            [
                self.probability,
                self.min_area,
                self.max_area,
                math.log(self.min_aspect),
                math.log(self.max_aspect),
                float(self.fill == "noise"),
                self.grey_level,
            ],
            dtype=np.float64,
        )


DEFAULT_SCRATCHES = ScratchesParams()
DEFAULT_BLOTCHES = BlotchesParams()
DEFAULT_ERASE = EraseParams()


@dataclass(frozen=True)
class JitterParams:
    """Settings of ``jitter``: ``out = round((x - mean) * c + mean + b)``, clipped to 0..255.

    ``mean`` is the row's mean grey level (every pixel, background included), ``c``
    uniform in ``[1 - contrast, 1 + contrast]`` and ``b`` uniform in ``[-brightness,
    brightness]``; rounding is half to even.

    The background is kept black by default (``keep_background``): every
    Fashion-MNIST image, train and test, has an exactly black background around the
    garment, so greying it would teach a model a canvas it never sees, and the
    contrast term alone would lift it by ``mean * (1 - c)`` (up to about 15 grey
    levels with the defaults). Only pixels that are 0 before stay 0; the garment
    itself is jittered whole.

    Attributes:
        contrast: the contrast factor's half range, ``0 <= contrast < 1`` (default 0.2).
        brightness: the offset's half range, grey levels, ``0..255`` (default 20).
        keep_background: pixels that are 0 stay 0 (default true).
    """

    contrast: float = 0.2
    brightness: float = 20.0
    keep_background: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.contrast < 1.0:
            raise ValueError(f"JitterParams.contrast must be in [0, 1), got {self.contrast}")
        if not 0.0 <= self.brightness <= 255.0:
            raise ValueError(f"JitterParams.brightness must be in [0, 255], got {self.brightness}")

    def packed(self) -> NDArray[np.float64]:
        """``(contrast, brightness, keep_background)`` for the kernels."""
        return np.array([self.contrast, self.brightness, float(self.keep_background)])


DEFAULT_JITTER = JitterParams()


COMPOSITE_STEPS: tuple[str, ...] = (
    "shift",
    "rotate",
    "warp",
    "bold",
    "erodedilate",
    "scratches",
    "blotches",
)
"""The steps of ``all`` and ``all2``, in the order they run."""

GARMENT_STEPS: tuple[str, ...] = ("flip", "translate", "affine", "erase", "jitter")
"""The steps of ``garments``, in the order they run."""


def _check_probability(owner: str, name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}.{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class AllParams:
    """Settings of ``all``: each step taken independently with its probability.

    Attributes:
        shift_prob: chance of ``shift`` (default 0.3).
        rotate_prob: chance of ``rotate`` (default 0.5).
        warp_prob: chance of ``warp`` (default 0.3).
        bold_prob: chance of ``bold`` (default 0.15).
        erodedilate_prob: chance of ``erodedilate`` (default 0.3).
        scratches_prob: chance of ``scratches`` (default 0.2).
        blotches_prob: chance of ``blotches`` (default 0.2).
        shift, rotate, warp, bold, erodedilate, scratches, blotches: the settings
            each step runs with.
    """

    shift_prob: float = 0.3
    rotate_prob: float = 0.5
    warp_prob: float = 0.3
    bold_prob: float = 0.15
    erodedilate_prob: float = 0.3
    scratches_prob: float = 0.2
    blotches_prob: float = 0.2
    shift: ShiftParams = field(default_factory=ShiftParams)
    rotate: RotateParams = field(default_factory=RotateParams)
    warp: WarpParams = field(default_factory=WarpParams)
    bold: BoldParams = field(default_factory=BoldParams)
    erodedilate: ErodeDilateParams = field(default_factory=ErodeDilateParams)
    scratches: ScratchesParams = field(default_factory=ScratchesParams)
    blotches: BlotchesParams = field(default_factory=BlotchesParams)

    def __post_init__(self) -> None:
        for step in COMPOSITE_STEPS:
            _check_probability("AllParams", f"{step}_prob", getattr(self, f"{step}_prob"))

    def probabilities(self) -> NDArray[np.float64]:
        """Return the step probabilities in :data:`COMPOSITE_STEPS` order."""
        return np.array([getattr(self, f"{step}_prob") for step in COMPOSITE_STEPS])


@dataclass(frozen=True)
class All2Params:
    """Settings of ``all2``: one geometric step, then one stroke or noise step.

    Attributes:
        rotate_prob: chance that the geometric step is ``rotate`` rather than
            ``warp`` (default 0.5).
        bold_weight: relative chance of ``bold`` as second step (default 1).
        erodedilate_weight: relative chance of ``erodedilate`` (default 1).
        scratches_weight: relative chance of ``scratches`` (default 1).
        blotches_weight: relative chance of ``blotches`` (default 1). The four
            weights must be >= 0 with a positive sum.
        rotate, warp, bold, erodedilate, scratches, blotches: the settings each
            step runs with.
    """

    rotate_prob: float = 0.5
    bold_weight: float = 1.0
    erodedilate_weight: float = 1.0
    scratches_weight: float = 1.0
    blotches_weight: float = 1.0
    rotate: RotateParams = field(default_factory=RotateParams)
    warp: WarpParams = field(default_factory=WarpParams)
    bold: BoldParams = field(default_factory=BoldParams)
    erodedilate: ErodeDilateParams = field(default_factory=ErodeDilateParams)
    scratches: ScratchesParams = field(default_factory=ScratchesParams)
    blotches: BlotchesParams = field(default_factory=BlotchesParams)

    def __post_init__(self) -> None:
        _check_probability("All2Params", "rotate_prob", self.rotate_prob)
        weights = self.second_step_weights()
        if weights.min() < 0 or weights.sum() <= 0:
            raise ValueError(
                "All2Params: bold_weight, erodedilate_weight, scratches_weight and "
                "blotches_weight must be >= 0 with a positive sum, got "
                f"{weights.tolist()}"
            )

    def second_step_weights(self) -> NDArray[np.float64]:
        """Weights of bold, erodedilate, scratches, blotches (in that order)."""
        return np.array(
            [
                self.bold_weight,
                self.erodedilate_weight,
                self.scratches_weight,
                self.blotches_weight,
            ]
        )


@dataclass(frozen=True)
class GarmentsParams:
    """Settings of ``garments``: flip, one geometric step, then erase and jitter.

    Per row: a left-right flip with chance ``flip_prob``; then ``translate`` (chance
    ``translate_prob``) or else ``affine``; then ``erase`` with chance ``erase_prob``
    and ``jitter`` with chance ``jitter_prob``, independently. A step taken is the
    plain effect with the settings below, except that a flip or an erase taken always
    happens: ``flip_prob`` and ``erase_prob`` are their chances (``erase.probability``
    is not used, and setting it is an error, so that it cannot be mistaken for one).

    Attributes:
        flip_prob: chance of the mirror image (default 0.5).
        translate_prob: chance that the geometric step is ``translate`` rather than
            ``affine`` (default 0.5).
        erase_prob: chance of ``erase`` (default 0.3).
        jitter_prob: chance of ``jitter`` (default 0.3).
        translate, affine, erase, jitter: the settings each step runs with.
    """

    flip_prob: float = 0.5
    translate_prob: float = 0.5
    erase_prob: float = 0.3
    jitter_prob: float = 0.3
    translate: TranslateParams = field(default_factory=TranslateParams)
    affine: AffineParams = field(default_factory=AffineParams)
    erase: EraseParams = field(default_factory=EraseParams)
    jitter: JitterParams = field(default_factory=JitterParams)

    def __post_init__(self) -> None:
        for name in ("flip_prob", "translate_prob", "erase_prob", "jitter_prob"):
            _check_probability("GarmentsParams", name, getattr(self, name))
        if self.erase.probability != EraseParams().probability:
            raise ValueError(
                "GarmentsParams.erase.probability is not used by garments (erase_prob is the chance of "
                f"erasing), got {self.erase.probability}: set erase_prob instead"
            )

    def erase_step(self) -> EraseParams:
        """The settings the erase step runs with once the plan took it: it always erases."""
        return replace(self.erase, probability=1.0)

    def choice(self) -> NDArray[np.float64]:
        """``(flip_prob, translate_prob, erase_prob, jitter_prob)``, as :func:`next_garments_plan` takes them."""
        return np.array([self.flip_prob, self.translate_prob, self.erase_prob, self.jitter_prob])


DEFAULT_ALL = AllParams()
DEFAULT_ALL2 = All2Params()
DEFAULT_GARMENTS = GarmentsParams()

ImageKind = Literal["digits", "garments"]
"""What the images show: handwritten digits (MNIST) or garments (Fashion-MNIST)."""

_DIGITS: frozenset[ImageKind] = frozenset({"digits"})
_GARMENTS: frozenset[ImageKind] = frozenset({"garments"})
_BOTH: frozenset[ImageKind] = _DIGITS | _GARMENTS


@dataclass(frozen=True)
class EffectSpec:
    """What an effect's name stands for, before any kernel: its settings class and the
    kinds of image it suits."""

    params_type: type
    kinds: frozenset[ImageKind]


# Stroke, pen and elastic effects make sense for handwriting only; a mirrored digit is
# not a digit; moves, small affine maps, occlusion and lighting suit both.
EFFECT_SPECS: Mapping[str, EffectSpec] = MappingProxyType(
    {
        "rotate": EffectSpec(RotateParams, _DIGITS),
        "warp": EffectSpec(WarpParams, _DIGITS),
        "shift": EffectSpec(ShiftParams, _BOTH),
        "bold": EffectSpec(BoldParams, _DIGITS),
        "dilate": EffectSpec(DilateParams, _DIGITS),
        "erode": EffectSpec(ErodeParams, _DIGITS),
        "erodedilate": EffectSpec(ErodeDilateParams, _DIGITS),
        "scratches": EffectSpec(ScratchesParams, _DIGITS),
        "blotches": EffectSpec(BlotchesParams, _DIGITS),
        "all": EffectSpec(AllParams, _DIGITS),
        "all2": EffectSpec(All2Params, _DIGITS),
        "flip": EffectSpec(FlipParams, _GARMENTS),
        "translate": EffectSpec(TranslateParams, _BOTH),
        "affine": EffectSpec(AffineParams, _BOTH),
        "erase": EffectSpec(EraseParams, _BOTH),
        "jitter": EffectSpec(JitterParams, _BOTH),
        "garments": EffectSpec(GarmentsParams, _GARMENTS),
    }
)
"""Effect name -> its settings class and the kinds of image it suits, read-only."""

PRESET_EFFECTS: Mapping[ImageKind, tuple[str, ...]] = MappingProxyType(
    {
        "digits": (
            "rotate",
            "warp",
            "shift",
            "bold",
            "dilate",
            "erode",
            "erodedilate",
            "scratches",
            "blotches",
            "all",
            "all2",
        ),
        "garments": ("garments",),
    }
)
"""The effects made for each kind of image when none are named (digits: the recipe's list)."""


def known_effects() -> list[str]:
    """Return the registered effect names, sorted."""
    return sorted(EFFECT_SPECS)


def effect_spec(name: str) -> EffectSpec:
    """What effect `name` is.

    Raises:
        UnknownEffectError: if ``name`` is not registered (the message lists the known names).
    """
    try:
        return EFFECT_SPECS[name]
    except KeyError:
        raise UnknownEffectError(name, known_effects()) from None


def effect_suits(name: str, kind: ImageKind) -> bool:
    """Whether effect ``name`` makes sense on images of ``kind``.

    Raises:
        UnknownEffectError: if ``name`` is not registered.
    """
    return kind in effect_spec(name).kinds


def effect_params_type(name: str) -> type:
    """Return the frozen dataclass holding the settings of effect ``name``.

    Raises:
        UnknownEffectError: if ``name`` is not registered.
    """
    return effect_spec(name).params_type
