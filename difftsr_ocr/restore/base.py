"""The restorer contract: line crops in, restored crops of the same line region out, at the restorer's resolution.

A crop is an ``H x W x 3`` ``uint8`` RGB numpy array (the one layout every stage
agrees on). :func:`normalize_crop` turns what users actually have (grayscale,
RGBA, 16-bit, float) into that, or says why a crop cannot be restored, so one bad
crop never fails a batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

__all__ = [
    "MAX_ASPECT_RATIO",
    "MIN_CROP_HEIGHT",
    "RestoreProgress",
    "RestoredCrop",
    "Restorer",
    "normalize_crop",
]

# A crop narrower than this many pixels high carries no recoverable strokes.
MIN_CROP_HEIGHT = 4
# DiffTSR works on 512x128 (4:1) and at most 24 characters; a line much wider than
# that must be split into chunks by the caller (the page pipeline does).
MAX_ASPECT_RATIO = 16.0


@dataclasses.dataclass(frozen=True)
class RestoredCrop:
    """One restorer output.

    ``image`` shows the crop's region at the restorer's own working resolution (DiffTSR:
    512x128; it may be larger than the crop, and scaled differently along each axis);
    ``None`` when skipped. The pipeline warps it once, straight into the output page, so
    the detail a restorer drew survives an output scale > 1. ``text`` and
    ``confidence`` (0..1) are the restorer's own reading of the line, empty and 0 when
    it has none; ``text_source`` says who read it: ``"difftsr"`` for a reading the
    restoration produced (DiffTSR's TDM), ``"text_prior"`` for the reading of the
    degraded crop that conditioned it (TransOCR), which is no independent evidence;
    ``skipped`` says why a crop was passed over.
    """

    image: np.ndarray | None
    text: str = ""
    confidence: float = 0.0
    text_source: str = "difftsr"
    skipped: str | None = None


@dataclasses.dataclass(frozen=True)
class RestoreProgress:
    done: int
    total: int


ProgressCallback = Callable[[RestoreProgress], None]


class Restorer(Protocol):
    """Anything that restores a batch of line crops."""

    name: str

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]: ...


def normalize_crop(crop: object) -> np.ndarray | str:
    """An ``H x W x 3`` uint8 RGB copy of ``crop``, or the reason it cannot be restored."""
    if not isinstance(crop, np.ndarray):
        return f"not an image array ({type(crop).__name__})"
    array = crop
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        return f"unsupported crop shape {crop.shape} (need H x W, H x W x 3 or H x W x 4)"
    height, width = array.shape[:2]
    if height < MIN_CROP_HEIGHT or width < MIN_CROP_HEIGHT:
        return f"crop too small ({width}x{height} px)"
    if width / height > MAX_ASPECT_RATIO:
        return (
            f"crop too wide for one DiffTSR pass (aspect {width / height:.1f} > {MAX_ASPECT_RATIO:g}); split it first"
        )
    array = _to_uint8(array)
    if array.shape[2] == 4:
        # Transparent pixels become white paper, not black ink.
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = np.round(array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(array)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        # Floats are taken as 0..1 images, as the rest of the Python imaging world does.
        return np.round(np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.clip(array, 0, 255).astype(np.uint8)
