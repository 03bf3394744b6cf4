"""The detector contract: a page image in, text regions in reading order out.

A page is an ``H x W x 3`` ``uint8`` RGB numpy array. A region is a float polygon in
page pixels; PP-OCR detectors give quads ordered top-left, top-right, bottom-right,
bottom-left; curved lines may come as ``2n`` points, ``n`` along the top edge left to
right, then ``n`` along the bottom edge right to left (see
:mod:`difftsr_ocr.geometry.polygons`). Everything here is plain numpy so every backend shares it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from difftsr_ocr.errors import InputImageError

__all__ = [
    "BOX_TYPES",
    "Detector",
    "TextRegion",
    "check_page_image",
    "sort_reading_order",
]

# What a detector reports: "quad", PP-OCR's boxes for every line; "poly", curved lines as
# polygons that follow them and straight lines still as PP-OCR's boxes.
BOX_TYPES = ("quad", "poly")

# Two regions share a row when their vertical centres differ by less than this
# fraction of the shorter one's height. A fraction (not rapidocr's fixed 10 px) keeps
# the rule the same at every scan resolution.
_SAME_ROW_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class TextRegion:
    """One detected text region: ``polygon`` is ``[N, 2]`` float32 page pixels."""

    polygon: np.ndarray
    score: float

    def __post_init__(self) -> None:
        polygon = np.asarray(self.polygon, dtype=np.float32)
        if polygon.ndim != 2 or polygon.shape[1] != 2 or polygon.shape[0] < 3:
            raise ValueError(f"a region polygon must be [N, 2] with N >= 3, not {polygon.shape}")
        object.__setattr__(self, "polygon", polygon)
        object.__setattr__(self, "score", float(self.score))


class Detector(Protocol):
    """Anything that finds text regions on a page."""

    name: str

    def detect(self, image: np.ndarray) -> list[TextRegion]:
        """Regions on ``image`` (H x W x 3 uint8 RGB), top-to-bottom then left-to-right."""
        ...


def check_page_image(image: object, who: str) -> np.ndarray:
    """``image`` if it is an H x W x 3 uint8 array, else an InputImageError naming ``who``."""
    if not isinstance(image, np.ndarray):
        raise InputImageError(f"{who}: the page must be a numpy array, not {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputImageError(
            f"{who}: the page must be an H x W x 3 uint8 RGB array, not {image.dtype} {image.shape};"
            " convert it first (difftsr_ocr.imageio.page_from_array does)"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputImageError(f"{who}: the page is empty ({image.shape[1]}x{image.shape[0]} px)")
    return image


def sort_reading_order(regions: Sequence[TextRegion]) -> list[TextRegion]:
    """``regions`` sorted into rows top to bottom, each row left to right."""
    if not regions:
        return []
    tops = np.array([region.polygon[:, 1].min() for region in regions])
    bottoms = np.array([region.polygon[:, 1].max() for region in regions])
    lefts = np.array([region.polygon[:, 0].min() for region in regions])
    centres = (tops + bottoms) / 2.0
    heights = np.maximum(bottoms - tops, 1.0)

    rows: list[list[int]] = []
    anchor = -1
    for index in np.argsort(centres, kind="stable"):
        # A row is anchored on its first (highest) region, so a slow drift of
        # slightly slanted regions cannot chain the whole page into one row.
        if anchor >= 0 and centres[index] - centres[anchor] < _SAME_ROW_FRACTION * min(heights[index], heights[anchor]):
            rows[-1].append(int(index))
            continue
        rows.append([int(index)])
        anchor = int(index)
    return [regions[index] for row in rows for index in sorted(row, key=lambda i: lefts[i])]
