"""Split long rectified lines into overlapping chunks, and stitch them back.

DiffTSR restores a 512x128 crop (aspect 4) holding at most 24 characters, so a long
line is cut into chunks that each fit both limits, with some overlap so every
character appears whole in at least one chunk. Stitching cross-fades linearly across
each overlap: identical pixels come back exactly, and differing ones meet without a
seam. Each :class:`Chunk` keeps its x-range so readings can be merged by position.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import cv2
import numpy as np

from difftsr_ocr.errors import ConfigError

__all__ = ["Chunk", "plan_chunks", "split_crop", "stitch_chunks"]


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Columns ``[x0, x1)`` of the rectified crop."""

    x0: int
    x1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def plan_chunks(
    width: int,
    height: int,
    *,
    max_aspect: float = 8.0,
    max_chars: int = 24,
    text_length: int | None = None,
    chars_per_height: float = 2.0,
    overlap: float = 0.75,
) -> list[Chunk]:
    """Overlapping column ranges covering ``[0, width)``, each within both limits.

    A chunk is at most ``max_aspect * height`` wide and is expected to hold at most
    ``max_chars`` characters: the density comes from ``text_length`` (the length of a
    reading of the whole line; ``None`` or 0 when there is none), else from ``chars_per_height`` (characters per line-height
    of width; about 2 for Latin print, 1 for CJK). ``overlap`` is in line heights.
    Chunks share one width and are spread evenly, so none is a thin sliver.
    """
    if width < 1 or height < 1:
        raise ConfigError(f"cannot chunk a {width}x{height} crop; it needs at least one pixel each way")
    _check_positive(max_aspect=max_aspect, max_chars=max_chars, chars_per_height=chars_per_height)
    if overlap < 0:
        raise ConfigError(f"chunk overlap must be >= 0 line heights, got {overlap}")
    if text_length is not None and text_length < 0:
        raise ConfigError(f"text_length must be >= 0, got {text_length}")

    chars_per_pixel = text_length / width if text_length else chars_per_height / height
    limit = math.floor(min(max_aspect * height, max_chars / chars_per_pixel))
    if width <= limit:
        return [Chunk(0, width)]
    shared = math.ceil(overlap * height)
    if 2 * shared > limit:
        raise ConfigError(
            f"chunk overlap {overlap} line heights ({shared} px) exceeds half the widest chunk ({limit} px); lower it"
        )
    count = math.ceil((width - shared) / (limit - shared))
    chunk_width = math.ceil((width + (count - 1) * shared) / count)
    step = (width - chunk_width) / (count - 1)
    starts = [round(index * step) for index in range(count)]
    return [Chunk(start, min(width, start + chunk_width)) for start in starts[:-1]] + [
        Chunk(width - chunk_width, width)
    ]


def split_crop(crop: np.ndarray, chunks: Sequence[Chunk]) -> list[np.ndarray]:
    """The column slices of ``crop`` for ``chunks`` (contiguous copies)."""
    return [np.ascontiguousarray(crop[:, chunk.x0 : chunk.x1]) for chunk in chunks]


def stitch_chunks(images: Sequence[np.ndarray], chunks: Sequence[Chunk], width: int) -> np.ndarray:
    """One image of the whole line from per-chunk images, cross-faded across overlaps.

    The images may come back at a different resolution than their chunks (a restorer
    asked for an output scale): the scale is read from the first image, and the result
    is ``round(width * scale)`` wide and as high as the first image.
    """
    if len(images) != len(chunks) or not chunks:
        raise ValueError(f"need one image per chunk, got {len(images)} images for {len(chunks)} chunks")
    out_h = images[0].shape[0]
    scale = images[0].shape[1] / chunks[0].width
    out_w = round(width * scale)
    bounds = [(round(chunk.x0 * scale), min(out_w, round(chunk.x1 * scale))) for chunk in chunks]
    channels = images[0].shape[2:]
    total = np.zeros((out_h, out_w, *channels), np.float64)
    weight = np.zeros(out_w, np.float64)
    for index, (given, (x0, x1)) in enumerate(zip(images, bounds, strict=True)):
        image = given
        if image.shape[:2] != (out_h, x1 - x0):
            image = cv2.resize(given, (x1 - x0, out_h), interpolation=cv2.INTER_LINEAR)
        ramp = np.ones(x1 - x0)
        centres = np.arange(x0, x1) + 0.5
        if index > 0 and bounds[index - 1][1] > x0:
            ramp = np.minimum(ramp, (centres - x0) / (bounds[index - 1][1] - x0))
        if index + 1 < len(bounds) and bounds[index + 1][0] < x1:
            ramp = np.minimum(ramp, (x1 - centres) / (x1 - bounds[index + 1][0]))
        shape = (1, -1) + (1,) * len(channels)
        total[:, x0:x1] += image.astype(np.float64) * ramp.reshape(shape)
        weight[x0:x1] += ramp
    if np.any(weight <= 0):
        raise ValueError(f"chunks leave columns of the {width} px line uncovered")
    shape = (1, -1) + (1,) * len(channels)
    result = total / weight.reshape(shape)
    return np.clip(np.round(result), 0, 255).astype(images[0].dtype)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ConfigError(f"chunk {name} must be > 0, got {value}")
