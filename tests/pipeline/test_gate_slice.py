"""The trust gate on a slice of the gate benchmark (benchmarks/gate_calibration.py): three generated pages.

The truth restorer returns each line's clean pixels (every changed reading is a
correction); the liar redraws them with 1-2 characters swapped for the recogniser's
own confusions (every changed reading is a hallucination). The gate must refuse the
liar and let enough of the truth through that the merged text gets better, so this
slice fails both ways.
"""

from __future__ import annotations

import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.gate_trial import ChangedLine, GateTrial, run_gate_trial
from difftsr_ocr.evaluation.synthetic.pages import generate_pages
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer

# Measured on this slice (2026-12-07): the truth restorer corrects 12 true lines and the
# safe gate accepts 10 (merged CER 0.017 vs 0.124 with the original pixels; refused: 'ssE'
# for 办公室, a reading so degraded that a correction and a lie are equally foreign to it,
# and 'iteirs' -> 'items', whose pixels prefer 'iters'); the liar lies about 28 and the
# safe gate accepts 1 ('IBaN' in a line the degraded page read as '1B44'). Over 160 pages
# the gate accepts 90-94% of corrections and refuses 99.2-99.8% of lies (README).
MIN_TRUTH_CHANGES = 8
MIN_LIAR_CHANGES = 15
MIN_TRUTH_ACCEPTED = 0.7
MIN_LIES_REFUSED = 0.95
CER_NOISE = 0.005


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> GateTrial:
    pages = generate_pages(3, seed=0, cache_dir=tmp_path_factory.mktemp("pages"))
    pipeline = Pipeline(PPOCRDetector(), PPOCRRecognizer(), None, config_from_dict({"device": "cpu", "seed": 0}))
    return run_gate_trial(pages, pipeline)


def test_both_oracles_change_readings(trial: GateTrial) -> None:
    assert len(trial.lines_of("truth")) >= MIN_TRUTH_CHANGES
    assert len(trial.lines_of("liar")) >= MIN_LIAR_CHANGES
    assert {c.script for c in trial.lines_of("liar")} >= {"latin", "cjk"}


def test_the_safe_gate_refuses_the_lies(trial: GateTrial) -> None:
    accepted = [c for c in trial.lines_of("liar") if c.accepted["safe"]]
    assert 1.0 - trial.accepted_share("liar", "safe") >= MIN_LIES_REFUSED, [
        (c.original, c.restored, c.evidence) for c in accepted
    ]
    assert trial.merged["liar", "safe", "all"].cer <= trial.merged["liar", "never", "all"].cer + CER_NOISE


def test_the_safe_gate_lets_corrections_reach_the_text(trial: GateTrial) -> None:
    refused = [c for c in trial.lines_of("truth") if not c.accepted["safe"]]
    assert trial.accepted_share("truth", "safe") >= MIN_TRUTH_ACCEPTED, [
        (c.original, c.restored, c.evidence) for c in refused
    ]
    assert trial.merged["truth", "safe", "all"].cer < trial.merged["truth", "never", "all"].cer - CER_NOISE


def test_always_and_never_bound_the_gate(trial: GateTrial) -> None:
    for restorer in ("truth", "liar"):
        assert trial.accepted_share(restorer, "always") == 1.0
        assert trial.accepted_share(restorer, "never") == 0.0
    assert trial.merged["truth", "always", "all"].cer < trial.merged["truth", "safe", "all"].cer


@pytest.mark.parametrize(
    ("original", "restored", "corrects"),
    [("Blatch 7", "Batch 7", True), ("Room 305,", "Room 305.", False), ("Rom 305.", "Room 305.", True)],
)
def test_only_a_change_nearer_the_truth_counts_as_a_correction(original: str, restored: str, corrects: bool) -> None:
    # The clean crop can be misread too ('Room 305,' read with a full stop): refusing
    # that change is right, so it must not count against the gate.
    line = ChangedLine("truth", "latin", restored if corrects else original, original, restored, 0.9, None, {})
    assert line.corrects == corrects
    trial = GateTrial(changed=[line])
    assert trial.lines_of("truth") == ([line] if corrects else [])
