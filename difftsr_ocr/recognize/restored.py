"""Reading restored line crops the way their originals were read, and only where the pixels changed.

The trust gate compares two readings of a line: of the original crop, and of its
restoration seen at the original crop's size and aspect (the recogniser resizes to its
own height anyway, and the gate must compare like with like). A restoration that comes
back pixel-identical to its original at that size is not read again: its reading *is*
the original's, frames and all, so the recogniser is spared a crop whose answer is
known. numpy and OpenCV only.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from difftsr_ocr.recognize.base import Recognition, Recognizer

__all__ = ["read_restored", "resample"]


def resample(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` at ``width`` x ``height``: area-averaged where it shrinks, bicubic where it grows."""
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[1] >= width and image.shape[0] >= height
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def read_restored(
    recognizer: Recognizer,
    originals: Sequence[np.ndarray],
    restored: Sequence[np.ndarray],
    readings: Sequence[Recognition],
) -> list[Recognition]:
    """The reading of each restored crop at its original's size; ``readings`` are the originals'.

    Restorations identical to their originals take the original's reading; the others
    are read together in one recogniser call (so they share batches only with each other,
    as before any were left out).
    """
    if not len(originals) == len(restored) == len(readings):
        raise ValueError(f"{len(originals)} originals, {len(restored)} restorations and {len(readings)} readings")
    views = [resample(image, crop.shape[1], crop.shape[0]) for image, crop in zip(restored, originals, strict=True)]
    changed = [index for index, (view, crop) in enumerate(zip(views, originals, strict=True)) if not _same(view, crop)]
    fresh = recognizer.recognize([views[index] for index in changed]) if changed else []
    results = list(readings)
    for index, reading in zip(changed, fresh, strict=True):
        results[index] = reading
    return results


def _same(view: np.ndarray, crop: np.ndarray) -> bool:
    return view.shape == crop.shape and view.dtype == crop.dtype and bool(np.array_equal(view, crop))
