"""Scores for pages with known text: detection, character error rate, and seams.

All of them are sums that aggregate over pages (``+``), so a benchmark reports the rate
over every line it saw rather than a mean of per-page rates that small pages would skew.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np
from shapely.geometry import Polygon
from shapely.validation import make_valid

from difftsr_ocr.geometry.composite import feather_mask
from difftsr_ocr.geometry.rectify import Patch
from difftsr_ocr.merge import edit_distance, normalise_text

__all__ = [
    "DetectionScore",
    "SeamScore",
    "TextScore",
    "assign_texts",
    "detection_score",
    "match_polygons",
    "polygon_iou",
    "seam_score",
    "text_score",
]


def _shape(points: np.ndarray | Sequence[Sequence[float]]) -> Polygon:
    shape = Polygon(np.asarray(points, dtype=np.float64))
    # Detector quads of thin, steep lines can self-intersect by a fraction of a pixel.
    return shape if shape.is_valid else make_valid(shape)


def polygon_iou(a: np.ndarray | Sequence[Sequence[float]], b: np.ndarray | Sequence[Sequence[float]]) -> float:
    """Intersection over union of two polygons given as ``[[x, y], ...]``."""
    first, second = _shape(a), _shape(b)
    union = first.union(second).area
    return float(first.intersection(second).area / union) if union > 0 else 0.0


def match_polygons(
    predicted: Sequence[np.ndarray], expected: Sequence[np.ndarray], threshold: float = 0.5
) -> list[tuple[int, int]]:
    """One-to-one ``(predicted, expected)`` index pairs with IoU >= ``threshold``, best pairs first."""
    boxes_p = [_box(p) for p in predicted]
    boxes_e = [_box(e) for e in expected]
    candidates = []
    for i, p in enumerate(predicted):
        for j, e in enumerate(expected):
            # Polygons whose boxes are apart share nothing; a page of 150 lines would
            # otherwise cost 22,500 polygon intersections.
            if threshold > 0 and not _boxes_meet(boxes_p[i], boxes_e[j]):
                continue
            iou = polygon_iou(p, e)
            if iou >= threshold:
                candidates.append((iou, i, j))
    used_predicted: set[int] = set()
    used_expected: set[int] = set()
    pairs = []
    for _, i, j in sorted(candidates, reverse=True):
        if i not in used_predicted and j not in used_expected:
            used_predicted.add(i)
            used_expected.add(j)
            pairs.append((i, j))
    return pairs


def _box(points: np.ndarray | Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    array = np.asarray(points, dtype=np.float64)
    return float(array[:, 0].min()), float(array[:, 1].min()), float(array[:, 0].max()), float(array[:, 1].max())


def _boxes_meet(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclasses.dataclass(frozen=True)
class DetectionScore:
    matched: int = 0
    predicted: int = 0
    expected: int = 0

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    def __add__(self, other: DetectionScore) -> DetectionScore:
        return DetectionScore(
            self.matched + other.matched, self.predicted + other.predicted, self.expected + other.expected
        )


def detection_score(
    predicted: Sequence[np.ndarray], expected: Sequence[np.ndarray], threshold: float = 0.5
) -> DetectionScore:
    """Precision and recall of detected line polygons against the true ones at an IoU threshold."""
    return DetectionScore(len(match_polygons(predicted, expected, threshold)), len(predicted), len(expected))


def assign_texts(
    predicted: Sequence[tuple[np.ndarray, str]],
    expected: Sequence[np.ndarray],
    vertical: Sequence[bool] | None = None,
    min_cover: float = 0.5,
) -> list[str]:
    """What was read inside each true line: the texts of the detections lying on it.

    A detector may split a long line in two, or box a curved line in a quad that is
    mostly background; scoring text per true line measures recognition without counting
    those as wholly wrong. A detection goes to the true line it overlaps most, when the
    overlap is at least ``min_cover`` of the smaller of the two; texts of one true line
    are joined in reading order. Detections on no true line are left out here:
    precision counts them.
    """
    vertical = vertical or [False] * len(expected)
    shapes = [_shape(e) for e in expected]
    found: list[list[tuple[float, str]]] = [[] for _ in expected]
    for polygon, text in predicted:
        shape = _shape(polygon)
        if shape.area <= 0 or not shapes:
            continue
        overlaps = [shape.intersection(e).area for e in shapes]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= min_cover * min(shape.area, shapes[best].area):
            found[best].append((_reading_position(polygon, expected[best], vertical[best]), text))
    return [normalise_text(" ".join(text for _, text in sorted(parts))) for parts in found]


def _reading_position(polygon: np.ndarray, line: np.ndarray, vertical: bool) -> float:
    centre = np.asarray(polygon, dtype=np.float64).mean(axis=0)
    line = np.asarray(line, dtype=np.float64)
    # Along the true line's first edge (TL -> TR), or down its side for stacked text.
    direction = line[3] - line[0] if vertical and len(line) == 4 else line[1] - line[0]
    return float(np.dot(centre - line[0], direction))


@dataclasses.dataclass(frozen=True)
class TextScore:
    errors: int = 0
    characters: int = 0

    @property
    def cer(self) -> float:
        """Character error rate: edit operations per true character."""
        return self.errors / self.characters if self.characters else 0.0

    def __add__(self, other: TextScore) -> TextScore:
        return TextScore(self.errors + other.errors, self.characters + other.characters)


def text_score(predicted: Sequence[str], expected: Sequence[str]) -> TextScore:
    """Edit distance of each predicted text to its true text (a missing line costs its length)."""
    pairs = [(normalise_text(p), normalise_text(e)) for p, e in zip(predicted, expected, strict=True)]
    return TextScore(sum(edit_distance(p, e) for p, e in pairs), sum(len(e) for _, e in pairs))


@dataclasses.dataclass(frozen=True)
class SeamScore:
    """Gradient energy of the output over that of the input, along the feather bands and inside them.

    A composite without seams leaves the bands' energy where it was (ratio ~1) while the
    inside changes as the restorer wants (sharper text: ratio > 1). A band ratio well
    above 1 means the pasted lines show their edges. Fields are sums, so scores add up.
    """

    band_output: float = 0.0
    band_input: float = 0.0
    inside_output: float = 0.0
    inside_input: float = 0.0
    band_pixels: int = 0
    inside_pixels: int = 0

    @property
    def band_ratio(self) -> float:
        return _ratio(self.band_output, self.band_input, self.band_pixels)

    @property
    def inside_ratio(self) -> float:
        return _ratio(self.inside_output, self.inside_input, self.inside_pixels)

    def __add__(self, other: SeamScore) -> SeamScore:
        return SeamScore(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))


# Per pixel, what a one-level step looks like to a 3x3 Sobel (4^2): keeps a ratio over a
# perfectly flat input finite and meaningful instead of dividing by zero.
_ENERGY_FLOOR = 16.0


def _ratio(output: float, input_: float, pixels: int) -> float:
    floor = _ENERGY_FLOOR * pixels
    return (output + floor) / (input_ + floor) if pixels else 1.0


def _gradient_energy(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return gx * gx + gy * gy


def seam_score(before: np.ndarray, after: np.ndarray, patches: Sequence[Patch], feather: float = 0.1) -> SeamScore:
    """Seams of a composite: ``after`` is ``before`` with ``patches`` blended in (same size).

    A patch's band is where its feather weight is below 1, widened by one pixel outwards
    so that a step at the patch's outer edge is seen; its inside is where the weight is 1.
    Pixels in two patches count twice.
    """
    if before.shape != after.shape:
        raise ValueError(f"seam score needs equal sizes, got {before.shape} and {after.shape}")
    energy_before, energy_after = _gradient_energy(before), _gradient_energy(after)
    height, width = before.shape[:2]
    score = SeamScore()
    for patch in patches:
        x0, y0, _, _ = patch.bbox
        # Work one pixel beyond the patch box on every side, then clip to the page.
        weight = np.pad(feather_mask(patch.mask, patch.text_height, feather), 1)
        covered = cv2.dilate(np.pad(patch.mask, 1).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        inside = weight >= 1.0
        band = covered & ~inside
        top, left = y0 - 1, x0 - 1
        rows = slice(max(0, -top), min(weight.shape[0], height - top))
        cols = slice(max(0, -left), min(weight.shape[1], width - left))
        page = (slice(top + rows.start, top + rows.stop), slice(left + cols.start, left + cols.stop))
        band, inside = band[rows, cols], inside[rows, cols]
        score += SeamScore(
            band_output=float(energy_after[page][band].sum()),
            band_input=float(energy_before[page][band].sum()),
            inside_output=float(energy_after[page][inside].sum()),
            inside_input=float(energy_before[page][inside].sum()),
            band_pixels=int(band.sum()),
            inside_pixels=int(inside.sum()),
        )
    return score
