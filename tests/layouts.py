"""Fixed page layouts for the tests, drawn by :mod:`difftsr_ocr.evaluation.synthetic`.

Only layouts (lists of ``LineSpec``) and small helpers live here; every pixel comes from
``render_lines``, so test pages get their truth polygons exactly like the benchmark pages
(the ink box plus a margin of about size / 8). Missing fonts raise the synthetic module's
ConfigError naming the font file: tests fail loudly rather than skip.
"""

from __future__ import annotations

import math

import numpy as np

from difftsr_ocr.evaluation.synthetic.degradation import Degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, TruthLine, render_lines

__all__ = [
    "DETECTION_LAYOUT",
    "MILD_SCAN",
    "STANDARD_LAYOUT",
    "crop_line",
    "detection_page",
    "render_rotated_block",
    "standard_page",
]

# Scan-like damage mild enough for PP-OCR to read every line of the pages below: a light
# blur, a factor 2.5 down-and-up resampling, a little sensor noise and a rough JPEG.
# Apply it with apply_degradation(page, MILD_SCAN, seed=0).
MILD_SCAN = Degradation(steps=(("gaussian_blur", 0.8), ("downup", 2.5), ("noise", 3.0), ("jpeg", 35.0)))

# The end-to-end page: horizontal Latin and CJK lines, a rotated line, a long line that
# the pipeline must split into chunks, and a vertical CJK line.
STANDARD_LAYOUT = (
    LineSpec("Invoice number 2024-117", 80, 80, size=34),
    LineSpec("Delivery address: 12 Harbour Road", 80, 160),
    LineSpec("Total amount due 1,480.00 EUR", 80, 230),
    LineSpec("发票号码 二零二四年", 80, 310, size=36, font="cjk"),
    # Turned about its top-left corner, the right end rises ~65 px: clear of the CJK line above.
    LineSpec("Rotated text line here", 120, 490, angle=12),
    LineSpec("This is a rather long line of text that must be split into several chunks", 60, 560, size=24),
    LineSpec("竖排文字", 880, 700, size=40, vertical=True, font="cjk"),
)

# The detection and recognition page: lines of several sizes, top to bottom and then left
# to right (the order a detector must return them in); two lines share a row.
DETECTION_LAYOUT = (
    LineSpec("Super-resolution for scanned pages", 60, 60, size=40),
    LineSpec("The quick brown fox jumps over 13 lazy dogs.", 60, 150),
    LineSpec("Invoice 2024-117 was paid on 3 March.", 60, 220),
    LineSpec("Small print: terms apply to all orders shipped abroad.", 60, 300, size=20),
    LineSpec("Contact support at desk 42 between 9 and 17 hours.", 60, 360, size=20),
    LineSpec("Diffusion restores blurry glyphs", 60, 450, size=36),
    LineSpec("文本图像超分辨率识别", 60, 560, size=32, font="cjk"),
    LineSpec("Every line here has a known position.", 60, 660),
    LineSpec("Recognition should return this text exactly.", 60, 760, size=24),
    LineSpec("Numbers 0123456789 and letters", 60, 850, size=32),
    LineSpec("Left column", 60, 940),
    LineSpec("Right column", 620, 940),
    LineSpec("The final paragraph ends the page.", 60, 1040),
)

_ROTATED_TEXTS = ("Rotated text keeps its slant", "Second rotated line of words", "Third line closes the block")


def standard_page() -> tuple[np.ndarray, list[TruthLine]]:
    """The end-to-end test page (1000 x 1400, clean) and its truth lines in layout order."""
    return render_lines(STANDARD_LAYOUT)


def detection_page() -> tuple[np.ndarray, list[TruthLine]]:
    """The detection test page (1000 x 1400, clean) and its truth lines in reading order."""
    return render_lines(DETECTION_LAYOUT)


def render_rotated_block(angle: float) -> tuple[np.ndarray, list[TruthLine]]:
    """Three lines turned together by ``angle`` degrees counter-clockwise on a white 960 x 580 page.

    Each line is turned about its own top-left corner, and the corners step 90 px down the
    block's turned vertical, so the three lines stay parallel like a rotated paragraph.
    """
    down_x, down_y = math.sin(math.radians(angle)), math.cos(math.radians(angle))
    specs = [
        LineSpec(text, 100 + 90 * index * down_x, 200 + 90 * index * down_y, size=30, angle=angle)
        for index, text in enumerate(_ROTATED_TEXTS)
    ]
    return render_lines(specs, size=(960, 580))


def crop_line(image: np.ndarray, polygon: np.ndarray, pad: int = 2) -> np.ndarray:
    """The axis-aligned crop around a truth polygon, widened by ``pad`` pixels on every side.

    The polygon already carries a margin of about size / 8 around the ink, so the default
    pad gives roughly the ink box plus a quarter of its height, the context PP-OCR expects.
    """
    height, width = image.shape[:2]
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + pad
    return np.ascontiguousarray(image[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)])
