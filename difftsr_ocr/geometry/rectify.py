"""Rectify a line polygon into an upright crop, and map a crop back onto the page.

Both directions go through the same piecewise projective map. The polygon's ``n``
top/bottom point pairs cut it into ``n - 1`` quads (one for a plain quadrilateral);
each quad gets the homography that sends a rectangle of *line space* onto it. Line
space is ``[0, length] x [0, height]`` with length measured along the polygon's
centre line, so one unit is about one page pixel. A crop is line space resampled to
its pixel size; a vertical line's crop is its column cut into characters and laid out
upright left to right (:mod:`.vertical`), or turned 90 degrees counter-clockwise as
PP-OCR does; a crop is turned by 180 degrees more for a line whose text stands on its head
(:func:`turn_over`). :func:`unrectify` uses the inverse homographies, so the round trip is exact up
to interpolation, and it accepts a crop of any size: a restorer may return its output
at a higher resolution, which is just a finer sampling of the same line space.

Pixel coordinates follow the pixel-edge convention of :mod:`.polygons`; the half-pixel
shifts into OpenCV's pixel-centre indices happen only where maps are built.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.geometry.polygons import VERTICAL_RATIO, edges, is_vertical, line_polygon
from difftsr_ocr.geometry.vertical import StripLayout, character_cells, lay_out_horizontally, stack_back

__all__ = [
    "LineWarp",
    "Patch",
    "plan_warp",
    "rectify_line",
    "turn_over",
    "turned_page_warp",
    "unrectify",
    "upright_column",
]

# Bilinear sampling only aliases visibly when it shrinks by more than about 1.25x;
# below this ratio the source is area-averaged down first.
_PREFILTER_BELOW = 0.8
# Below this many crop pixels per output pixel, unrectify enlarges the crop.
_BICUBIC_BELOW = 0.9


@dataclasses.dataclass(frozen=True, eq=False)
class LineWarp:
    """Everything needed to map a line crop back onto its page.

    ``knots`` are the x positions in line space where the ``homographies`` (line
    space -> page pixels) hand over; ``line_size`` is ``(length, height)`` of line
    space; ``crop_size`` is ``(width, height)`` of the crop before any rotation;
    ``rotated`` says the line is vertical: its crop was turned 90 degrees
    counter-clockwise, or, when ``strip`` is set, its characters were laid out upright
    left to right as ``strip`` records; ``upside_down`` that it was turned 180 degrees (on top of that), because the text
    on the page is upside down.
    """

    polygon: np.ndarray
    knots: np.ndarray
    homographies: np.ndarray
    line_size: tuple[float, float]
    crop_size: tuple[int, int]
    rotated: bool
    page_size: tuple[int, int]
    upside_down: bool = False
    strip: StripLayout | None = None

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of the crop :func:`rectify_line` returns."""
        if self.strip is not None:
            return self.strip.strip_size
        width, height = self.crop_size
        return (height, width) if self.rotated else (width, height)

    @property
    def text_height(self) -> float:
        """Glyph height in page pixels (across the text, whichever way it runs)."""
        length, height = self.line_size
        return length if self.rotated else height


@dataclasses.dataclass(frozen=True, eq=False)
class Patch:
    """A crop warped back into page pixels over the line's bounding box.

    ``image`` and ``mask`` (bool, True where the line covers the pixel) are ``h x w``;
    ``x``, ``y`` is the patch's top-left on the (possibly upscaled) page; pixels outside
    the mask are zero. ``text_height`` is in the same pixels, for feathering.
    """

    image: np.ndarray
    mask: np.ndarray
    x: int
    y: int
    text_height: float

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) on the page, end-exclusive."""
        height, width = self.mask.shape
        return self.x, self.y, self.x + width, self.y + height


def plan_warp(
    polygon: np.ndarray,
    page_size: tuple[int, int],
    *,
    height: int | None = None,
    vertical_ratio: float = VERTICAL_RATIO,
) -> LineWarp:
    """The warp for ``polygon`` without touching pixels.

    ``height`` is the height of the returned crop (after rotation; about that for a
    column laid out upright, whose strip is as tall as its tallest character cell); by
    default the text keeps its page resolution.
    """
    if height is not None and height < 1:
        raise ConfigError(f"rectify height must be a positive number of pixels, got {height}")
    points = line_polygon(polygon)
    page_w, page_h = page_size
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    if x1 <= 0 or y1 <= 0 or x0 >= page_w or y0 >= page_h:
        raise InputImageError(f"line polygon {_describe(points)} lies outside the {page_w}x{page_h} page")
    top, bottom = _distinct_pairs(*edges(points))
    centre = (top + bottom) / 2.0
    knots = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(centre, axis=0).T))])
    length = float(knots[-1])
    line_height = float(np.mean(np.hypot(*(top - bottom).T)))
    if length < 1.0 or line_height < 1.0:
        raise InputImageError(f"line polygon {_describe(points)} is degenerate (under 1 px long or high); drop it")

    homographies = np.stack(
        [
            _homography(
                np.array([[knots[i], 0.0], [knots[i + 1], 0.0], [knots[i + 1], line_height], [knots[i], line_height]]),
                np.array([top[i], top[i + 1], bottom[i + 1], bottom[i]]),
                points,
            )
            for i in range(len(knots) - 1)
        ]
    )
    rotated = is_vertical(points, vertical_ratio)
    # After a rotation the crop's height is the line's length in line space.
    factor = 1.0 if height is None else height / (length if rotated else line_height)
    crop_size = (max(1, round(length * factor)), max(1, round(line_height * factor)))
    return LineWarp(
        polygon=points,
        knots=knots,
        homographies=homographies,
        line_size=(length, line_height),
        crop_size=crop_size,
        rotated=rotated,
        page_size=(int(page_w), int(page_h)),
    )


def rectify_line(
    page: np.ndarray,
    polygon: np.ndarray,
    *,
    height: int | None = None,
    vertical_ratio: float = VERTICAL_RATIO,
    upright_columns: bool = True,
) -> tuple[np.ndarray, LineWarp]:
    """The upright crop of one line and the warp that maps it back.

    ``page`` is ``H x W x 3`` uint8; the crop is too. A vertical line's text reads left
    to right in its crop: with ``upright_columns`` its characters are set side by side,
    still upright; without, the column is turned 90 degrees counter-clockwise.
    """
    _check_image(page, "page")
    warp = plan_warp(polygon, (page.shape[1], page.shape[0]), height=height, vertical_ratio=vertical_ratio)
    crop_w, crop_h = warp.crop_size
    length, line_height = warp.line_size
    scale_x, scale_y = crop_w / length, crop_h / line_height
    line_x = (np.arange(crop_w) + 0.5) / scale_x
    line_y = (np.arange(crop_h) + 0.5) / scale_y
    segment = np.clip(np.searchsorted(warp.knots, line_x, side="right") - 1, 0, len(warp.homographies) - 1)
    page_x = np.empty((crop_h, crop_w), np.float64)
    page_y = np.empty((crop_h, crop_w), np.float64)
    for index, matrix in enumerate(warp.homographies):
        columns = np.flatnonzero(segment == index)
        if columns.size:
            grid_x, grid_y = np.meshgrid(line_x[columns], line_y)
            px, py = _apply(matrix, grid_x, grid_y)
            page_x[:, columns] = px
            page_y[:, columns] = py

    source, origin, factors = _source_for(page, warp.polygon, min(scale_x, scale_y))
    map_x = ((page_x - origin[0]) * factors[0] - 0.5).astype(np.float32)
    map_y = ((page_y - origin[1]) * factors[1] - 0.5).astype(np.float32)
    crop = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if warp.rotated and upright_columns:
        return _column_laid_out(crop, warp)
    if warp.rotated:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop, warp


def upright_column(crop: np.ndarray, warp: LineWarp) -> tuple[np.ndarray, LineWarp]:
    """A vertical line's crop turned 90 degrees (PP-OCR's way) laid out again with its characters upright.

    The same crop and warp :func:`rectify_line` gives with ``upright_columns``, without
    sampling the page again: the turned crop is the column, turned.
    """
    _check_image(crop, "line crop")
    if not warp.rotated or warp.strip is not None or warp.upside_down:
        raise ValueError("upright_column takes the crop of a vertical line turned 90 degrees, nothing else")
    return _column_laid_out(np.ascontiguousarray(np.rot90(crop, -1)), warp)


def _column_laid_out(column: np.ndarray, warp: LineWarp) -> tuple[np.ndarray, LineWarp]:
    strip_crop, strip = lay_out_horizontally(column, character_cells(column))
    return strip_crop, dataclasses.replace(warp, strip=strip)


def turn_over(crop: np.ndarray, warp: LineWarp) -> tuple[np.ndarray, LineWarp]:
    """``crop`` turned 180 degrees and its warp saying so: how a line whose text is upside down is read upright.

    :func:`unrectify` turns a crop of the returned warp back, so restored pixels land
    the page's own way up. Turning twice gives the original crop and warp.
    """
    _check_image(crop, "line crop")
    turned = np.ascontiguousarray(crop[::-1, ::-1])
    return turned, dataclasses.replace(warp, upside_down=not warp.upside_down)


def turned_page_warp(warp: LineWarp) -> LineWarp:
    """The warp of the same crop on the page turned by 180 degrees (the page ``warp`` was planned on, turned).

    A crop cut from a page turned upright is the crop of that line on the page as it
    stands: only the map into page pixels turns, so :func:`unrectify` pastes it there.
    """
    width, height = warp.page_size
    turn = np.array([[-1.0, 0.0, float(width)], [0.0, -1.0, float(height)], [0.0, 0.0, 1.0]])
    return dataclasses.replace(
        warp,
        polygon=np.array([width, height], dtype=np.float64) - warp.polygon,
        # The turn keeps each homography's third row, so the sign fixed in _homography holds.
        homographies=np.einsum("ij,njk->nik", turn, warp.homographies),
    )


def unrectify(crop: np.ndarray, warp: LineWarp, *, scale: float = 1.0) -> Patch:
    """Warp ``crop`` (any size, same orientation as the rectified crop) back over its line, in one resampling.

    ``scale`` > 1 places the patch on a page upscaled by that factor (output sizes
    are ``round(page size * scale)``), sampling the crop at that finer resolution: a
    restorer's output at its own resolution goes straight into the output page,
    antialiased where it is denser than the page, bicubic where it is coarser.
    """
    _check_image(crop, "restored crop")
    if scale <= 0:
        raise ConfigError(f"output scale must be > 0, got {scale}")
    upright = crop[::-1, ::-1] if warp.upside_down else crop
    if warp.strip is not None:
        upright = stack_back(upright, warp.strip)
    elif warp.rotated:
        upright = np.rot90(upright, -1)
    length, line_height = warp.line_size
    # Crop pixels per output pixel, per axis (a restorer's crop may be finer along one axis
    # than the other): an axis much denser than the output is area-averaged down first.
    dense_x = upright.shape[1] / (length * scale) > 1.0 / _PREFILTER_BELOW
    dense_y = upright.shape[0] / (line_height * scale) > 1.0 / _PREFILTER_BELOW
    if dense_x or dense_y:
        size = (
            max(1, round(length * scale)) if dense_x else upright.shape[1],
            max(1, round(line_height * scale)) if dense_y else upright.shape[0],
        )
        upright = cv2.resize(upright, size, interpolation=cv2.INTER_AREA)
    upright = np.ascontiguousarray(upright)
    per_x, per_y = upright.shape[1] / length, upright.shape[0] / line_height
    # Enlarging (a coarse crop on a finer page) interpolates bicubically; near one crop
    # pixel per output pixel, bilinear sampling at pixel centres copies pixels exactly.
    enlarging = min(per_x, per_y) / scale < _BICUBIC_BELOW

    out_w, out_h = round(warp.page_size[0] * scale), round(warp.page_size[1] * scale)
    x0, y0, x1, y1 = _pixel_box(warp.polygon * scale, out_w, out_h)
    map_x = np.full((y1 - y0, x1 - x0), -1.0, np.float32)
    map_y = np.full((y1 - y0, x1 - x0), -1.0, np.float32)
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    top, bottom = _distinct_pairs(*edges(warp.polygon))
    for index, matrix in enumerate(warp.homographies):
        quad = np.array([top[index], top[index + 1], bottom[index + 1], bottom[index]]) * scale
        sx0, sy0, sx1, sy1 = _pixel_box(quad, out_w, out_h)
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        grid_x, grid_y = np.meshgrid((np.arange(sx0, sx1) + 0.5) / scale, (np.arange(sy0, sy1) + 0.5) / scale)
        line_x, line_y = _apply(_inverse(matrix, quad.mean(axis=0) / scale), grid_x, grid_y)
        rows, cols = slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0)
        eps = 1e-9
        inside = (
            (line_x >= warp.knots[index] - eps)
            & (line_x <= warp.knots[index + 1] + eps)
            & (line_y >= -eps)
            & (line_y <= line_height + eps)
            & ~mask[rows, cols]
        )
        map_x[rows, cols][inside] = line_x[inside] * per_x - 0.5
        map_y[rows, cols][inside] = line_y[inside] * per_y - 0.5
        mask[rows, cols] |= inside
    interpolation = cv2.INTER_CUBIC if enlarging else cv2.INTER_LINEAR
    image = cv2.remap(upright, map_x, map_y, interpolation, borderMode=cv2.BORDER_REPLICATE)
    image[~mask] = 0
    return Patch(image=image, mask=mask, x=x0, y=y0, text_height=warp.text_height * scale)


def _source_for(
    page: np.ndarray, polygon: np.ndarray, factor: float
) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """The image to sample from, its origin in page pixels, and its pixels per page pixel."""
    if factor >= _PREFILTER_BELOW:
        return page, (0.0, 0.0), (1.0, 1.0)
    # Area-average only the line's neighbourhood: the page may be 10k pixels wide.
    margin = 2.0 / factor
    x0, y0, x1, y1 = _pixel_box(polygon, page.shape[1], page.shape[0], margin)
    region = page[y0:y1, x0:x1]
    size = (max(1, round(region.shape[1] * factor)), max(1, round(region.shape[0] * factor)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    return small, (float(x0), float(y0)), (size[0] / region.shape[1], size[1] / region.shape[0])


def _pixel_box(points: np.ndarray, width: int, height: int, margin: float = 0.0) -> tuple[int, int, int, int]:
    x0 = max(0, math.floor(float(points[:, 0].min()) - margin))
    y0 = max(0, math.floor(float(points[:, 1].min()) - margin))
    x1 = min(width, math.ceil(float(points[:, 0].max()) + margin))
    y1 = min(height, math.ceil(float(points[:, 1].max()) + margin))
    return x0, y0, max(x0, x1), max(y0, y1)


def _distinct_pairs(top: np.ndarray, bottom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Repeated points (detectors emit them) would make zero-width segments with no homography.
    centre = (top + bottom) / 2.0
    keep = np.concatenate([[True], np.hypot(*np.diff(centre, axis=0).T) > 1e-6])
    return top[keep], bottom[keep]


def _homography(source: np.ndarray, target: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """The 3x3 matrix sending the four ``source`` points to ``target``, solved in float64."""
    # Solving with H[2, 2] = 1 needs the source origin to map to a finite point: use the
    # first source corner as origin and shift back afterwards.
    origin = source[0]
    system = np.zeros((8, 8))
    rhs = np.zeros(8)
    for row, ((sx, sy), (tx, ty)) in enumerate(zip(source - origin, target, strict=True)):
        system[2 * row] = [sx, sy, 1.0, 0.0, 0.0, 0.0, -sx * tx, -sy * tx]
        system[2 * row + 1] = [0.0, 0.0, 0.0, sx, sy, 1.0, -sx * ty, -sy * ty]
        rhs[2 * row], rhs[2 * row + 1] = tx, ty
    try:
        solution = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        raise InputImageError(f"line polygon {_describe(polygon)} folds onto itself; drop that detection") from None
    matrix = np.append(solution, 1.0).reshape(3, 3) @ np.array(
        [[1.0, 0.0, -origin[0]], [0.0, 1.0, -origin[1]], [0.0, 0.0, 1.0]]
    )
    # Fix the overall sign so the homogeneous coordinate is positive inside the segment.
    centre = source.mean(axis=0)
    if matrix[2] @ np.array([centre[0], centre[1], 1.0]) < 0:
        matrix = -matrix
    return matrix


def _inverse(matrix: np.ndarray, inside_point: np.ndarray) -> np.ndarray:
    inverse = np.linalg.inv(matrix)
    # Fix the sign so the homogeneous coordinate is positive inside the quad.
    if inverse[2] @ np.array([inside_point[0], inside_point[1], 1.0]) < 0:
        inverse = -inverse
    return inverse


def _apply(matrix: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
    # Points behind the horizon (w <= 0) are outside every quad; send them far away.
    w = np.where(w > 1e-12, w, np.nan)
    out_x = (matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]) / w
    out_y = (matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]) / w
    return np.nan_to_num(out_x, nan=-1e9), np.nan_to_num(out_y, nan=-1e9)


def _check_image(image: object, what: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise InputImageError(f"{what} must be an H x W x 3 uint8 RGB array, got shape {shape} dtype {dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InputImageError(f"{what} is empty ({image.shape[1]}x{image.shape[0]} px)")


def _describe(points: np.ndarray) -> str:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return f"at ({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f})"
