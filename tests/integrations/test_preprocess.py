"""restore_image: one call restores a page for someone else's OCR, in the caller's image type."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.merge import char_error_rate
from difftsr_ocr.preprocess import RestoredImage, cached_pipeline, restore_image
from tests.layouts import MILD_SCAN

CONFIG = {"device": "cpu", "restorer": {"kind": "classical"}}
TEXTS = ["Invoice number 2024-117", "Delivery address: 12 Harbour Road", "Total amount due 1,480.00 EUR"]


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    image, _ = render_lines([LineSpec(text, 60, 60 + 90 * i, size=32) for i, text in enumerate(TEXTS)], (900, 360))
    return apply_degradation(image, MILD_SCAN, seed=0)


def _assert_reads(result: RestoredImage) -> None:
    lines = result.text.split("\n")
    assert len(lines) == len(TEXTS), result.text
    for found, truth in zip(lines, TEXTS, strict=True):
        assert char_error_rate(found.replace(" ", ""), truth.replace(" ", "")) <= 0.1, found


def test_array_in_array_out(page: np.ndarray) -> None:
    result = restore_image(page, CONFIG)
    assert isinstance(result.image, np.ndarray)
    assert result.image.shape == page.shape and result.image.dtype == np.uint8
    assert (result.page.width, result.page.height) == (page.shape[1], page.shape[0])
    assert result.text == result.page.text
    _assert_reads(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.image = page  # type: ignore[misc]


def test_pil_in_pil_out_keeps_mode_size_and_dpi(page: np.ndarray) -> None:
    gray = Image.fromarray(page[:, :, 0], "L")
    gray.info["dpi"] = (300, 300)
    result = restore_image(gray, CONFIG)
    assert isinstance(result.image, Image.Image)
    assert result.image.mode == "L" and result.image.size == gray.size
    assert result.image.info["dpi"] == (300, 300)
    _assert_reads(result)


def test_rgba_pil_gets_its_alpha_back(page: np.ndarray) -> None:
    alpha = np.full(page.shape[:2], 255, np.uint8)
    alpha[:, :20] = 0
    rgba = Image.fromarray(np.dstack([page, alpha]), "RGBA")
    result = restore_image(rgba, CONFIG)
    assert result.image.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(result.image)[:, :, 3], alpha)


def test_path_in_array_out(page: np.ndarray, tmp_path) -> None:
    path = tmp_path / "page.png"
    Image.fromarray(page).save(path)
    result = restore_image(path, CONFIG)
    assert isinstance(result.image, np.ndarray) and result.image.shape == page.shape
    assert result.page.source == str(path)
    _assert_reads(result)


def test_restored_pixels_reach_the_image(page: np.ndarray) -> None:
    result = restore_image(page, {**CONFIG, "gate": {"policy": "always"}})
    assert all(line.decision == "restored" for line in result.page.lines)
    changed = np.abs(result.image.astype(int) - page.astype(int)).max(axis=2) > 2
    assert changed.mean() > 0.01, "the sharpened lines are pasted into the returned page"
    untouched = restore_image(page, {**CONFIG, "restorer": {"kind": "none"}})
    np.testing.assert_array_equal(untouched.image, page)


def test_pipeline_is_built_once_per_config() -> None:
    first = cached_pipeline(CONFIG)
    assert cached_pipeline({"restorer": {"kind": "classical"}, "device": "cpu"}) is first
    other = cached_pipeline({**CONFIG, "seed": 7})
    assert other is not first and other.config.seed == 7


def test_user_mistakes_are_one_line_errors(page: np.ndarray) -> None:
    with pytest.raises(ConfigError, match=r"restore_image\(config=...\): unknown key\(s\) devise"):
        restore_image(page, {"devise": "cpu"})
    with pytest.raises(InputImageError, match="not list"):
        restore_image([[0, 1]], CONFIG)  # type: ignore[arg-type]
    with pytest.raises(InputImageError, match="no such file"):
        restore_image("missing-page.png", CONFIG)
