"""Real restorations: upstream's degraded lines on a page, the official DiffTSR outputs as the restorer.

The closest thing to running the real weights here (../shared/upstream_testset): the
lines must read on the page as well as alone, and the trust gate must let a real
correction in and keep out a change the original pixels do not show.
"""

from __future__ import annotations

import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.upstream import official_sr_restorer, upstream_pages, upstream_pairs
from difftsr_ocr.gate import GateConfig
from difftsr_ocr.imageio import load_image
from difftsr_ocr.pipeline import PageResult, Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from tests.reference import REFERENCE_DIR

TESTSET = REFERENCE_DIR.parent / "upstream_testset"


@pytest.fixture(scope="module")
def pairs() -> list:
    found = upstream_pairs(TESTSET)
    if len(found) != 20:
        pytest.fail(f"expected the 20 LR/SR pairs of upstream's test set under {TESTSET}, found {len(found)}")
    return found


@pytest.fixture(scope="module")
def recognizer() -> PPOCRRecognizer:
    return PPOCRRecognizer()


@pytest.fixture(scope="module")
def safe_result(pairs: list, recognizer: PPOCRRecognizer) -> PageResult:
    lr_page, sr_page = upstream_pages(pairs)
    detector = PPOCRDetector()
    pipeline = Pipeline(detector, recognizer, None, config_from_dict({"device": "cpu"}))
    prepared = pipeline.prepare(lr_page)
    restoring = Pipeline(detector, recognizer, official_sr_restorer(prepared, sr_page), pipeline.config)
    restoring.restore([prepared])
    return restoring.finish(prepared)


def test_a_detected_line_reads_as_well_as_the_line_image_alone(
    pairs: list, recognizer: PPOCRRecognizer, safe_result: PageResult
) -> None:
    # The detector's box overshoots each line image into the white page; read with that
    # white frame, 图 became 厨 and 口 became □ (trim_frame cuts it off).
    alone = [reading.text for reading in recognizer.recognize([load_image(lr).pixels for _, lr, _ in pairs])]
    on_page = [line.reading("ocr_original").text for line in safe_result.page.lines]
    assert on_page == alone


def _line(result: PageResult, original: str):
    return next(line for line in result.page.lines if line.reading("ocr_original").text == original)


@pytest.mark.parametrize(
    ("original", "corrected"), [("□水鸡排", "口水鸡排"), ("特色家家舞", "特色农家菜"), ("图文锅作", "图文制作")]
)
def test_the_gate_accepts_a_real_correction_and_says_what_it_replaced(
    safe_result: PageResult, original: str, corrected: str
) -> None:
    # Checked by eye: the degraded glyphs were ambiguous (图文锅作's are noise that PP-OCR reads
    # as 锅 with confidence), the restoration is not, and no look-alike fits the original better.
    line = _line(safe_result, original)
    assert line.reading("ocr_restored").text == corrected
    assert line.decision == "restored" and line.text == corrected
    assert line.disagreements and line.disagreements[0].startswith("ocr_original: ")
    evidence = line.evidence
    assert evidence is not None and evidence.original_log_ratio is not None and evidence.restored_log_ratio is not None
    assert evidence.original_log_ratio >= GateConfig().min_log_ratio and evidence.restored_log_ratio < -5.0
    assert evidence.inconsistency is not None and evidence.inconsistency < 3.0
    assert evidence.lookalike_gain is not None and evidence.lookalike_gain < 1.0


def test_the_gate_refuses_a_confident_mistake(safe_result: PageResult) -> None:
    # DiffTSR turned 泰 into 秦 (checked by eye): the restored crop reads 秦 at 0.91, yet
    # still gives 泰 a third of 秦's likelihood. The original pixels alone cannot tell.
    line = _line(safe_result, "泰芒了")
    assert line.reading("ocr_restored").text == "秦芒了"
    assert line.decision == "kept_original" and line.text == "泰芒了"
    assert line.disagreements == ["ocr_restored: 秦"]
    assert "still reads the original" in line.reason
    assert line.evidence is not None and line.evidence.restored_log_ratio is not None
    assert line.evidence.restored_log_ratio > -2.0


def test_every_line_that_changed_says_so(safe_result: PageResult) -> None:
    for line in safe_result.page.lines:
        if line.text != line.reading("ocr_original").text:
            assert line.decision == "restored" and line.disagreements and line.evidence is not None
