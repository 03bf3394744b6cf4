"""The page pipeline end to end on rendered pages with known text."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import onnxruntime
import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.evaluation.metrics import polygon_iou
from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.export import document_from_json, document_to_json
from difftsr_ocr.merge import char_error_rate
from difftsr_ocr.pipeline import Pipeline, build_pipeline, crop_seed
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.restore.classical import ClassicalRestorer
from difftsr_ocr.results import Document
from difftsr_ocr.runtime.onnx import ocr_device
from tests.layouts import MILD_SCAN, standard_page
from tests.pipeline.stubs import CharacterChangingRestorer, IdentityRestorer


@pytest.fixture(scope="module")
def stages() -> tuple[PPOCRDetector, PPOCRRecognizer]:
    return PPOCRDetector(), PPOCRRecognizer()


@pytest.fixture(scope="module")
def degraded():
    page, truth = standard_page()
    return apply_degradation(page, MILD_SCAN, seed=0), truth


def _pipeline(stages, restorer, **config) -> Pipeline:
    return Pipeline(*stages, restorer, config_from_dict({"device": "cpu", **config}))


def _matched(result, truth):
    """For each true line, the result line that overlaps it most."""
    pairs = []
    for line in truth:
        best = max(result.page.lines, key=lambda found: polygon_iou(np.array(found.polygon), line.polygon))
        pairs.append((line, best, polygon_iou(np.array(best.polygon), line.polygon)))
    return pairs


def test_classical_restorer_end_to_end(stages, degraded) -> None:
    image, truth = degraded
    result = _pipeline(stages, ClassicalRestorer())(image)
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert len(result.page.lines) == len(truth)
    for line, found, iou in _matched(result, truth):
        assert iou > 0.5, f"{line.text!r} not found (IoU {iou:.2f})"
        if line.kind != "vertical":
            assert char_error_rate(found.text.replace(" ", ""), line.text.replace(" ", "")) <= 0.1, found.text
        assert found.readings[0].source == "ocr_original"
    long_line = next(found for line, found, _ in _matched(result, truth) if line.text.startswith("This is a rather"))
    assert long_line.chunks >= 3
    vertical = next(found for line, found, _ in _matched(result, truth) if line.kind == "vertical")
    assert vertical.vertical
    counts = result.page.counts()
    assert counts["restored"] + counts["kept_original"] == len(truth)
    assert set(result.timings) >= {"detect", "rectify", "recognize", "restore", "composite", "merge"}


def test_identity_restorer_changes_no_pixel_outside_the_lines(stages, degraded) -> None:
    image, truth = degraded
    result = _pipeline(stages, IdentityRestorer(), gate={"policy": "always"})(image)
    assert all(line.decision == "restored" for line in result.page.lines)
    difference = np.abs(result.image.astype(int) - image.astype(int)).max(axis=2)
    near_any_line = np.zeros(image.shape[:2], np.uint8)
    for line, found, _ in _matched(result, truth):
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(np.array(found.polygon)).astype(np.int32)], 1)
        near = cv2.dilate(mask, np.ones((41, 41), np.uint8)).astype(bool)
        near_any_line |= near
        if line.text.isascii() and line.kind == "horizontal":
            # Axis-aligned lines are cut on whole pixels: an unchanged crop comes back bit-exact.
            assert difference[near].max() == 0, line.text
        else:
            # Rotated lines are resampled twice; that softens edges a little but leaves no step.
            assert difference[near].mean() < 3, line.text
    assert difference[~near_any_line.astype(bool)].max() == 0, "pixels away from the lines changed"


def test_safe_gate_catches_a_character_changing_restorer(stages, degraded) -> None:
    image, truth = degraded
    safe = _pipeline(stages, CharacterChangingRestorer())(image)
    for line in safe.page.lines:
        assert line.decision == "kept_original", line.reason
        assert line.reading("ocr_restored").text.replace(" ", "") != line.text.replace(" ", "")
        assert "WRONG" not in line.text
    assert np.array_equal(safe.image, image), "kept lines keep their original pixels"
    counts = safe.page.counts()
    assert counts["kept_original"] == len(truth) and counts["flagged"] >= len(truth) - 1
    assert len(safe.report_items) == counts["flagged"]

    always = _pipeline(stages, CharacterChangingRestorer(), gate={"policy": "always"})(image)
    assert all(line.decision == "restored" for line in always.page.lines)
    assert not np.array_equal(always.image, image)
    never = _pipeline(stages, IdentityRestorer(), gate={"policy": "never"})(image)
    assert all(line.decision == "kept_original" for line in never.page.lines)


def test_pages_are_restored_in_one_pooled_call(stages, degraded) -> None:
    image, _ = degraded
    restorer = IdentityRestorer()
    pipeline = _pipeline(stages, restorer)
    results = pipeline.process([image, image[:700]])
    assert len(restorer.calls) == 1
    assert restorer.calls[0] == sum(line.chunks for result in results for line in result.page.lines)
    single = pipeline(image)
    assert [line.text for line in single.page.lines] == [line.text for line in results[0].page.lines]


class _CountingRecognizer:
    def __init__(self, recognizer: PPOCRRecognizer) -> None:
        self.name, self.recognizer, self.crops = recognizer.name, recognizer, 0

    def recognize(self, crops):
        self.crops += len(crops)
        return self.recognizer.recognize(crops)


def test_an_unchanged_restoration_is_not_read_a_second_time(stages, degraded) -> None:
    image, _ = degraded
    recognizer = _CountingRecognizer(stages[1])
    pipeline = Pipeline(stages[0], recognizer, IdentityRestorer(), config_from_dict({"device": "cpu"}))
    prepared = pipeline.prepare(image)
    read_while_preparing = recognizer.crops
    pipeline.restore([prepared])
    assert recognizer.crops == read_while_preparing
    for line in prepared.lines:
        assert (line.restored.text, line.restored.confidence) == (line.original.text, line.original.confidence)
        assert line.restored_frames is line.original_frames
    assert all(line.decision == "restored" for line in pipeline.finish(prepared).page.lines)


def test_pages_restored_together_come_out_as_each_page_alone(stages, degraded) -> None:
    image, _ = degraded
    pipeline = _pipeline(stages, ClassicalRestorer())
    pages = [image, np.ascontiguousarray(image[:700])]
    together = pipeline.process(pages)
    for index, (page, result) in enumerate(zip(pages, together, strict=True)):
        alone = pipeline(page, index=index)
        assert document_to_json(Document([alone.page])) == document_to_json(Document([result.page]))
        assert np.array_equal(alone.image, result.image)


def test_empty_page_gives_an_empty_result_and_the_same_image(stages) -> None:
    blank = np.full((300, 400, 3), 255, np.uint8)
    result = _pipeline(stages, ClassicalRestorer())(blank)
    assert result.page.lines == [] and np.array_equal(result.image, blank)


def test_no_restorer_reads_only(stages, degraded) -> None:
    image, _truth = degraded
    result = _pipeline(stages, None)(image)
    assert all(line.decision == "not_restored" and line.reason == "no restorer" for line in result.page.lines)
    assert np.array_equal(result.image, image)


def test_results_export_round_trip(stages, degraded) -> None:
    image, _ = degraded
    result = _pipeline(stages, ClassicalRestorer())(image)
    document = Document(pages=[result.page])
    assert document_from_json(document_to_json(document)) == document


def test_output_scale_scales_the_image_and_every_coordinate(stages, degraded) -> None:
    image, _ = degraded
    plain = _pipeline(stages, IdentityRestorer())(image[:400])
    result = _pipeline(stages, IdentityRestorer(), output_scale=2)(image[:400])
    assert result.image.shape == (800, 2 * image.shape[1], 3)
    assert (result.page.width, result.page.height) == (result.image.shape[1], result.image.shape[0])
    assert [line.text for line in result.page.lines] == [line.text for line in plain.page.lines]
    for line, reference in zip(result.page.lines, plain.page.lines, strict=True):
        assert np.allclose(line.polygon, np.asarray(reference.polygon) * 2)


def test_build_pipeline_from_config() -> None:
    pipeline = build_pipeline(config_from_dict({"device": "cpu", "restorer": {"kind": "none"}}))
    assert pipeline.restorer is None and pipeline.detector.name == "ppocr"


def test_threads_reach_both_onnx_sessions() -> None:
    pipeline = build_pipeline(config_from_dict({"device": "cpu", "threads": 1, "restorer": {"kind": "none"}}))
    for session in (pipeline.detector.session, pipeline.recognizer.session):
        assert session.get_session_options().intra_op_num_threads == 1


def test_each_stage_takes_its_own_backend() -> None:
    # recognizer.backend is honoured on its own: a PaddleOCR recogniser needs its model folder.
    config = config_from_dict({"device": "cpu", "recognizer": {"backend": "paddle"}, "restorer": {"kind": "none"}})
    with pytest.raises(ConfigError, match=r"recognizer\.backend paddle needs recognizer\.model"):
        build_pipeline(config)


def test_the_ocr_models_follow_the_device_only_where_onnxruntime_can(caplog: pytest.LogCaptureFixture) -> None:
    has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert ocr_device("cpu") == "cpu"
    assert ocr_device("auto") == ("cuda:0" if has_cuda else "cpu")
    with caplog.at_level(logging.WARNING):
        chosen = ocr_device("cuda:1")
    if has_cuda:
        assert chosen == "cuda:1"
    else:
        assert chosen == "cpu" and "no CUDA provider" in caplog.text and "onnxruntime-gpu" in caplog.text


def test_crop_seeds_are_stable_and_distinct() -> None:
    assert crop_seed(0, 1, 2, 3) == crop_seed(0, 1, 2, 3)
    assert len({crop_seed(0, p, line, c) for p in range(3) for line in range(5) for c in range(3)}) == 45


def test_the_composited_page_reads_as_the_rendered_text(stages, degraded) -> None:
    image, truth = degraded
    result = _pipeline(stages, ClassicalRestorer())(image)
    detector, recognizer = stages
    boxes = [region.polygon for region in detector.detect(result.image)]
    crops = [
        result.image[int(b[:, 1].min()) : int(b[:, 1].max()) + 1, int(b[:, 0].min()) : int(b[:, 0].max()) + 1]
        for b in boxes
    ]
    readings = [reading.text.replace(" ", "") for reading in recognizer.recognize(crops)]
    for line in truth:
        if line.kind != "horizontal":
            continue  # read through their own rectification above; an axis-aligned crop would not do
        expected = line.text.replace(" ", "")
        best = min(char_error_rate(reading, expected) for reading in readings)
        assert best <= 0.1, f"{line.text!r} not read on the composited page (best CER {best:.2f})"
