"""The recipes in pipelines/recipes/ run as users would run them, and print the page's text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from tests.layouts import MILD_SCAN

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["Invoice number 2024-117", "Total amount due 1,480.00 EUR"]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    image, _ = render_lines([LineSpec(text, 60, 60 + 90 * i, size=32) for i, text in enumerate(TEXTS)], (800, 260))
    path = tmp_path_factory.mktemp("recipes") / "page.png"
    Image.fromarray(apply_degradation(image, MILD_SCAN, seed=0)).save(path)
    return path


def _run_recipe(python: str, name: str, page: Path, env: dict[str, str] | None = None) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    args = [python, str(ROOT / "pipelines" / "recipes" / name), str(page), "--device", "cpu", "--restorer", "classical"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, env=environment, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _sections(stdout: str, engine_header: str) -> tuple[str, str]:
    engine_part, ours = stdout.split("== difftsr-ocr merged lines ==")
    assert engine_header in engine_part
    return engine_part, ours


def test_rapidocr_recipe_prints_both_readings(page_file: Path) -> None:
    engine, ours = _sections(_run_recipe(sys.executable, "rapidocr_stage.py", page_file), "== RapidOCR")
    for text in TEXTS:
        assert text.replace(" ", "") in engine.replace(" ", ""), engine
        assert text.replace(" ", "") in ours.replace(" ", ""), ours


@pytest.mark.paddle
def test_paddleocr_recipe_prints_both_readings(page_file: Path, tmp_path: Path) -> None:
    stdout = _run_recipe(
        sys.executable, "paddleocr_stage.py", page_file, env={"PADDLE_PDX_CACHE_HOME": str(tmp_path / "paddlex")}
    )
    engine, ours = _sections(stdout, "== PaddleOCR")
    for text in TEXTS:
        assert text.replace(" ", "") in engine.replace(" ", ""), engine
        assert text.replace(" ", "") in ours.replace(" ", ""), ours
