"""The PaddleOCR 3.x backend, run offline on rapidocr's ONNX files, against our own PP-OCR stages.

These tests need the ``paddle`` extra (``pip install "difftsr-ocr[paddle]"``); without it
the integration tests fail on purpose, so CI cannot pass while silently skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from difftsr_ocr.detect.paddle import PaddleDetector, write_paddle_det_model_dir
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.errors import ConfigError, WeightsError
from difftsr_ocr.evaluation.metrics import polygon_iou
from difftsr_ocr.evaluation.synthetic.render import TruthLine
from difftsr_ocr.recognize.paddle import PaddleRecognizer, write_paddle_rec_model_dir
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer, load_character_list
from difftsr_ocr.runtime.onnx import create_session, rapidocr_model_path
from difftsr_ocr.runtime.paddle import import_paddleocr, paddle_device
from tests.layouts import crop_line, detection_page, render_rotated_block

Page = tuple[np.ndarray, list[TruthLine]]


@pytest.fixture(scope="module")
def paddle_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private paddlex cache and no model-host probing; fails when paddleocr is missing."""
    if importlib.util.find_spec("paddleocr") is None:
        pytest.fail(
            'paddleocr is not installed, so the PaddleOCR backend is untested: pip install "difftsr-ocr[paddle]"'
        )
    cache = tmp_path_factory.mktemp("paddlex_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PADDLE_PDX_CACHE_HOME", str(cache))
        patch.setenv("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        yield cache


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("paddle_models")
    return write_paddle_det_model_dir(root / "det"), write_paddle_rec_model_dir(root / "rec")


@pytest.fixture(scope="module")
def page() -> Page:
    return detection_page()


# --- needs paddleocr -----------------------------------------------------------------


@pytest.mark.paddle
@pytest.mark.parametrize("which", ["page", "rotated"])
def test_paddle_detection_matches_ppocr(
    paddle_env: Path, model_dirs: tuple[Path, Path], page: Page, which: str
) -> None:
    # Quads on both sides: the model folder's default, PaddleOCR's own post-processing.
    image, lines = page if which == "page" else render_rotated_block(12.0)
    paddle_regions = PaddleDetector(model_dirs[0], threads=2, box_type="quad").detect(image)
    our_regions = PPOCRDetector(threads=2, box_type="quad").detect(image)
    assert len(paddle_regions) == len(our_regions) > 0
    for theirs, ours in zip(paddle_regions, our_regions, strict=True):
        assert polygon_iou(theirs.polygon, ours.polygon) > 0.8
        assert theirs.score == pytest.approx(ours.score, abs=0.01)
    if which == "page":
        for region, line in zip(paddle_regions, lines, strict=True):
            assert polygon_iou(region.polygon, line.polygon) > 0.5, line.text


@pytest.mark.paddle
def test_paddle_recognition_matches_ppocr(paddle_env: Path, model_dirs: tuple[Path, Path], page: Page) -> None:
    image, lines = page
    crops = [crop_line(image, line.polygon) for line in lines]
    paddle_readings = PaddleRecognizer(model_dirs[1], batch_size=4, threads=2).recognize(crops)
    our_readings = PPOCRRecognizer(threads=2).recognize(crops)
    assert [r.text for r in paddle_readings] == [r.text for r in our_readings]
    assert [r.text for r in paddle_readings] == [line.text for line in lines]
    for theirs, ours in zip(paddle_readings, our_readings, strict=True):
        assert theirs.confidence == pytest.approx(ours.confidence, abs=0.02)


@pytest.mark.paddle
def test_paddle_backends_never_import_the_paddle_framework(paddle_env: Path, model_dirs: tuple[Path, Path]) -> None:
    PaddleDetector(model_dirs[0], threads=1).detect(np.full((64, 64, 3), 255, dtype=np.uint8))
    assert "paddle" not in sys.modules


@pytest.mark.paddle
def test_paddle_blank_page_gives_no_regions(paddle_env: Path, model_dirs: tuple[Path, Path]) -> None:
    assert PaddleDetector(model_dirs[0], threads=1).detect(np.full((400, 300, 3), 255, dtype=np.uint8)) == []


# --- no paddleocr needed -------------------------------------------------------------


def test_rec_model_dir_carries_the_onnx_alphabet(model_dirs: tuple[Path, Path]) -> None:
    _, rec_dir = model_dirs
    config = yaml.safe_load((rec_dir / "inference.yml").read_text(encoding="utf-8"))
    onnx_path = rapidocr_model_path("PP-OCRv6_rec_small.onnx")
    vocabulary = load_character_list(create_session(onnx_path, threads=1), onnx_path)
    assert config["Global"]["model_name"] == "PP-OCRv6_small_rec"
    assert config["PostProcess"]["character_dict"] == vocabulary[1:-1]
    assert (rec_dir / "inference.onnx").resolve() == onnx_path.resolve()


def test_det_model_dir_uses_rapidocr_settings(model_dirs: tuple[Path, Path]) -> None:
    det_dir, _ = model_dirs
    config = yaml.safe_load((det_dir / "inference.yml").read_text(encoding="utf-8"))
    normalize = next(op["NormalizeImage"] for op in config["PreProcess"]["transform_ops"] if "NormalizeImage" in op)
    assert normalize["mean"] == normalize["std"] == [0.5, 0.5, 0.5]
    assert config["PostProcess"]["use_dilation"] is True
    assert config["PostProcess"]["box_thresh"] == 0.5
    assert config["PostProcess"]["unclip_ratio"] == 1.6


def test_writing_a_model_dir_twice_is_fine_but_never_overwrites_a_real_model(tmp_path: Path) -> None:
    folder = write_paddle_det_model_dir(tmp_path / "det")
    assert write_paddle_det_model_dir(folder) == folder
    copied = write_paddle_det_model_dir(tmp_path / "copied", link=False)
    assert not (copied / "inference.onnx").is_symlink()
    with pytest.raises(ConfigError, match="already holds a model"):
        write_paddle_det_model_dir(copied)


def test_model_dir_problems_are_named(tmp_path: Path, model_dirs: tuple[Path, Path]) -> None:
    with pytest.raises(WeightsError, match="write_paddle_det_model_dir"):
        PaddleDetector(tmp_path / "missing")
    with pytest.raises(WeightsError, match="write_paddle_rec_model_dir"):
        PaddleRecognizer(tmp_path / "missing")
    with pytest.raises(ConfigError, match="PP-OCRv6_small_det"):
        PaddleDetector(model_dirs[0], model_name="PP-OCRv5_mobile_det")


def test_missing_paddleocr_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "paddleocr", None)
    with pytest.raises(ConfigError, match=r'pip install "difftsr-ocr\[paddle\]"'):
        import_paddleocr()


def test_device_spelling() -> None:
    assert paddle_device("cpu") == "cpu"
    with pytest.raises(ConfigError):
        paddle_device("gpu")


def test_model_source_check_is_disabled_by_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", raising=False)
    monkeypatch.setitem(sys.modules, "paddleocr", None)
    with pytest.raises(ConfigError):
        import_paddleocr()
    assert os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] == "True"


def test_polygon_output_becomes_quads_and_bent_lines() -> None:
    from shapely.geometry import Polygon

    from difftsr_ocr.detect.paddle import regions_from_paddle

    turn = np.linspace(-1.0, 1.0, 40)  # an arc of about 115 degrees, as PaddleOCR's poly mode outlines it
    outer = np.stack([500 + 330 * np.sin(turn), 520 - 330 * np.cos(turn)], axis=1)
    inner = np.stack([500 + 270 * np.sin(turn), 520 - 270 * np.cos(turn)], axis=1)
    arc = np.concatenate([outer, inner[::-1]])
    straight = np.array([[50, 600], [300, 598], [550, 601], [550, 640], [300, 641], [50, 639]], dtype=np.float64)
    quad = np.array([[50, 700], [400, 700], [400, 740], [50, 740]], dtype=np.float64)
    flat = np.array([[10, 10], [20, 10], [30, 10]], dtype=np.float64)
    page = np.full((800, 1000, 3), 255, np.uint8)
    regions = regions_from_paddle([arc, straight, quad, flat], [0.9, 0.8, 0.7, 0.6], page)
    assert [len(r.polygon) for r in regions][1:] == [4, 4]
    assert len(regions[0].polygon) > 4 and polygon_iou(regions[0].polygon, arc) > 0.8
    assert Polygon(regions[1].polygon).area == pytest.approx(Polygon(straight).area, rel=0.1)
    assert [r.score for r in regions] == pytest.approx([0.9, 0.8, 0.7])
    boxes = regions_from_paddle([arc], [0.9], page, bend=False)
    assert len(boxes[0].polygon) == 4


def test_write_model_dir_records_the_box_type(tmp_path: Path) -> None:
    folder = write_paddle_det_model_dir(tmp_path / "det", box_type="poly")
    post = yaml.safe_load((folder / "inference.yml").read_text())["PostProcess"]
    assert post["box_type"] == "poly" and post["score_mode"] == "slow"
    with pytest.raises(ConfigError):
        write_paddle_det_model_dir(tmp_path / "bad", box_type="circle")


@pytest.mark.paddle
def test_a_poly_model_folder_gives_bent_lines_like_ours(paddle_env: Path, tmp_path: Path) -> None:
    # Scene page 1 holds an arc among straight, rotated and vertical lines.
    from difftsr_ocr.evaluation.metrics import match_polygons
    from difftsr_ocr.evaluation.synthetic.pages import generate_page

    page = generate_page(1, "scene")
    folder = write_paddle_det_model_dir(tmp_path / "det", box_type="poly")
    theirs = PaddleDetector(folder, threads=2).detect(page.clean)
    ours = PPOCRDetector(threads=2).detect(page.clean)
    assert [len(r.polygon) for r in theirs] == [len(r.polygon) for r in ours]
    assert any(len(r.polygon) > 4 for r in theirs), "the arc comes as a bent-line polygon"
    assert len(match_polygons([r.polygon for r in theirs], [line.polygon for line in page.lines])) == len(page.lines)
