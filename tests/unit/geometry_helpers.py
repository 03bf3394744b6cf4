"""Rendered text lines placed on white pages at known polygons, for the geometry tests.

Polygons use the pixel-edge convention of ``difftsr_ocr.geometry`` (the page spans
``[0, W] x [0, H]``); OpenCV warps index pixel centres, hence the half-pixel shifts.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "FONT",
    "blank_page",
    "ink_centroid",
    "ink_correlation",
    "neighbourhood_range",
    "place_arc",
    "place_quad",
    "range_error",
    "render_line",
    "rotated_rect",
]

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


def render_line(text: str, height: int) -> np.ndarray:
    """Black text on white, ``height`` pixels high with a little paper around the glyphs."""
    font = _font(round(height * 0.7))
    left, _, right, _ = font.getbbox(text)
    width = right - left + round(0.3 * height)
    image = Image.new("RGB", (width, height), "white")
    ascent, descent = font.getmetrics()
    y = (height - ascent - descent) // 2
    ImageDraw.Draw(image).text((round(0.15 * height) - left, y), text, font=font, fill="black")
    return np.asarray(image).copy()


def blank_page(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def rotated_rect(centre: tuple[float, float], width: float, height: float, degrees: float) -> np.ndarray:
    """TL, TR, BR, BL of a ``width x height`` box turned ``degrees`` counter-clockwise on screen."""
    angle = np.deg2rad(degrees)
    along = np.array([np.cos(angle), -np.sin(angle)])
    down = np.array([np.sin(angle), np.cos(angle)])
    c = np.asarray(centre, float)
    half_w, half_h = along * width / 2, down * height / 2
    return np.array([c - half_w - half_h, c + half_w - half_h, c + half_w + half_h, c - half_w + half_h])


def place_quad(page: np.ndarray, line: np.ndarray, quad: np.ndarray) -> None:
    """Draw ``line`` onto ``page`` (in place, darkest wins) so its corners land on ``quad``.

    ``quad`` lists where the line image's TL, TR, BR, BL corners go.
    """
    h, w = line.shape[:2]
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    edge = cv2.getPerspectiveTransform(source, quad.astype(np.float32))
    to_edge = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    to_index = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    matrix = to_index @ edge @ to_edge
    size = (page.shape[1], page.shape[0])
    warped = cv2.warpPerspective(
        line, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255)
    )
    np.minimum(page, warped, out=page)


def place_arc(
    page: np.ndarray, line: np.ndarray, centre: tuple[float, float], radius: float, start_deg: float, points: int
) -> np.ndarray:
    """Bend ``line`` along an arc (top edge on ``radius``), draw it, and return its 2n polygon.

    The arc is centred at ``centre`` below the text and starts ``start_deg`` left of
    straight up; the glyphs stay perpendicular to it, as in a curved sign.
    """
    h, w = line.shape[:2]
    mid = radius - h / 2.0
    span = w / mid
    theta0 = -np.deg2rad(start_deg)
    ys, xs = np.mgrid[0 : page.shape[0], 0 : page.shape[1]].astype(np.float64) + 0.5
    dx, dy = xs - centre[0], ys - centre[1]
    theta = np.arctan2(dx, -dy)
    r = np.hypot(dx, dy)
    map_x = ((theta - theta0) * mid - 0.5).astype(np.float32)
    map_y = ((radius - r) - 0.5).astype(np.float32)
    warped = cv2.remap(line, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(255,) * 3)
    np.minimum(page, warped, out=page)
    angles = theta0 + np.linspace(0.0, span, points)
    direction = np.stack([np.sin(angles), -np.cos(angles)], axis=1)
    top = np.asarray(centre) + radius * direction
    bottom = np.asarray(centre) + (radius - h) * direction
    return np.concatenate([top, bottom[::-1]])


def neighbourhood_range(image: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel min and max over a ``(2 reach + 1)`` square: what a shift of ``reach`` px can give."""
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.erode(image, kernel, borderType=cv2.BORDER_REPLICATE), cv2.dilate(
        image, kernel, borderType=cv2.BORDER_REPLICATE
    )


def range_error(image: np.ndarray, reference: np.ndarray, reach: int = 1) -> np.ndarray:
    """How far each pixel falls outside what ``reference`` holds within ``reach`` pixels."""
    low, high = neighbourhood_range(reference, reach)
    value = image.astype(np.int32)
    return np.maximum(low.astype(np.int32) - value, 0) + np.maximum(value - high.astype(np.int32), 0)


def ink_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of the ink (255 - grey) of two same-size images."""
    ink_a = 255.0 - a.astype(np.float64).mean(axis=2)
    ink_b = 255.0 - b.astype(np.float64).mean(axis=2)
    return float((ink_a * ink_b).sum() / np.sqrt((ink_a**2).sum() * (ink_b**2).sum()))


def ink_centroid(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(x, y) of the ink's centre of mass inside ``mask``."""
    ink = (255.0 - image.astype(np.float64).mean(axis=2)) * mask
    ys, xs = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    return np.array([(ink * xs).sum(), (ink * ys).sum()]) / ink.sum()
