"""The trust gate's pixel witness: a faithful restoration explains the degraded crop, a swapped glyph does not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from difftsr_ocr.consistency import inconsistency
from difftsr_ocr.evaluation.synthetic.fonts import FONTS
from difftsr_ocr.gate import GateConfig

BAR = GateConfig().max_inconsistency


def _line(text: str, font: str, height: int = 48, scale: int = 1) -> np.ndarray:
    """``text`` drawn dark on light paper, ``scale`` times the size of a ``height``-pixel line."""
    size = height * scale
    face = ImageFont.truetype(str(FONTS[font]), int(size * 0.7))
    width = int(face.getlength(text)) + size
    image = Image.new("RGB", (width, size), (236, 232, 224))
    ImageDraw.Draw(image).text((size // 2, size // 2), text, font=face, fill=(30, 30, 40), anchor="lm")
    return np.asarray(image)


def _degrade(clean: np.ndarray, seed: int) -> np.ndarray:
    """Blur, down-up sampling by 3, noise and JPEG: a crop a recogniser struggles with."""
    rng = np.random.default_rng(seed)
    height, width = clean.shape[:2]
    blurred = cv2.GaussianBlur(clean, (0, 0), 1.2)
    small = cv2.resize(blurred, (width // 3, height // 3), interpolation=cv2.INTER_AREA)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 40])
    assert ok
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)


CASES = [
    ("latin", "Payment terms: 30 days net", "Payment terms: 80 days net"),
    ("latin", "Signature of the applicant", "Signatüre of the applicant"),
    ("cjk", "上海市浦东新区", "上海市浦东薪区"),
    ("cjk", "请勿吸烟", "请匆吸烟"),
]


@pytest.mark.parametrize(("font", "truth", "lie"), CASES)
def test_a_faithful_restoration_explains_the_crop_and_a_swapped_glyph_does_not(font: str, truth: str, lie: str) -> None:
    degraded = _degrade(_line(truth, font), seed=len(truth))
    faithful = inconsistency(degraded, _line(truth, font))
    lying = inconsistency(degraded, _line(lie, font))
    assert faithful <= BAR < lying, (faithful, lying)


def test_resolution_and_repainted_colours_are_no_disagreement() -> None:
    # DiffTSR hands back 4x the pixels and repaints paper and ink; neither is a lie.
    restored = _line("Kind regards, the accounts team", "latin", scale=4)
    shrunk = cv2.resize(restored, (restored.shape[1] // 4, restored.shape[0] // 4), interpolation=cv2.INTER_AREA)
    degraded = _degrade(shrunk, seed=3)
    repainted = 255 - restored[:, :, ::-1]
    assert inconsistency(degraded, restored) <= BAR
    assert inconsistency(degraded, repainted) <= BAR
    assert inconsistency(degraded, _line("Kind regards, the accounts tear", "latin", scale=4)) > BAR


def _shaken_bent_line(image: np.ndarray, amplitude: float, length: int) -> np.ndarray:
    """A line bent into a wave on the page, blurred there by a horizontal shake, then straightened again.

    What rectification hands the gate for a curved line in a shaken photo: the blur was
    straight on the page, so along the straightened text its direction turns.
    """
    height, width = image.shape[:2]
    pad = int(amplitude) + 4
    page = cv2.copyMakeBorder(image, pad, pad, 0, 0, cv2.BORDER_REPLICATE)
    columns = np.tile(np.arange(width, dtype=np.float32), (page.shape[0], 1))
    rows = np.arange(page.shape[0], dtype=np.float32)[:, None]
    wave = (amplitude * np.sin(2 * np.pi * np.arange(width) / width)).astype(np.float32)[None, :]
    bent = cv2.remap(page, columns, rows - wave, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    shake = np.full((1, length), 1.0 / length, np.float32)
    blurred = cv2.filter2D(bent, -1, shake, borderType=cv2.BORDER_REPLICATE)
    straightened = cv2.remap(blurred, columns, rows + wave, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return straightened[pad : pad + height]


def test_a_blur_that_turns_along_a_bent_line_is_explained_piece_by_piece() -> None:
    truth = "Batch 7 quality report for the northern warehouse"
    degraded = _shaken_bent_line(_line(truth, "latin"), amplitude=20, length=9)
    assert inconsistency(degraded, _line(truth, "latin")) <= BAR
    assert inconsistency(degraded, _line("Batch 7 quality report for the northern warebouse", "latin")) > BAR


def test_a_crop_explains_itself_exactly() -> None:
    crop = _line("Invoice No. 2024-0117", "latin")
    assert inconsistency(crop, crop) == pytest.approx(1.0, abs=0.05)


def test_the_fit_is_solved_on_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # A few dozen unknowns: BLAS threads only spin on them, many times the CPU on a busy machine.
    from threadpoolctl import threadpool_info

    from difftsr_ocr import consistency

    seen: list[list[int]] = []
    fit = consistency._fit_degradation

    def recording(original: np.ndarray, restored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        return fit(original, restored)

    monkeypatch.setattr(consistency, "_fit_degradation", recording)
    crop = _line("Invoice No. 2024-0117", "latin")
    inconsistency(crop, crop)
    assert seen and seen[0] and all(threads == 1 for threads in seen[0])
