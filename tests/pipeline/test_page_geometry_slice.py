"""Fixed slices of the curved and upside-down benchmarks (benchmarks/quality.py --set curved | upside-down).

Arcs of 20-120 degrees against the same lines drawn straight, and pages upright against
the same pages turned by 180 degrees and with 40% of their lines turned in place. The
thresholds sit a margin away from what the slices measured when they were set (see the
comments) and, where that is tighter, at issue 15's goals.
"""

from __future__ import annotations

import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.page_geometry import evaluate_arcs, evaluate_orientation
from difftsr_ocr.evaluation.quality import QualityReport
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.recognize.ppocr_orientation import PPOCROrientationClassifier
from difftsr_ocr.restore.classical import ClassicalRestorer

ARC_SEEDS = (0, 1)  # 12 arcs, 6 Latin and 6 CJK
ORIENTATION_SEEDS = (0, 1)  # a document and a scene

# Measured on these slices when set (2026-12-07): curved CER clean 0.000, degraded 0.031
# against 0.000 straight (merged the same); recall of the arcs at IoU 0.5 0.917 clean,
# 0.833 degraded (11 and 10 of 12); upright / turned / mixed degraded CER 0.208 / 0.208
# / 0.202, clean 0.000 each. One arc of 12 moves recall by 0.083.
CURVED_CLEAN_CER_MAX = 0.10
CURVED_DEGRADED_GAP_MAX = 0.05
CLEAN_RECALL_MIN = 0.8
DEGRADED_RECALL_MIN = 0.75
ORIENTATION_GAP_MAX = 0.01


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(
        PPOCRDetector(threads=2),
        PPOCRRecognizer(threads=2),
        ClassicalRestorer(),
        config_from_dict({"device": "cpu", "seed": 0}),
        orientation=PPOCROrientationClassifier(threads=2),
    )


@pytest.fixture(scope="module")
def arcs(pipeline: Pipeline) -> dict[str, QualityReport]:
    return evaluate_arcs(ARC_SEEDS, pipeline)


@pytest.fixture(scope="module")
def orientation(pipeline: Pipeline) -> dict[str, QualityReport]:
    return evaluate_orientation(ORIENTATION_SEEDS, pipeline)


def test_curved_lines_read_like_straight_ones(arcs: dict[str, QualityReport]) -> None:
    curved, straight = arcs["curved"], arcs["straight"]
    assert curved.cer("clean", "curved") <= CURVED_CLEAN_CER_MAX
    assert curved.cer("degraded") <= straight.cer("degraded") + CURVED_DEGRADED_GAP_MAX
    assert curved.cer("merged") <= straight.cer("merged") + CURVED_DEGRADED_GAP_MAX


def test_curved_lines_are_found_as_polygons(arcs: dict[str, QualityReport]) -> None:
    assert arcs["curved"].detection["clean"].recall >= CLEAN_RECALL_MIN
    assert arcs["curved"].detection["degraded"].recall >= DEGRADED_RECALL_MIN
    # Straight lines stay PP-OCR's boxes: their twins are all found.
    assert arcs["straight"].detection["degraded"].recall == 1.0


@pytest.mark.parametrize("variant", ["turned", "mixed"])
def test_upside_down_text_reads_as_upright(orientation: dict[str, QualityReport], variant: str) -> None:
    upright, other = orientation["upright"], orientation[variant]
    for source in ("clean", "degraded", "composited_lines", "merged"):
        assert other.cer(source) <= upright.cer(source) + ORIENTATION_GAP_MAX, source
