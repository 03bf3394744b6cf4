"""DB (Differentiable Binarization) post-processing: probability map -> text quads or polygons.

The steps and constants are PP-OCR's (as rapidocr 3.10 and PaddleOCR ship them):
threshold the map, dilate with a 2x2 kernel, take the contours, fit a minimum-area
rectangle to each, score it by the mean probability inside, grow it back by the
distance ``area * unclip_ratio / perimeter`` (the model predicts shrunk text kernels),
fit a rectangle again and scale it to page pixels. Only numpy, cv2, pyclipper, shapely.

``box_type="poly"`` (PaddleOCR's ``det_box_type: poly``) keeps the contour instead of its
rectangle where the rectangle misfits: the contour, simplified, is scored by the mean
probability inside it, grown along itself by the same unclip distance, and laid out as
a line polygon of paired top/bottom points (:func:`~difftsr_ocr.geometry.curves.line_from_outline`).
Which regions keep their quad: the polygon (for a kernel that fills at least
``_QUAD_FILL`` of its rectangle, the grown rectangle itself: a short bent line's kernel
is a blob) is fitted to the page's ink (:func:`~difftsr_ocr.geometry.curves.snug_to_ink`),
and a line whose centre curve then strays less than ``STRAIGHT_BEND`` of its height
from its chord stays PP-OCR's quad. So straight lines get exactly PP-OCR's (and
rapidocr's) quads in both modes.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pyclipper
from shapely.geometry import Polygon

from difftsr_ocr.detect.base import BOX_TYPES
from difftsr_ocr.geometry.curves import STRAIGHT_BEND, line_bend, line_from_outline, snug_to_ink
from difftsr_ocr.geometry.polygons import is_vertical, line_height, line_polygon

__all__ = ["DBPostProcessor", "order_quad_by_x"]

# Kernels filling this much of their minimum-area rectangle are not bent enough to fit a
# curve to (a band bent by STRAIGHT_BEND of its height fills about 1 / 1.2 of its box).
_QUAD_FILL = 0.88
# PaddleOCR's poly mode simplifies contours to within this fraction of their perimeter.
_SIMPLIFY = 0.002

# PP-OCR drops kernels whose short side is under 3 map pixels, and expanded boxes
# under 3 + 2; smaller blobs are noise at the model's 1/1 output stride.
_MIN_KERNEL_SIDE = 3
_MIN_BOX_SIDE = _MIN_KERNEL_SIDE + 2
# Boxes this thin in page pixels are dropped after scaling (PP-OCR's filter_tag_det_res).
_MIN_PAGE_SIDE = 3


@dataclasses.dataclass(frozen=True)
class DBPostProcessor:
    """Turns one DB probability map into quads in the page's pixel frame."""

    thresh: float = 0.3
    box_thresh: float = 0.5
    max_candidates: int = 1000
    unclip_ratio: float = 1.6
    use_dilation: bool = True
    box_type: str = "quad"

    def __post_init__(self) -> None:
        if self.box_type not in BOX_TYPES:
            raise ValueError(f"box_type must be one of {', '.join(BOX_TYPES)}, not {self.box_type!r}")

    def __call__(
        self, prob_map: np.ndarray, page_size: tuple[int, int], page: np.ndarray | None = None
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Polygons (float32, each ``[N, 2]``) and scores ``[N]`` for ``page_size`` (h, w).

        Quads come as TL, TR, BR, BL; curved lines (``box_type="poly"`` only) as ``2n``
        points, the top edge left to right then the bottom edge right to left. With the
        ``page`` itself (H x W x 3 uint8), curved lines are fitted to their ink
        (:func:`~difftsr_ocr.geometry.curves.snug_to_ink`) before their bend is judged.
        """
        if prob_map.ndim != 2:
            raise ValueError(f"expected a 2-D probability map, got shape {prob_map.shape}")
        bitmap = (prob_map > self.thresh).astype(np.uint8)
        if self.use_dilation:
            # Joins the thin gaps the model leaves between characters of one line.
            bitmap = cv2.dilate(bitmap, np.ones((2, 2), dtype=np.uint8))
        contours, _ = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)

        map_h, map_w = prob_map.shape
        page_h, page_w = page_size
        scale = np.array([page_w / map_w, page_h / map_h], dtype=np.float32)
        quads: list[np.ndarray] = []
        scores: list[float] = []
        for contour in contours[: self.max_candidates]:
            kernel, short_side = _min_area_quad(contour)
            if short_side < _MIN_KERNEL_SIDE:
                continue
            if self.box_type == "poly":
                curved = self._curved(prob_map, contour, kernel, scale, page_size, page)
                if curved is not None:
                    if curved[1] >= self.box_thresh:
                        quads.append(curved[0])
                        scores.append(curved[1])
                    continue
            score = _mean_inside(prob_map, kernel)
            if score < self.box_thresh:
                continue
            grown = _unclip(kernel, self.unclip_ratio)
            if grown is None:
                continue
            box, short_side = _min_area_quad(grown)
            if short_side < _MIN_BOX_SIDE:
                continue
            box = np.round(box * scale)
            quad = order_quad_by_x(box)
            quad[:, 0] = np.clip(quad[:, 0], 0, page_w - 1)
            quad[:, 1] = np.clip(quad[:, 1], 0, page_h - 1)
            width = np.linalg.norm(quad[0] - quad[1])
            height = np.linalg.norm(quad[0] - quad[3])
            if width <= _MIN_PAGE_SIDE or height <= _MIN_PAGE_SIDE:
                continue
            quads.append(quad)
            scores.append(score)
        return [quad.astype(np.float32) for quad in quads], np.asarray(scores, dtype=np.float32)

    def _curved(
        self,
        prob_map: np.ndarray,
        contour: np.ndarray,
        kernel: np.ndarray,
        scale: np.ndarray,
        page_size: tuple[int, int],
        page: np.ndarray | None,
    ) -> tuple[np.ndarray, float] | None:
        """The line polygon and score of a contour whose quad misfits; None when a quad suits it after all."""
        simplified = cv2.approxPolyDP(contour, _SIMPLIFY * cv2.arcLength(contour, True), True).reshape(-1, 2)
        if len(simplified) < 4:
            return None
        grown = _unclip(simplified.astype(np.float32), self.unclip_ratio)
        if grown is None:
            return None
        if _fill(contour, kernel) >= _QUAD_FILL:
            # The kernel of a short bent line is a blob that fills its box: only its ink can tell.
            if page is None:
                return None
            box, _ = _min_area_quad(grown)
            outline = line_polygon(box)
        else:
            outline = line_from_outline(grown)
        if outline is None or is_vertical(outline):
            return None
        page_h, page_w = page_size
        polygon = outline * scale
        polygon[:, 0] = np.clip(polygon[:, 0], 0, page_w - 1)
        polygon[:, 1] = np.clip(polygon[:, 1], 0, page_h - 1)
        if page is not None:
            polygon = snug_to_ink(page, polygon)
        if line_bend(polygon) < STRAIGHT_BEND or line_height(polygon) <= _MIN_PAGE_SIDE:
            return None
        # Scored inside the contour (PaddleOCR's "slow" score): a bent line's box is mostly background.
        return polygon.astype(np.float32), _mean_inside(prob_map, simplified.astype(np.float32))


def order_quad_by_x(points: np.ndarray) -> np.ndarray:
    """The 4 corners of a rectangle as TL, TR, BR, BL (image y axis points down), as float32.

    The two leftmost corners are the left edge (top one first), the two rightmost the
    right edge: PP-OCR's rule, right for text lines tilted less than 45 degrees. The
    detector keeps it, ties included, so that its boxes equal rapidocr's corner for
    corner; quads from anywhere else are ordered by
    :func:`~difftsr_ocr.geometry.polygons.order_quad_by_edge_direction`.
    """
    by_x = points[np.argsort(points[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def _min_area_quad(points: np.ndarray) -> tuple[np.ndarray, float]:
    rect = cv2.minAreaRect(points.reshape(-1, 1, 2).astype(np.float32))
    return order_quad_by_x(cv2.boxPoints(rect)), float(min(rect[1]))


def _fill(contour: np.ndarray, quad: np.ndarray) -> float:
    """How much of its minimum-area rectangle ``contour`` covers."""
    box = abs(cv2.contourArea(quad.astype(np.float32)))
    return abs(cv2.contourArea(contour)) / box if box > 0 else 1.0


def _mean_inside(prob_map: np.ndarray, quad: np.ndarray) -> float:
    """Mean probability inside the polygon ``quad`` (PP-OCR's "fast" score is that of the box)."""
    map_h, map_w = prob_map.shape
    x0 = int(np.clip(np.floor(quad[:, 0].min()), 0, map_w - 1))
    x1 = int(np.clip(np.ceil(quad[:, 0].max()), 0, map_w - 1))
    y0 = int(np.clip(np.floor(quad[:, 1].min()), 0, map_h - 1))
    y1 = int(np.clip(np.ceil(quad[:, 1].max()), 0, map_h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (quad - np.array([x0, y0], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(prob_map[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def _unclip(quad: np.ndarray, ratio: float) -> np.ndarray | None:
    polygon = Polygon(quad)
    if polygon.length == 0:
        return None
    distance = polygon.area * ratio / polygon.length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath([tuple(point) for point in quad.tolist()], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = offset.Execute(distance)
    # A quad or a simple contour grows into exactly one polygon; anything else is degenerate.
    if len(grown) != 1:
        return None
    return np.asarray(grown[0], dtype=np.float32)
