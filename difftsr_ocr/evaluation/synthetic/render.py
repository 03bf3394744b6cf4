"""Drawing lines onto a page, and the exact polygon of each: the one primitive every synthetic page goes through."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from difftsr_ocr.evaluation.synthetic.fonts import font_file, load_font, text_script

__all__ = ["DEFAULT_SIZE", "LineSpec", "TruthLine", "line_extent", "line_outline", "render_lines"]

DEFAULT_SIZE = (1000, 1400)
_CURVE_POINTS = 16  # points per edge of a curved line's polygon
_MAX_CURVE = 0.3  # a half circle has sagitta / arc length = 1 / pi ~ 0.318


@dataclasses.dataclass(frozen=True)
class LineSpec:
    """How to draw one line; ``x``, ``y`` is the top-left of its unrotated box (the polygon's box).

    The box is the ink box plus a margin of about ``size / 8``. ``angle`` turns the whole
    line counter-clockwise about that corner; ``curve`` bends a horizontal line's centre
    line into a circular arc with sagitta ``curve * length`` (positive: the middle rises),
    and the box of a curved line is the bounding box of the bent shape.
    """

    text: str
    x: float
    y: float
    size: int = 28
    angle: float = 0.0
    vertical: bool = False
    curve: float = 0.0
    font: str = "latin"
    color: tuple[int, int, int] = (0, 0, 0)


@dataclasses.dataclass(frozen=True, eq=False)
class TruthLine:
    """What a perfect detector and recogniser would report for one line.

    ``polygon`` is float32 ``[N, 2]`` in page pixels, clockwise on screen, starting at
    the text's top-left in reading direction: four corners for straight and vertical
    lines, and for curved lines the upper edge left to right then the lower edge back.
    """

    text: str
    polygon: np.ndarray
    kind: str
    script: str

    def __post_init__(self) -> None:
        polygon = np.array(self.polygon, dtype=np.float32).reshape(-1, 2)
        polygon.flags.writeable = False
        object.__setattr__(self, "polygon", polygon)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TruthLine):
            return NotImplemented
        return (
            (self.text, self.kind, self.script) == (other.text, other.kind, other.script)
            and self.polygon.shape == other.polygon.shape
            and bool(np.array_equal(self.polygon, other.polygon))
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "polygon": [[float(x), float(y)] for x, y in self.polygon],
            "kind": self.kind,
            "script": self.script,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TruthLine:
        return cls(
            text=str(data["text"]),
            polygon=np.asarray(data["polygon"], dtype=np.float32),
            kind=str(data["kind"]),
            script=str(data["script"]),
        )


@dataclasses.dataclass(frozen=True)
class _Shape:
    """One line's ink patch and the mapping between patch and page, relative to the spec's (x, y).

    Forward maps patch coordinates (u, v) to the page for the polygon; inverse maps page
    pixels back into the patch for cv2.remap. Using one mapping for both is what keeps
    the polygon exactly on the ink.
    """

    mask: np.ndarray  # float32 alpha, h x w
    cos: float
    sin: float
    radius: float  # of the bent centre line; 0 when straight
    bend: int  # +1 middle rises, -1 middle sinks, 0 straight
    offset: tuple[float, float]  # top-left of the bent shape's box, subtracted to put it at the origin

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])

    def _bent(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.bend:
            return u, v
        half_w, half_h, sign, radius = self.width / 2.0, self.height / 2.0, self.bend, self.radius
        turn = (u - half_w) / radius
        ring = radius + sign * (half_h - v)
        return half_w + ring * np.sin(turn), sign * radius - sign * ring * np.cos(turn)

    def forward(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bx, by = self._bent(u, v)
        bx, by = bx - self.offset[0], by - self.offset[1]
        return self.cos * bx + self.sin * by, -self.sin * bx + self.cos * by

    def inverse(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bx = self.cos * x - self.sin * y + self.offset[0]
        by = self.sin * x + self.cos * y + self.offset[1]
        if not self.bend:
            return bx, by
        half_w, half_h, sign, radius = self.width / 2.0, self.height / 2.0, self.bend, self.radius
        dx, dy = bx - half_w, by - sign * radius
        turn = np.arctan2(dx, -sign * dy)
        above = sign * (np.hypot(dx, dy) - radius)
        return half_w + radius * turn, half_h - above

    @functools.cached_property
    def outline(self) -> np.ndarray:
        """The polygon relative to the spec's (x, y), float64."""
        w, h = float(self.width), float(self.height)
        if self.bend:
            along = np.linspace(0.0, w, _CURVE_POINTS)
            u = np.concatenate([along, along[::-1]])
            v = np.concatenate([np.zeros(_CURVE_POINTS), np.full(_CURVE_POINTS, h)])
        else:
            u = np.array([0.0, w, w, 0.0])
            v = np.array([0.0, 0.0, h, h])
        x, y = self.forward(u, v)
        return np.stack([x, y], axis=1)

    def at(self, x: float, y: float) -> np.ndarray:
        """The polygon on the page for a line whose box corner is at (x, y)."""
        return self.outline + np.array([x, y])


@functools.lru_cache(maxsize=1024)
def _ink_patch(text: str, size: int, font_path: str, vertical: bool) -> np.ndarray:
    """The line's anti-aliased ink cropped to the ink box plus ~size/8 (read-only float32).

    Cropping to the real ink rather than the font's line box is what makes the truth
    polygon hug the text the way a good detector's box does.
    """
    font = load_font(font_path, size)
    pad = size
    if vertical:
        advance = round(1.1 * size)
        canvas = Image.new("L", (2 * size + 2 * pad, advance * max(1, len(text)) + 2 * pad), 0)
        draw = ImageDraw.Draw(canvas)
        for index, char in enumerate(text):
            draw.text((canvas.width / 2.0, pad + index * advance), char, font=font, fill=255, anchor="ma")
        fallback = (pad, pad, pad + size, pad + advance * max(1, len(text)))
    else:
        left, top, right, bottom = font.getbbox(text or " ")
        canvas = Image.new("L", (max(1, right - left) + 2 * pad, max(1, bottom - top) + 2 * pad), 0)
        ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=font, fill=255)
        fallback = (pad, pad, pad + max(1, right - left), pad + max(1, bottom - top))
    ink = np.asarray(canvas, dtype=np.float32) / 255.0
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size:
        x0, y0, x1, y1 = int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
    else:  # blank text still gets a box of a plausible size
        x0, y0, x1, y1 = fallback
    margin = max(2, round(size / 8))
    patch = np.zeros((y1 - y0 + 2 * margin, x1 - x0 + 2 * margin), np.float32)
    patch[margin:-margin, margin:-margin] = ink[y0:y1, x0:x1]
    patch.flags.writeable = False
    return patch


def _arc_radius(length: float, curve: float) -> float:
    """Radius of the arc of the given length whose sagitta is |curve| * length."""
    # sagitta / length = (1 - cos t) / (2 t) with t the half angle; it grows with t on (0, pi/2].
    target = abs(curve)
    low, high = 1e-9, math.pi / 2.0
    for _ in range(80):
        middle = (low + high) / 2.0
        if (1.0 - math.cos(middle)) / (2.0 * middle) < target:
            low = middle
        else:
            high = middle
    return length / (2.0 * (low + high) / 2.0)


def _shape(spec: LineSpec) -> _Shape:
    if spec.vertical and spec.curve:
        raise ValueError(f"line {spec.text!r}: curve applies to horizontal lines only")
    if abs(spec.curve) > _MAX_CURVE:
        raise ValueError(f"line {spec.text!r}: curve {spec.curve} is beyond +-{_MAX_CURVE}")
    if spec.size < 4:
        raise ValueError(f"line {spec.text!r}: font size {spec.size} is too small")
    path = font_file(spec.font)
    return _shape_cached(
        spec.text, int(spec.size), float(spec.angle), bool(spec.vertical), float(spec.curve), str(path)
    )


@functools.lru_cache(maxsize=1024)
def _shape_cached(text: str, size: int, angle: float, vertical: bool, curve: float, font_path: str) -> _Shape:
    mask = _ink_patch(text, size, font_path, vertical)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    if not curve:
        return _Shape(mask, cos, sin, 0.0, 0, (0.0, 0.0))
    height, width = mask.shape
    radius = _arc_radius(float(width), curve)
    if radius <= 0.6 * height:
        raise ValueError(f"line {text!r}: curve {curve} is too strong for a line this short")
    bent = _Shape(mask, 1.0, 0.0, radius, 1 if curve > 0 else -1, (0.0, 0.0))
    along = np.linspace(0.0, width, 257)
    edge_x, edge_y = bent.forward(np.concatenate([along, along]), np.concatenate([np.zeros(257), np.full(257, height)]))
    return dataclasses.replace(bent, cos=cos, sin=sin, offset=(float(edge_x.min()), float(edge_y.min())))


def _kind(spec: LineSpec) -> str:
    if spec.vertical:
        return "vertical"
    if spec.curve:
        return "curved"
    if abs(spec.angle) > 1.0:
        return "rotated"
    return "horizontal"


def _blend(page: np.ndarray, shape: _Shape, spec: LineSpec) -> None:
    """Alpha-blend the line's ink into the float page, touching only its bounding box."""
    height, width = page.shape[:2]
    outline = shape.at(spec.x, spec.y)
    x0 = max(0, math.floor(outline[:, 0].min()) - 1)
    y0 = max(0, math.floor(outline[:, 1].min()) - 1)
    x1 = min(width, math.ceil(outline[:, 0].max()) + 1)
    y1 = min(height, math.ceil(outline[:, 1].max()) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    grid_x, grid_y = np.meshgrid(
        np.arange(x0, x1, dtype=np.float64) + 0.5 - spec.x, np.arange(y0, y1, dtype=np.float64) + 0.5 - spec.y
    )
    u, v = shape.inverse(grid_x, grid_y)
    # Patch pixel centres sit at half-integers; remap indexes them by integer.
    alpha = cv2.remap(
        np.ascontiguousarray(shape.mask),
        (u - 0.5).astype(np.float32),
        (v - 0.5).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )[:, :, None]
    region = page[y0:y1, x0:x1]
    region *= 1.0 - alpha
    region += alpha * np.asarray(spec.color, np.float32)


def line_outline(spec: LineSpec) -> np.ndarray:
    """The line's truth polygon on the page."""
    return _shape(spec).at(spec.x, spec.y)


def render_lines(
    specs: Sequence[LineSpec], size: tuple[int, int] = DEFAULT_SIZE, background: np.ndarray | None = None
) -> tuple[np.ndarray, list[TruthLine]]:
    """Draw lines onto a white page (or ``background``, which then fixes the size); return page and truth.

    This is the one primitive every synthetic page goes through, so tests that build
    their own layouts get polygons computed exactly like the benchmark pages: the ink
    and its polygon come from the same patch-to-page mapping. ``size`` is (width, height);
    truth lines come back in spec order.
    """
    if background is None:
        width, height = int(size[0]), int(size[1])
        if width <= 0 or height <= 0:
            raise ValueError(f"page size {size} must be positive")
        page = np.full((height, width, 3), 255.0, np.float32)
    else:
        if background.ndim != 3 or background.shape[2] != 3 or background.dtype != np.uint8:
            raise ValueError(f"background must be an H x W x 3 uint8 array, got {background.dtype} {background.shape}")
        page = background.astype(np.float32)
    truths = []
    for spec in specs:
        shape = _shape(spec)
        _blend(page, shape, spec)
        truths.append(
            TruthLine(
                text=spec.text,
                polygon=(shape.at(spec.x, spec.y)).astype(np.float32),
                kind=_kind(spec),
                script=text_script(spec.text),
            )
        )
    return np.clip(np.rint(page), 0, 255).astype(np.uint8), truths


def line_extent(spec: LineSpec) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1): the box around the line's truth polygon, relative to the spec's (x, y).

    Lets a layout place a rotated or bent line (which turns about its top-left) without drawing it.
    """
    outline = _shape(spec).outline
    return (
        float(outline[:, 0].min()),
        float(outline[:, 1].min()),
        float(outline[:, 0].max()),
        float(outline[:, 1].max()),
    )
