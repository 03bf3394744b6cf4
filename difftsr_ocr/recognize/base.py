"""The recogniser contract: line crops in, one text reading per crop out.

A crop is an ``H x W x 3`` ``uint8`` RGB numpy array holding one upright text line
(the same layout the restorer uses). Confidence is in 0..1. A CTC recogniser also
returns its per-frame evidence (:class:`.ctc.CTCFrames`), which the trust gate uses to
ask whether the original pixels allow another reading.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from difftsr_ocr.errors import InputImageError
from difftsr_ocr.recognize.ctc import CTCFrames

__all__ = ["Recognition", "Recognizer", "check_crops", "trim_frame"]

# A border row or column is plain surround when under this share of its pixels differ
# from the border colour by more than this many grey levels (noise and JPEG stay below).
_SURROUND_LEVELS = 48
_SURROUND_SHARE = 0.01


@dataclasses.dataclass(frozen=True)
class Recognition:
    """One reading: ``text`` ("" when nothing was read), its ``confidence`` in 0..1, and its evidence.

    ``frames`` is the recogniser's per-frame CTC output for the crop (None for
    recognisers that do not expose it).
    """

    text: str
    confidence: float
    frames: CTCFrames | None = dataclasses.field(default=None, compare=False, repr=False)


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


def trim_frame(crop: np.ndarray) -> np.ndarray:
    """``crop`` without a plain surround of another colour than the text's own background.

    A detector's box overshoots a sign, a label or a pasted line image into the flat
    page around it; recognisers read that edge as strokes (a white frame around a
    degraded line turned 图 into 厨 and 口 into □). Cut at the edge of such a frame;
    a crop whose surround is its own background (text on paper) comes back unchanged,
    margin and all, since the recogniser was trained with that margin.
    """
    outer = np.median(_ring(crop.astype(np.int16)), axis=0)
    differs = _differs_from(crop, outer)
    height, width = differs.shape
    rows = np.flatnonzero(np.count_nonzero(differs, axis=1) / width > _SURROUND_SHARE)
    cols = np.flatnonzero(np.count_nonzero(differs, axis=0) / height > _SURROUND_SHARE)
    if rows.size == 0 or cols.size == 0:
        return crop
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (y1 - y0, x1 - x0) == crop.shape[:2] or min(y1 - y0, x1 - x0) < 4:
        return crop
    inner = np.median(_ring(crop[y0:y1, x0:x1].astype(np.int16)), axis=0)
    if np.abs(inner - outer).max() <= _SURROUND_LEVELS:
        return crop
    return crop[y0:y1, x0:x1]


def _differs_from(crop: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """H x W bools: pixels of ``crop`` more than ``_SURROUND_LEVELS`` from ``colour`` in some channel.

    Looked up per channel in a 256-entry table rather than computed per pixel: every
    recognised crop passes here (twice per line), and the table is 16 times faster.
    """
    table = np.abs(np.arange(256)[:, None] - colour[None, :]) > _SURROUND_LEVELS
    return table[crop[:, :, 0], 0] | table[crop[:, :, 1], 1] | table[crop[:, :, 2], 2]


def _ring(pixels: np.ndarray) -> np.ndarray:
    """The outermost pixels of an H x W x 3 array, as N x 3."""
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
