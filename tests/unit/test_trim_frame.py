"""trim_frame: a plain surround of another colour is cut off; text on its own paper keeps its margin."""

from __future__ import annotations

import numpy as np

from difftsr_ocr.recognize.base import _differs_from, _ring, trim_frame


def _textured(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(60, 200, (height, width, 3), dtype=np.uint8)


def test_a_line_image_in_a_white_frame_comes_back_without_the_frame() -> None:
    image = _textured(40, 160, 0)
    framed = np.pad(image, ((9, 7), (12, 5), (0, 0)), constant_values=255)
    assert np.array_equal(trim_frame(framed), image)


def test_text_on_its_own_paper_keeps_its_margin() -> None:
    crop = np.full((40, 160, 3), 250, np.uint8)
    for x in range(10, 150, 10):
        crop[12:30, x : x + 3] = 20  # strokes, the paper between and all around
    assert trim_frame(crop) is crop


def test_a_plain_crop_and_a_crop_without_surround_are_unchanged() -> None:
    plain = np.full((20, 50, 3), 255, np.uint8)
    assert trim_frame(plain) is plain
    busy = _textured(30, 90, 1)
    assert trim_frame(busy) is busy


def _per_pixel(crop: np.ndarray) -> np.ndarray:
    """Which pixels differ from the crop's surround colour, computed pixel by pixel."""
    pixels = crop.astype(np.int16)
    ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    outer = np.median(ring, axis=0)
    return np.abs(pixels - outer).max(axis=2) > 48


def test_the_table_lookup_marks_the_pixels_the_per_pixel_formula_marks() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        crop = rng.integers(0, 256, (int(rng.integers(4, 40)), int(rng.integers(4, 120)), 3), dtype=np.uint8)
        crop[: int(rng.integers(0, 4))] = rng.integers(0, 256, 3)
        outer = np.median(_ring(crop.astype(np.int16)), axis=0)
        assert np.array_equal(_differs_from(crop, outer), _per_pixel(crop))
