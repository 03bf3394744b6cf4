"""Seeded damage of the kinds DiffTSR was trained against: blur, resampling, noise and JPEG."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import cv2
import numpy as np

__all__ = ["Degradation", "apply_degradation", "degrade"]

# The degradations DiffTSR was trained against, in the order a real capture applies them
# (optics blur the scene, the sensor resamples it, then adds noise, then the codec
# compresses). The ranges are the ones degrade() draws from.
_STEP_ORDER = ("gaussian_blur", "motion_blur", "downup", "noise", "jpeg")
_STEP_RANGES: dict[str, tuple[float, float]] = {
    "gaussian_blur": (0.6, 2.0),  # sigma, pixels
    "motion_blur": (5.0, 13.0),  # kernel length, pixels
    "downup": (2.0, 4.0),  # downsampling factor
    "noise": (2.0, 10.0),  # sigma, grey levels
    "jpeg": (20.0, 60.0),  # quality
}
_BLURS = ("gaussian_blur", "motion_blur", "downup")
_DOWN = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)
_UP = (cv2.INTER_LINEAR, cv2.INTER_CUBIC)

# Separate random streams, so that drawing the steps and applying them never share numbers.
_DRAW_STREAM = 1
_APPLY_STREAM = 2


@dataclasses.dataclass(frozen=True)
class Degradation:
    """The damage applied to a page, in order, so a benchmark can report results per damage type.

    Each step is ``(name, value)`` with name one of gaussian_blur (sigma), motion_blur
    (length in pixels), downup (factor), noise (sigma) and jpeg (quality). Choices that
    are not recorded (the motion direction, the resampling filters, the noise itself)
    come from the seed given to :func:`apply_degradation`.
    """

    steps: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        steps = tuple((str(name), float(value)) for name, value in self.steps)
        for name, value in steps:
            if name not in _STEP_RANGES:
                raise ValueError(f"unknown degradation step {name!r}; choose from {', '.join(_STEP_ORDER)}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"degradation step {name!r} needs a positive value, got {value}")
        object.__setattr__(self, "steps", steps)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [[name, value] for name, value in self.steps]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Degradation:
        return cls(steps=tuple((str(name), float(value)) for name, value in data["steps"]))


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)
    centre = (size - 1) / 2.0
    dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
    half = (length - 1) / 2.0
    # Sub-pixel sampling along the segment gives an anti-aliased streak at any angle.
    for t in np.linspace(-half, half, 8 * length):
        x, y = centre + t * dx, centre + t * dy
        ix, iy = math.floor(x), math.floor(y)
        fx, fy = x - ix, y - iy
        for ox, oy, weight in (
            (0, 0, (1 - fx) * (1 - fy)),
            (1, 0, fx * (1 - fy)),
            (0, 1, (1 - fx) * fy),
            (1, 1, fx * fy),
        ):
            if 0 <= ix + ox < size and 0 <= iy + oy < size:
                kernel[iy + oy, ix + ox] += weight
    return kernel / kernel.sum()


def apply_degradation(image: np.ndarray, degradation: Degradation, seed: int) -> np.ndarray:
    """Apply the given steps in order, so tests can ask for a fixed mild or strong damage.

    Every step works on uint8, quantising in between like a real capture chain does.
    The same image, steps and seed give byte-identical output.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an H x W x 3 uint8 array, got {image.dtype} {image.shape}")
    rng = np.random.default_rng((int(seed), _APPLY_STREAM))
    height, width = image.shape[:2]
    out = np.ascontiguousarray(image)
    for name, value in degradation.steps:
        if name == "gaussian_blur":
            out = cv2.GaussianBlur(out, (0, 0), value, borderType=cv2.BORDER_REFLECT)
        elif name == "motion_blur":
            kernel = _motion_kernel(max(2, round(value)), float(rng.uniform(0.0, 180.0)))
            out = cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_REFLECT)
        elif name == "downup":
            down = _DOWN[int(rng.integers(len(_DOWN)))]
            up = _UP[int(rng.integers(len(_UP)))]
            small = (max(1, round(width / value)), max(1, round(height / value)))
            out = cv2.resize(cv2.resize(out, small, interpolation=down), (width, height), interpolation=up)
        elif name == "noise":
            noisy = out.astype(np.float32) + rng.normal(0.0, value, out.shape).astype(np.float32)
            out = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
        else:  # jpeg; the codec sees BGR like any OpenCV writer would give it
            quality = int(np.clip(round(value), 1, 100))
            ok, encoded = cv2.imencode(
                ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
            )
            if not ok:
                raise RuntimeError("OpenCV could not encode a JPEG")
            out = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(out)


def _draw_degradation(seed: int) -> Degradation:
    rng = np.random.default_rng((int(seed), _DRAW_STREAM))
    count = int(rng.integers(2, 5))
    chosen = [int(index) for index in rng.choice(len(_STEP_ORDER), size=count, replace=False)]
    if not any(_STEP_ORDER[index] in _BLURS for index in chosen):
        # A page that is only noisy and compressed would not need super-resolution.
        chosen[0] = int(rng.integers(len(_BLURS)))
    steps = []
    for index in sorted(chosen):
        name = _STEP_ORDER[index]
        low, high = _STEP_RANGES[name]
        if name in ("motion_blur", "jpeg"):
            value = float(rng.integers(int(low), int(high) + 1))
        else:
            value = round(float(rng.uniform(low, high)), 2)
        steps.append((name, value))
    return Degradation(steps=tuple(steps))


def degrade(image: np.ndarray, seed: int) -> tuple[np.ndarray, Degradation]:
    """A random, seeded mix of 2-4 of the damages DiffTSR was trained against, in a realistic order.

    Blur (Gaussian, sigma 0.6-2.0, or motion, 5-13 px), down-then-up sampling (factor
    2-4), Gaussian noise (sigma 2-10) and JPEG (quality 20-60): at least one blur or
    resampling always, JPEG always last. Same image and seed give byte-identical output.
    """
    degradation = _draw_degradation(seed)
    return apply_degradation(image, degradation, seed), degradation
