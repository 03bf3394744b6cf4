"""Rendered test pages with known text and known line polygons, and a repeatable degradation.

Fonts come from Debian packages (fonts-dejavu-core, fonts-wqy-zenhei) that CI installs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

FONTS = {
    "latin": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "cjk": Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
}


@dataclasses.dataclass(frozen=True)
class LineSpec:
    text: str
    x: int
    y: int
    size: int = 28
    angle: float = 0.0  # degrees, counter-clockwise
    vertical: bool = False
    font: str = "latin"


@dataclasses.dataclass(frozen=True)
class RenderedLine:
    text: str
    polygon: np.ndarray  # [4, 2] TL, TR, BR, BL of the text box in page pixels
    vertical: bool


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONTS[name]
    if not path.exists():
        pytest.fail(f"font {path} missing: install Debian fonts-dejavu-core and fonts-wqy-zenhei (.ci/run does)")
    return ImageFont.truetype(str(path), size)


def _line_patch(spec: LineSpec) -> Image.Image:
    font = _font(spec.font, spec.size)
    margin = spec.size // 4
    if spec.vertical:
        advance = int(spec.size * 1.1)
        patch = Image.new("L", (spec.size + 2 * margin, advance * len(spec.text) + 2 * margin), 0)
        draw = ImageDraw.Draw(patch)
        for i, char in enumerate(spec.text):
            draw.text((margin, margin + i * advance), char, font=font, fill=255)
        return patch
    left, top, right, bottom = font.getbbox(spec.text)
    patch = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 0)
    ImageDraw.Draw(patch).text((margin - left, margin - top), spec.text, font=font, fill=255)
    return patch


def render_page(specs: list[LineSpec], size: tuple[int, int] = (1000, 1400)) -> tuple[np.ndarray, list[RenderedLine]]:
    """Black text on a white page; returns the RGB page and each line's true polygon."""
    width, height = size
    ink = np.zeros((height, width), np.float32)
    lines = []
    for spec in specs:
        patch = np.asarray(_line_patch(spec), np.float32) / 255.0
        h, w = patch.shape
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        rotation = cv2.getRotationMatrix2D((0.0, 0.0), spec.angle, 1.0)
        rotated = corners @ rotation[:, :2].T
        shift = np.array([spec.x, spec.y], np.float32) - rotated.min(axis=0)
        matrix = np.hstack([rotation[:, :2], shift[:, None]]).astype(np.float32)
        warped = cv2.warpAffine(patch, matrix, (width, height), flags=cv2.INTER_LINEAR)
        ink = np.maximum(ink, warped)
        lines.append(
            RenderedLine(spec.text, (corners @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32), spec.vertical)
        )
    page = np.round(255.0 * (1.0 - ink)).astype(np.uint8)
    return np.repeat(page[:, :, None], 3, axis=2), lines


def degrade(
    page: np.ndarray, scale: float = 0.4, blur: float = 0.8, jpeg_quality: int = 35, noise: float = 3.0, seed: int = 0
) -> np.ndarray:
    """Scan-like damage: blur, downsample, JPEG, sensor noise, then back to the page size."""
    height, width = page.shape[:2]
    image = cv2.GaussianBlur(page, (0, 0), blur) if blur > 0 else page
    small = cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    assert ok
    small = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    rng = np.random.default_rng(seed)
    small = np.clip(small.astype(np.float32) + rng.normal(0.0, noise, small.shape), 0, 255).astype(np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def polygon_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two convex polygons (shapely-free, via rasterisation)."""
    x0, y0 = np.floor(np.minimum(a.min(0), b.min(0))).astype(int)
    x1, y1 = np.ceil(np.maximum(a.max(0), b.max(0))).astype(int)
    canvas_a = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    canvas_b = np.zeros_like(canvas_a)
    cv2.fillPoly(canvas_a, [np.round(a - [x0, y0]).astype(np.int32)], 1)
    cv2.fillPoly(canvas_b, [np.round(b - [x0, y0]).astype(np.int32)], 1)
    union = np.logical_or(canvas_a, canvas_b).sum()
    return float(np.logical_and(canvas_a, canvas_b).sum() / union) if union else 0.0


def standard_page() -> tuple[np.ndarray, list[RenderedLine]]:
    """The end-to-end test page: horizontal Latin and CJK lines, a rotated line, a long line, a vertical line."""
    specs = [
        LineSpec("Invoice number 2024-117", 80, 80, size=34),
        LineSpec("Delivery address: 12 Harbour Road", 80, 160),
        LineSpec("Total amount due 1,480.00 EUR", 80, 230),
        LineSpec("发票号码 二零二四年", 80, 310, size=36, font="cjk"),
        LineSpec("Rotated text line here", 120, 420, angle=12),
        LineSpec("This is a rather long line of text that must be split into several chunks", 60, 560, size=24),
        LineSpec("竖排文字", 880, 700, size=40, vertical=True, font="cjk"),
    ]
    return render_page(specs)


def identity_check_angle(line: RenderedLine) -> float:
    top = line.polygon[1] - line.polygon[0]
    return math.degrees(math.atan2(-top[1], top[0]))
