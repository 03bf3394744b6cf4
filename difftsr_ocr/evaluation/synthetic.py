"""Seeded synthetic pages: degraded images whose lines, polygons and damage are known exactly.

Benchmarks need pages where the right answer is not a matter of opinion, and tests
need them to be identical on every run. Every page here is a pure function of its
seed: the text, the layout, the colours and the degradation are all drawn from
``numpy.random.default_rng``, and the fonts come from Debian packages, so a number
measured on one machine can be reproduced byte for byte on another.

Polygons use the pixel-edge convention of :mod:`difftsr_ocr.geometry`: the page spans
``[0, W] x [0, H]`` and pixel ``(i, j)`` covers ``[j, j + 1] x [i, i + 1]``.

Framework-free on purpose (numpy, OpenCV, Pillow, shapely; never torch), so detection
and geometry tests can use it without a deep learning stack.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Polygon

from difftsr_ocr.errors import ConfigError

__all__ = [
    "FONTS",
    "GENERATOR_VERSION",
    "LAYOUTS",
    "Degradation",
    "LineSpec",
    "SyntheticPage",
    "TruthLine",
    "apply_degradation",
    "degrade",
    "generate_page",
    "generate_pages",
    "line_extent",
    "render_clean",
    "render_lines",
    "rerender_line",
]

# Bump whenever a change makes the same seed draw a different page: cached pages
# written by an older generator are then regenerated instead of silently reused.
GENERATOR_VERSION = 1

_FONT_DIR_LATIN = Path("/usr/share/fonts/truetype/dejavu")
_FONT_DIR_CJK = Path("/usr/share/fonts/truetype/wqy")

# Debian fonts-dejavu-core ships DejaVuSans(-Bold).ttf; fonts-wqy-zenhei covers GB2312.
FONTS: dict[str, Path] = {
    "latin": _FONT_DIR_LATIN / "DejaVuSans.ttf",
    "latin_bold": _FONT_DIR_LATIN / "DejaVuSans-Bold.ttf",
    "cjk": _FONT_DIR_CJK / "wqy-zenhei.ttc",
}

LAYOUTS = ("document", "scene")

_DEFAULT_SIZE = (1000, 1400)
_EDGE = 10  # every polygon keeps this far from the page border
_CLEARANCE = 2.0  # and this far from every other line's polygon
_CURVE_POINTS = 16  # points per edge of a curved line's polygon
_MAX_CURVE = 0.3  # a half circle has sagitta / arc length = 1 / pi ~ 0.318

# The degradations DiffTSR was trained against, in the order a real capture applies them
# (optics blur the scene, the sensor resamples it, then adds noise, then the codec
# compresses). The ranges are the ones degrade() draws from.
_STEP_ORDER = ("gaussian_blur", "motion_blur", "downup", "noise", "jpeg")
_STEP_RANGES: dict[str, tuple[float, float]] = {
    "gaussian_blur": (0.6, 2.0),  # sigma, pixels
    "motion_blur": (5.0, 13.0),  # kernel length, pixels
    "downup": (2.0, 4.0),  # downsampling factor
    "noise": (2.0, 10.0),  # sigma, grey levels
    "jpeg": (20.0, 60.0),  # quality
}
_BLURS = ("gaussian_blur", "motion_blur", "downup")
_DOWN = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)
_UP = (cv2.INTER_LINEAR, cv2.INTER_CUBIC)

# Separate random streams, so that drawing the steps and applying them never share numbers.
_DRAW_STREAM = 1
_APPLY_STREAM = 2

_LATIN_PHRASES = (
    "Invoice No. 2024-0117",
    "Date of issue: 14 March 2024",
    "Total amount due: $1,480.00",
    "Payment terms: 30 days net",
    "Dear Ms. Thompson,",
    "Yours sincerely,",
    "Please find the signed contract enclosed",
    "Account number 4471-0923-88",
    "Customer reference AB-55621",
    "Order shipped on 02/11/2023",
    "Subtotal 312.50 EUR",
    "VAT 20% included",
    "Contact billing@northwind.example",
    "Phone +44 20 7946 0958",
    "Opening hours 9:00 - 17:30",
    "No parking at any time",
    "Emergency exit only",
    "Fresh coffee and pastries",
    "Platform 4 for Cambridge",
    "The meeting moved to Thursday",
    "Quantity 12 units at 4.75 each",
    "Delivery address: 12 Harbour Road",
    "Signature of the applicant",
    "Wage statement for tax year 2023",
    "Room 305, Third Floor",
    "Receipt #88213",
    "Thank you for your purchase",
    "Valid until 31.12.2025",
    "Bank transfer to IBAN DE89 3704 0044",
    "Quote the invoice number with payment",
    "Sale: 50% off all items",
    "Welcome to Riverside Park",
    "Please keep this door closed",
    "Next train in 6 minutes",
    "Batch 7 quality report",
    "Policy number P-203941",
    "Due date 15 April 2024",
    "Kind regards, the accounts team",
    "Name, surname and date of birth",
    "Net weight 500 g, best before 09/2025",
    "Send questions to help@acme-mail.example",
    "Page 2 of 3",
)

_CJK_PHRASES = (
    "发票",
    "地址",
    "北京市",
    "欢迎光临",
    "营业时间",
    "文本图像超分辨率",
    "上海市浦东新区",
    "联系电话",
    "安全出口",
    "请勿吸烟",
    "收据",
    "金额合计",
    "开票日期",
    "会议室",
    "停车场",
    "中国银行",
    "谢谢惠顾",
    "小心地滑",
    "办公室",
    "人民医院",
    "火车站",
    "人民路一号",
    "客户服务中心",
    "电子邮件",
    "公司名称",
    "数量与单价",
    "新年快乐",
    "注意安全",
    "文字识别",
    "早上八点开门",
    "今天天气很好",
    "欢迎再次光临",
)


def _font_file(key: str) -> Path:
    """The font file for a FONTS key, checked on every use so a missing package fails clearly."""
    if key not in FONTS:
        raise ValueError(f"unknown font {key!r}; choose one of {', '.join(sorted(FONTS))}")
    path = Path(FONTS[key])
    if not path.is_file():
        raise ConfigError(
            f"font file {path} is missing: install the Debian packages fonts-dejavu-core and fonts-wqy-zenhei"
        )
    return path


@functools.lru_cache(maxsize=128)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xFF00 <= code <= 0xFFEF


def _script(text: str) -> str:
    return "cjk" if any(_is_cjk(char) for char in text) else "latin"


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
    font = _load_font(font_path, size)
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
    path = _font_file(spec.font)
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


def _outline(spec: LineSpec) -> np.ndarray:
    return _shape(spec).at(spec.x, spec.y)


def render_lines(
    specs: Sequence[LineSpec], size: tuple[int, int] = _DEFAULT_SIZE, background: np.ndarray | None = None
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
                script=_script(spec.text),
            )
        )
    return np.clip(np.rint(page), 0, 255).astype(np.uint8), truths


# --- degradation -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Degradation:
    """The damage applied to a page, in order, so a benchmark can report results per damage type.

    Each step is ``(name, value)`` with name one of gaussian_blur (sigma), motion_blur
    (length in pixels), downup (factor), noise (sigma) and jpeg (quality). Choices that
    are not recorded (the motion direction, the resampling filters, the noise itself)
    come from the seed given to :func:`apply_degradation`.
    """

    steps: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        steps = tuple((str(name), float(value)) for name, value in self.steps)
        for name, value in steps:
            if name not in _STEP_RANGES:
                raise ValueError(f"unknown degradation step {name!r}; choose from {', '.join(_STEP_ORDER)}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"degradation step {name!r} needs a positive value, got {value}")
        object.__setattr__(self, "steps", steps)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [[name, value] for name, value in self.steps]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Degradation:
        return cls(steps=tuple((str(name), float(value)) for name, value in data["steps"]))


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)
    centre = (size - 1) / 2.0
    dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
    half = (length - 1) / 2.0
    # Sub-pixel sampling along the segment gives an anti-aliased streak at any angle.
    for t in np.linspace(-half, half, 8 * length):
        x, y = centre + t * dx, centre + t * dy
        ix, iy = math.floor(x), math.floor(y)
        fx, fy = x - ix, y - iy
        for ox, oy, weight in (
            (0, 0, (1 - fx) * (1 - fy)),
            (1, 0, fx * (1 - fy)),
            (0, 1, (1 - fx) * fy),
            (1, 1, fx * fy),
        ):
            if 0 <= ix + ox < size and 0 <= iy + oy < size:
                kernel[iy + oy, ix + ox] += weight
    return kernel / kernel.sum()


def apply_degradation(image: np.ndarray, degradation: Degradation, seed: int) -> np.ndarray:
    """Apply the given steps in order, so tests can ask for a fixed mild or strong damage.

    Every step works on uint8, quantising in between like a real capture chain does.
    The same image, steps and seed give byte-identical output.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an H x W x 3 uint8 array, got {image.dtype} {image.shape}")
    rng = np.random.default_rng((int(seed), _APPLY_STREAM))
    height, width = image.shape[:2]
    out = np.ascontiguousarray(image)
    for name, value in degradation.steps:
        if name == "gaussian_blur":
            out = cv2.GaussianBlur(out, (0, 0), value, borderType=cv2.BORDER_REFLECT)
        elif name == "motion_blur":
            kernel = _motion_kernel(max(2, round(value)), float(rng.uniform(0.0, 180.0)))
            out = cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_REFLECT)
        elif name == "downup":
            down = _DOWN[int(rng.integers(len(_DOWN)))]
            up = _UP[int(rng.integers(len(_UP)))]
            small = (max(1, round(width / value)), max(1, round(height / value)))
            out = cv2.resize(cv2.resize(out, small, interpolation=down), (width, height), interpolation=up)
        elif name == "noise":
            noisy = out.astype(np.float32) + rng.normal(0.0, value, out.shape).astype(np.float32)
            out = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
        else:  # jpeg; the codec sees BGR like any OpenCV writer would give it
            quality = int(np.clip(round(value), 1, 100))
            ok, encoded = cv2.imencode(
                ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
            )
            if not ok:
                raise RuntimeError("OpenCV could not encode a JPEG")
            out = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(out)


def _draw_degradation(seed: int) -> Degradation:
    rng = np.random.default_rng((int(seed), _DRAW_STREAM))
    count = int(rng.integers(2, 5))
    chosen = [int(index) for index in rng.choice(len(_STEP_ORDER), size=count, replace=False)]
    if not any(_STEP_ORDER[index] in _BLURS for index in chosen):
        # A page that is only noisy and compressed would not need super-resolution.
        chosen[0] = int(rng.integers(len(_BLURS)))
    steps = []
    for index in sorted(chosen):
        name = _STEP_ORDER[index]
        low, high = _STEP_RANGES[name]
        if name in ("motion_blur", "jpeg"):
            value = float(rng.integers(int(low), int(high) + 1))
        else:
            value = round(float(rng.uniform(low, high)), 2)
        steps.append((name, value))
    return Degradation(steps=tuple(steps))


def degrade(image: np.ndarray, seed: int) -> tuple[np.ndarray, Degradation]:
    """A random, seeded mix of 2-4 of the damages DiffTSR was trained against, in a realistic order.

    Blur (Gaussian, sigma 0.6-2.0, or motion, 5-13 px), down-then-up sampling (factor
    2-4), Gaussian noise (sigma 2-10) and JPEG (quality 20-60): at least one blur or
    resampling always, JPEG always last. Same image and seed give byte-identical output.
    """
    degradation = _draw_degradation(seed)
    return apply_degradation(image, degradation, seed), degradation


# --- layouts -------------------------------------------------------------------------


class _Placer:
    """Accepts a polygon only inside the page margin and clear of every line placed so far."""

    def __init__(self, width: int, height: int) -> None:
        self._box = (_EDGE, _EDGE, width - _EDGE, height - _EDGE)
        self._placed: list[Polygon] = []

    def fits(self, outline: np.ndarray) -> bool:
        x0, y0, x1, y1 = self._box
        if outline[:, 0].min() < x0 or outline[:, 1].min() < y0 or outline[:, 0].max() > x1 or outline[:, 1].max() > y1:
            return False
        shape = Polygon(outline)
        return all(shape.distance(other) >= _CLEARANCE for other in self._placed)

    def add(self, outline: np.ndarray) -> None:
        self._placed.append(Polygon(outline))

    def place(self, spec: LineSpec) -> bool:
        outline = _outline(spec)
        if not self.fits(outline):
            return False
        self.add(outline)
        return True


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


class _Texts:
    """Draws phrases from the corpus, avoiding repeats on a page so every truth line is unambiguous."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _pick(self, options: Sequence[str]) -> str:
        fresh = [option for option in options if option not in self._used]
        pool = fresh or list(options)
        text = pool[int(self._rng.integers(len(pool)))]
        self._used.add(text)
        return text

    def latin(self, longest: int) -> str:
        return self._pick([phrase for phrase in _LATIN_PHRASES if len(phrase) <= longest])

    def cjk(self, shortest: int, longest: int) -> str:
        return self._pick([phrase for phrase in _CJK_PHRASES if shortest <= len(phrase) <= longest])

    def long(self) -> str:
        """40-70 characters of joined phrases, so line splitting gets exercised."""
        target = int(self._rng.integers(40, 71))
        text = self.latin(70)
        while len(text) < target:
            room = 70 - len(text) - 1
            if not any(len(phrase) <= room for phrase in _LATIN_PHRASES):
                break
            text = f"{text} {self.latin(room)}"
        return text


def _fit(spec: LineSpec, max_width: float, min_size: int) -> LineSpec | None:
    """The spec at the largest size (down from its own) whose box is at most max_width wide."""
    while True:
        x0, _, x1, _ = line_extent(spec)
        if x1 - x0 <= max_width:
            return spec
        if spec.size <= min_size:
            return None
        spec = dataclasses.replace(spec, size=max(min_size, int(spec.size * 0.9)))


def _fit_long(spec: LineSpec, max_width: float) -> LineSpec | None:
    fitted = _fit(spec, max_width, 16)
    words = spec.text.split(" ")
    while fitted is None and len(words) > 1:
        words = words[:-1]
        if len(" ".join(words)) <= 24:
            return None
        fitted = _fit(dataclasses.replace(spec, size=16, text=" ".join(words)), max_width, 16)
    return fitted


def _paper(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """White or slightly tinted paper with very faint, low-frequency shading."""
    if rng.random() < 0.5:
        tint = 255.0 - rng.uniform(0.0, 3.0, 3)
    else:  # cream, greyish or bluish paper
        tint = 255.0 - np.array([rng.uniform(0, 8), rng.uniform(2, 12), rng.uniform(4, 24)])
    grid = rng.uniform(0.0, 1.0, (3, 4)).astype(np.float32)
    shading = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    shading = -float(rng.uniform(2.0, 6.0)) * np.clip(shading, 0.0, 1.0)
    page = tint[None, None, :].astype(np.float32) + shading[:, :, None]
    return np.clip(np.rint(page), 0, 255).astype(np.uint8)


def _photo(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A photo-like backdrop: smooth colour gradients, soft blobs and a little sensor texture."""
    grid = rng.uniform(20.0, 235.0, (int(rng.integers(2, 4)), int(rng.integers(2, 4)), 3)).astype(np.float32)
    page = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    # Blobs are drawn at quarter resolution, premultiplied, then blurred and upscaled.
    small = (max(1, width // 4), max(1, height // 4))
    paint = np.zeros((small[1], small[0], 3), np.float32)
    cover = np.zeros((small[1], small[0]), np.float32)
    for _ in range(int(rng.integers(6, 15))):
        centre = (int(rng.integers(0, small[0])), int(rng.integers(0, small[1])))
        axes = (
            max(1, int(rng.uniform(0.05, 0.3) * min(small))),
            max(1, int(rng.uniform(0.05, 0.3) * min(small))),
        )
        angle = float(rng.uniform(0.0, 180.0))
        opacity = float(rng.uniform(0.4, 0.9))
        colour = rng.uniform(0.0, 255.0, 3) * opacity
        cv2.ellipse(paint, centre, axes, angle, 0, 360, tuple(float(c) for c in colour), -1)
        cv2.ellipse(cover, centre, axes, angle, 0, 360, opacity, -1)
    sigma = float(rng.uniform(3.0, 10.0))
    paint = cv2.resize(cv2.GaussianBlur(paint, (0, 0), sigma), (width, height), interpolation=cv2.INTER_LINEAR)
    cover = cv2.resize(cv2.GaussianBlur(cover, (0, 0), sigma), (width, height), interpolation=cv2.INTER_LINEAR)
    page = page * (1.0 - cover[:, :, None]) + paint
    texture = rng.normal(0.0, float(rng.uniform(2.0, 5.0)), (height, width)).astype(np.float32)
    page += cv2.GaussianBlur(texture, (0, 0), 0.8)[:, :, None]
    return np.clip(np.rint(page), 0, 255).astype(np.uint8)


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_CONTRAST = 80.0  # grey levels between the text and (almost) all of its background


def _contrasting_colour(
    rng: np.random.Generator, background: np.ndarray, outline: np.ndarray
) -> tuple[int, int, int] | None:
    """A random ink colour legible against the background under the polygon, or None if none is."""
    height, width = background.shape[:2]
    x0, y0 = max(0, math.floor(outline[:, 0].min())), max(0, math.floor(outline[:, 1].min()))
    x1, y1 = min(width, math.ceil(outline[:, 0].max())), min(height, math.ceil(outline[:, 1].max()))
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.rint(outline - (x0, y0)).astype(np.int32)], 1)
    luma = (background[y0:y1, x0:x1].astype(np.float32) @ _LUMA)[mask > 0]
    if luma.size == 0:
        return None
    darkest, brightest = float(np.percentile(luma, 3)), float(np.percentile(luma, 97))
    dark_room, light_room = darkest - _CONTRAST, 255.0 - _CONTRAST - brightest
    if max(dark_room, light_room) < 0:
        return None
    if dark_room >= light_room:
        colour = rng.uniform(0.0, 1.0, 3) * min(dark_room, 110.0)
        return tuple(int(c) for c in np.floor(colour))  # type: ignore[return-value]
    colour = 255.0 - rng.uniform(0.0, 1.0, 3) * min(light_room, 110.0)
    return tuple(int(c) for c in np.ceil(colour))  # type: ignore[return-value]


def _document(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, list[LineSpec]]:
    """A printed page: title, body lines top to bottom, and a vertical CJK line in a right column."""
    background = _paper(rng, width, height)
    texts = _Texts(rng)
    if rng.random() < 0.5:
        ink = tuple(int(c) for c in rng.integers(0, 30, 3))
    else:  # dark blue
        ink = (int(rng.integers(10, 40)), int(rng.integers(25, 60)), int(rng.integers(100, 140)))
    left = int(rng.integers(50, 91))
    top = int(rng.integers(40, 81))
    bottom = height - _EDGE - int(rng.integers(20, 51))

    vertical = LineSpec(texts.cjk(3, 6), 0.0, 0.0, size=int(rng.integers(32, 45)), vertical=True, font="cjk", color=ink)
    vx0, vy0, vx1, vy1 = line_extent(vertical)
    column_x = width - _EDGE - (vx1 - vx0) - int(rng.integers(8, 31))
    right = column_x - 20  # body text stays left of the vertical line's column
    room = right - left

    title_text = texts.latin(26)
    if rng.random() < 0.3:
        title_text = title_text.upper()
    title = _fit(LineSpec(title_text, 0.0, 0.0, size=int(rng.integers(36, 45)), font="latin_bold", color=ink), room, 24)

    n_lines = int(rng.integers(9, 15))
    n_cjk, n_long = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    columns = rng.random() < 0.5
    n_plain = n_lines - 2 - n_cjk - n_long - 1 - (2 if columns else 0)
    kinds = ["cjk"] * n_cjk + ["long"] * n_long + ["rotated"] + ["columns"] * int(columns) + ["plain"] * n_plain
    kinds = [kinds[int(index)] for index in rng.permutation(len(kinds))]

    # Each row: its specs at x offsets from the left margin, positioned at y = 0 for now.
    rows: list[tuple[str, list[tuple[float, LineSpec]]]] = []
    for kind in kinds:
        size = int(rng.integers(20, 33))
        row: list[tuple[float, LineSpec]] = []
        if kind == "cjk":
            text = texts.cjk(2, 8)
            if rng.random() < 0.5:
                text = f"{text} {texts.cjk(2, 6)}"
            spec = _fit(LineSpec(text, 0.0, 0.0, size=size, font="cjk", color=ink), room, 16)
            row = [(0.0, spec)] if spec else []
        elif kind == "long":
            spec = _fit_long(LineSpec(texts.long(), 0.0, 0.0, size=size, color=ink), room)
            row = [(0.0, spec)] if spec else []
        elif kind == "rotated":
            angle = float(rng.uniform(5.0, 15.0)) * (1 if rng.random() < 0.5 else -1)
            spec = _fit(LineSpec(texts.latin(28), 0.0, 0.0, size=size, angle=angle, color=ink), room, 16)
            row = [(0.0, spec)] if spec else []
        elif kind == "columns":
            size = min(size, 28)
            first = _fit(LineSpec(texts.latin(20), 0.0, 0.0, size=size, color=ink), room * 0.45, 16)
            second = _fit(LineSpec(texts.latin(20), 0.0, 0.0, size=size, color=ink), room * 0.45, 16)
            if first and second:
                shared = min(first.size, second.size)
                first, second = dataclasses.replace(first, size=shared), dataclasses.replace(second, size=shared)
                row = [(0.0, first), (room * float(rng.uniform(0.5, 0.55)), second)]
        else:
            spec = _fit(LineSpec(texts.latin(36), 0.0, 0.0, size=size, color=ink), room, 16)
            row = [(0.0, spec)] if spec else []
        if row:
            rows.append((kind, row))

    def row_height(row: list[tuple[float, LineSpec]]) -> float:
        return max(line_extent(spec)[3] - line_extent(spec)[1] for _, spec in row)

    # Share the free height out as gaps; drop plain rows first when the page is too short.
    title_height = (line_extent(title)[3] - line_extent(title)[1]) if title else 0.0
    while rows:
        free = bottom - top - title_height - sum(row_height(row) for _, row in rows)
        if free >= 6.0 * len(rows):
            break
        plain = [index for index, (kind, _) in enumerate(rows) if kind == "plain"]
        rows.pop(plain[-1] if plain else len(rows) - 1)
    free = bottom - top - title_height - sum(row_height(row) for _, row in rows)
    weights = rng.uniform(0.7, 1.3, len(rows))
    natural = rng.uniform(0.7, 2.2, len(rows))

    placer = _Placer(width, height)
    specs: list[LineSpec] = []

    def put(spec: LineSpec, x: float, y: float) -> None:
        x0, y0, _, _ = line_extent(spec)
        placed = dataclasses.replace(spec, x=float(x - x0), y=float(y - y0))
        if placer.place(placed):
            specs.append(placed)

    cursor = float(top)
    if title:
        title_width = line_extent(title)[2] - line_extent(title)[0]
        title_x = left if rng.random() < 0.6 else left + (room - title_width) / 2.0
        put(title, title_x, cursor)
        cursor += title_height
    for index, (_, row) in enumerate(rows):
        height_here = row_height(row)
        gap = max(4.0, min(free * weights[index] / weights.sum(), natural[index] * row[0][1].size))
        cursor += gap
        for offset, spec in row:
            put(spec, left + offset, cursor)
        cursor += height_here

    lowest = float(height - _EDGE - (vy1 - vy0) - 5)
    if lowest >= top:
        put(vertical, column_x, float(rng.uniform(top, lowest)))
    return background, specs


def _scene(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, list[LineSpec]]:
    """Signage on a photo: large, coloured, rotated, curved and vertical text placed at random."""
    background = _photo(rng, width, height)
    texts = _Texts(rng)
    plan = [
        LineSpec(
            texts.latin(24),
            0.0,
            0.0,
            size=int(rng.integers(36, 57)),
            angle=float(rng.uniform(-8.0, 8.0)),
            curve=float(rng.uniform(0.08, 0.2)) * (1 if rng.random() < 0.5 else -1),
        ),
        LineSpec(texts.cjk(3, 6), 0.0, 0.0, size=int(rng.integers(32, 57)), vertical=True, font="cjk"),
    ]
    for _ in range(int(rng.integers(5, 9)) - 2):
        angle = float(rng.uniform(-30.0, 30.0)) if rng.random() < 0.6 else 0.0
        size = int(rng.integers(28, 65))
        if rng.random() < 0.5:
            plan.append(LineSpec(texts.cjk(2, 8), 0.0, 0.0, size=size, angle=angle, font="cjk"))
        else:
            font = "latin_bold" if rng.random() < 0.4 else "latin"
            plan.append(LineSpec(texts.latin(22), 0.0, 0.0, size=size, angle=angle, font=font))

    placer = _Placer(width, height)
    specs: list[LineSpec] = []
    for planned in plan:
        spec = planned
        for attempt in range(60):
            if attempt and attempt % 20 == 0:
                spec = dataclasses.replace(spec, size=max(20, int(spec.size * 0.85)))
            x0, y0, x1, y1 = line_extent(spec)
            if x1 - x0 > width - 2 * _EDGE or y1 - y0 > height - 2 * _EDGE:
                spec = dataclasses.replace(spec, size=max(20, int(spec.size * 0.85)))
                continue
            x = float(rng.uniform(_EDGE - x0, width - _EDGE - x1))
            y = float(rng.uniform(_EDGE - y0, height - _EDGE - y1))
            outline = _shape(spec).at(x, y)
            if not placer.fits(outline):
                continue
            colour = _contrasting_colour(rng, background, outline)
            if colour is None:
                continue
            placer.add(outline)
            specs.append(dataclasses.replace(spec, x=x, y=y, color=colour))
            break
    return background, specs


_PLANNERS = {"document": _document, "scene": _scene}


def _layout_for(seed: int, layout: str | None) -> str:
    if layout is None:
        return LAYOUTS[seed % 2]
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    return layout


def _plan_page(seed: int, layout: str, size: tuple[int, int]) -> tuple[np.ndarray, list[LineSpec]]:
    """The background and the line specs of a page, before any ink is drawn."""
    return _PLANNERS[layout](np.random.default_rng(seed), int(size[0]), int(size[1]))


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticPage:
    """One benchmark page: the clean rendering, its degraded version, and everything true about it."""

    name: str
    layout: str
    seed: int
    clean: np.ndarray
    degraded: np.ndarray
    lines: list[TruthLine]
    degradation: Degradation

    def truth_dict(self) -> dict[str, Any]:
        """JSON-ready ground truth; carries GENERATOR_VERSION so stale caches can be recognised."""
        height, width = self.clean.shape[:2]
        return {
            "generator_version": GENERATOR_VERSION,
            "name": self.name,
            "layout": self.layout,
            "seed": self.seed,
            "size": [int(width), int(height)],
            "degradation": self.degradation.to_dict(),
            "lines": [line.to_dict() for line in self.lines],
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyntheticPage):
            return NotImplemented
        return (
            self.truth_dict() == other.truth_dict()
            and bool(np.array_equal(self.clean, other.clean))
            and bool(np.array_equal(self.degraded, other.degraded))
        )

    __hash__ = None  # type: ignore[assignment]


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def generate_page(seed: int, layout: str | None = None, size: tuple[int, int] = _DEFAULT_SIZE) -> SyntheticPage:
    """The page for (seed, layout, size), identical on every call and every machine with the same fonts.

    Without a layout, even seeds give documents and odd seeds scenes, so a run over
    consecutive seeds covers both. ``size`` is (width, height).
    """
    seed = _check_seed(seed)
    layout = _layout_for(seed, layout)
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"page size {size} is too small; use at least 64 x 64")
    background, specs = _plan_page(seed, layout, (width, height))
    clean, lines = render_lines(specs, background=background)
    degraded, degradation = degrade(clean, seed)
    return SyntheticPage(
        name=f"{layout}-{seed:04d}",
        layout=layout,
        seed=seed,
        clean=clean,
        degraded=degraded,
        lines=lines,
        degradation=degradation,
    )


def rerender_line(page: SyntheticPage, line: int, text: str) -> np.ndarray:
    """The page's clean image with truth line ``line`` drawn saying ``text``, same font, size, place and colour.

    The page is re-planned from its seed (layout planning is deterministic), so this is
    how a restorer that draws a plausible but different line would look.
    """
    height, width = page.clean.shape[:2]
    background, specs = _plan_page(page.seed, page.layout, (width, height))
    if not 0 <= line < len(specs):
        raise ValueError(f"{page.name} has {len(specs)} lines, not a line {line}")
    specs[line] = dataclasses.replace(specs[line], text=text)
    clean, _ = render_lines(specs, background=background)
    return clean


def render_clean(page: SyntheticPage, scale: int) -> np.ndarray:
    """The page's clean image drawn ``scale`` times larger: the ink at that resolution, the background enlarged.

    Re-planned from the seed like :func:`rerender_line`; every line is drawn with its
    font size, position and margin times ``scale``, so its truth polygon times ``scale``
    holds it (to a pixel of rounding at the larger size). This is what a perfect
    super-resolving restorer would put on a page written at that scale.
    """
    if scale == 1:
        return page.clean.copy()
    height, width = page.clean.shape[:2]
    background, specs = _plan_page(page.seed, page.layout, (width, height))
    large = cv2.resize(background, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    scaled = [dataclasses.replace(spec, x=spec.x * scale, y=spec.y * scale, size=spec.size * scale) for spec in specs]
    clean, _ = render_lines(scaled, background=large)
    return clean


_CACHE_FILES = ("clean.png", "degraded.png", "truth.json")


def _read_png(path: Path) -> np.ndarray | None:
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if pixels is None else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def _load_cached(directory: Path, name: str, seed: int) -> SyntheticPage | None:
    """The cached page, or None when it is incomplete, unreadable or from another generator."""
    if not all((directory / file).is_file() for file in _CACHE_FILES):
        return None
    try:
        truth = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected_truth = {"generator_version": GENERATOR_VERSION, "name": name, "seed": seed, "size": list(_DEFAULT_SIZE)}
    if not isinstance(truth, dict) or any(truth.get(key) != value for key, value in expected_truth.items()):
        return None
    clean, degraded = _read_png(directory / "clean.png"), _read_png(directory / "degraded.png")
    expected = (_DEFAULT_SIZE[1], _DEFAULT_SIZE[0], 3)
    if clean is None or degraded is None or clean.shape != expected or degraded.shape != expected:
        return None
    try:
        return SyntheticPage(
            name=name,
            layout=str(truth["layout"]),
            seed=seed,
            clean=clean,
            degraded=degraded,
            lines=[TruthLine.from_dict(line) for line in truth["lines"]],
            degradation=Degradation.from_dict(truth["degradation"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _replace_into(path: Path, write: Any) -> None:
    """Write through a temporary sibling and rename, so readers never see half a file."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_png(path: Path, pixels: np.ndarray) -> None:
    def write(temporary: Path) -> None:
        if not cv2.imwrite(str(temporary), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {temporary}")

    _replace_into(path, write)


def _store(directory: Path, page: SyntheticPage) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # truth.json goes first and comes back last: without it the page does not count as cached.
    (directory / "truth.json").unlink(missing_ok=True)
    _write_png(directory / "clean.png", page.clean)
    _write_png(directory / "degraded.png", page.degraded)
    text = json.dumps(page.truth_dict(), ensure_ascii=False, indent=1)
    _replace_into(directory / "truth.json", lambda temporary: temporary.write_text(text, encoding="utf-8"))


def generate_pages(count: int, seed: int = 0, cache_dir: str | os.PathLike | None = None) -> list[SyntheticPage]:
    """Pages for seeds seed .. seed + count - 1, optionally cached on disk between runs.

    A benchmark over many pages should not pay for drawing them every time; with
    ``cache_dir`` each page lives in ``<cache_dir>/<name>/`` as lossless PNGs plus
    truth.json, and is regenerated only when missing, damaged or written by another
    GENERATOR_VERSION.
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    seed = _check_seed(seed)
    root = None if cache_dir is None else Path(cache_dir)
    pages = []
    for page_seed in range(seed, seed + count):
        name = f"{_layout_for(page_seed, None)}-{page_seed:04d}"
        page = None if root is None else _load_cached(root / name, name, page_seed)
        if page is None:
            page = generate_page(page_seed)
            if root is not None:
                _store(root / name, page)
        pages.append(page)
    return pages
