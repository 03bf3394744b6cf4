"""The recogniser contract: line crops in, one text reading per crop out.

A crop is an ``H x W x 3`` ``uint8`` RGB numpy array holding one upright text line
(the same layout the restorer uses). Confidence is in 0..1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from difftsr_ocr.errors import InputImageError

__all__ = ["Recognition", "Recognizer", "check_crops"]


@dataclasses.dataclass(frozen=True)
class Recognition:
    """One reading: ``text`` ("" when nothing was read) and its ``confidence`` in 0..1."""

    text: str
    confidence: float


class Recognizer(Protocol):
    """Anything that reads a batch of upright line crops."""

    name: str

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One :class:`Recognition` per crop, in the order given."""
        ...


def check_crops(crops: Sequence[np.ndarray], who: str) -> list[np.ndarray]:
    """``crops`` as a list, each checked to be a non-empty H x W x 3 uint8 array."""
    if isinstance(crops, np.ndarray):
        # One array is not a batch; iterating it would read each pixel row as a crop.
        raise InputImageError(f"{who}: pass a list of crops, not a single {crops.shape} array (wrap it: [crop])")
    checked = []
    for index, crop in enumerate(crops):
        if not isinstance(crop, np.ndarray) or crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
            described = f"{crop.dtype} {crop.shape}" if isinstance(crop, np.ndarray) else type(crop).__name__
            raise InputImageError(
                f"{who}: crop {index} must be an H x W x 3 uint8 RGB array, not {described};"
                " convert it with difftsr_ocr.restore.base.normalize_crop"
            )
        if crop.shape[0] == 0 or crop.shape[1] == 0:
            raise InputImageError(f"{who}: crop {index} is empty ({crop.shape[1]}x{crop.shape[0]} px)")
        checked.append(crop)
    return checked
