"""Synthetic pages with known text and positions, and the measures the detection tests use."""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Polygon, box

from difftsr_ocr.merge import edit_distance

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
PAGE_SIZE = (1000, 1400)  # width, height


@dataclasses.dataclass(frozen=True)
class RenderedLine:
    text: str
    bbox: tuple[int, int, int, int]  # ink box x0, y0, x1, y1 in page pixels


@dataclasses.dataclass(frozen=True)
class RenderedPage:
    image: np.ndarray  # H x W x 3 uint8 RGB
    lines: list[RenderedLine]  # top-to-bottom, then left-to-right


# (x, y, font size, text, CJK?) — two entries share y=940 to exercise row ordering.
_LAYOUT = [
    (60, 60, 40, "Super-resolution for scanned pages", False),
    (60, 150, 28, "The quick brown fox jumps over 13 lazy dogs.", False),
    (60, 220, 28, "Invoice 2024-117 was paid on 3 March.", False),
    (60, 300, 20, "Small print: terms apply to all orders shipped abroad.", False),
    (60, 360, 20, "Contact support at desk 42 between 9 and 17 hours.", False),
    (60, 450, 36, "Diffusion restores blurry glyphs", False),
    (60, 560, 32, "文本图像超分辨率识别", True),
    (60, 660, 28, "Every line here has a known position.", False),
    (60, 760, 24, "Recognition should return this text exactly.", False),
    (60, 850, 32, "Numbers 0123456789 and letters", False),
    (60, 940, 28, "Left column", False),
    (620, 940, 28, "Right column", False),
    (60, 1040, 28, "The final paragraph ends the page.", False),
]


def _font(size: int, cjk: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(CJK_FONT if cjk else LATIN_FONT, size)


def render_page() -> RenderedPage:
    """A white 1000x1400 page with the lines of ``_LAYOUT`` in black."""
    page = Image.new("RGB", PAGE_SIZE, "white")
    draw = ImageDraw.Draw(page)
    lines = []
    for x, y, size, text, cjk in _LAYOUT:
        font = _font(size, cjk)
        draw.text((x, y), text, font=font, fill="black")
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        lines.append(RenderedLine(text=text, bbox=(x0, y0, x1, y1)))
    return RenderedPage(image=np.asarray(page), lines=lines)


def render_rotated_block(angle: float) -> tuple[np.ndarray, list[str]]:
    """Three lines of text rotated by ``angle`` degrees counter-clockwise, on a white page."""
    texts = ["Rotated text keeps its slant", "Second rotated line of words", "Third line closes the block"]
    block = Image.new("RGB", (900, 400), "white")
    draw = ImageDraw.Draw(block)
    font = _font(30, False)
    for index, text in enumerate(texts):
        draw.text((80, 80 + index * 90), text, font=font, fill="black")
    rotated = block.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    return np.asarray(rotated), texts


def crop_line(image: np.ndarray, bbox: tuple[int, int, int, int], min_pad: int = 4) -> np.ndarray:
    """The axis-aligned crop around an ink box, padded by a quarter of its height (at least ``min_pad``)."""
    x0, y0, x1, y1 = bbox
    pad = max(min_pad, (y1 - y0) // 4)
    height, width = image.shape[:2]
    return np.ascontiguousarray(
        image[max(0, y0 - pad) : min(height, y1 + pad), max(0, x0 - pad) : min(width, x1 + pad)]
    )


def iou(polygon: np.ndarray, other: np.ndarray | tuple[int, int, int, int]) -> float:
    """Intersection over union of a polygon and another polygon or an (x0, y0, x1, y1) box."""
    first = Polygon(polygon)
    second = box(*other) if isinstance(other, tuple) else Polygon(other)
    union = first.union(second).area
    return first.intersection(second).area / union if union > 0 else 0.0


def character_error_rate(predicted: list[str], expected: list[str]) -> float:
    """Total edit distance over total expected characters."""
    errors = sum(edit_distance(p, e) for p, e in zip(predicted, expected, strict=True))
    return errors / sum(len(e) for e in expected)
