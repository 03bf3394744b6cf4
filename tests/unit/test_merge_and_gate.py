"""Reading alignment, chunk rejoining, and the trust gate's decisions."""

from __future__ import annotations

import pytest

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.gate import GateConfig, decide
from difftsr_ocr.merge import char_error_rate, edit_distance, join_chunk_texts, merge_readings, unseen_fragments
from difftsr_ocr.results import Reading


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("发票号码", "发票号玛", 1), ("abc", "abc", 0)],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance == edit_distance(b, a)


def test_char_error_rate_edges() -> None:
    assert char_error_rate("", "") == 0.0
    assert char_error_rate("x", "") == 1.0
    assert char_error_rate("abcd", "abce") == 0.25


def test_unseen_fragments_lists_only_what_the_other_reading_added() -> None:
    assert unseen_fragments("Total 1800.00", "Total 100.00") == ["8"]
    assert unseen_fragments("Invoice", "Invoice") == []
    assert unseen_fragments("", "anything") == []


def test_chunk_texts_rejoin_without_repeating_the_overlap() -> None:
    assert join_chunk_texts(["The quick br", "k brown fox", "fox jumps"]) == "The quick brown fox jumps"
    assert join_chunk_texts(["abc", "xyz"]) == "abcxyz"
    assert join_chunk_texts(["aaaa", "aaab"], max_overlap=2) == "aaaaab"
    assert join_chunk_texts([]) == ""


def test_merge_keeps_the_chosen_text_and_lists_the_rest() -> None:
    chosen = Reading("ocr_original", "Total 100.00", 0.8)
    merged = merge_readings(
        chosen, [Reading("ocr_restored", "Total 180.00", 0.97), Reading("difftsr", "Total 100.00", 0.9)]
    )
    assert merged.text == "Total 100.00"
    assert merged.confidence == 0.9, "an independent reader agreeing raises the confidence"
    assert merged.disagreements == ["ocr_restored: 8"]


ORIGINAL = Reading("ocr_original", "Invoice 2024-117", 0.71)


def test_safe_gate_accepts_a_restoration_that_reads_the_same_and_better() -> None:
    decision = decide(ORIGINAL, Reading("ocr_restored", "Invoice  2024-117 ", 0.93), None)
    assert decision.restore and "reads as the original" in decision.reason


def test_safe_gate_refuses_a_one_character_drift_nobody_confirms() -> None:
    drifted = Reading("ocr_restored", "Invoice 2024-11T", 0.93)
    assert char_error_rate(drifted.text, ORIGINAL.text) < GateConfig().max_disagreement
    decision = decide(ORIGINAL, drifted, None)
    assert not decision.restore and "no DiffTSR transcript confirms" in decision.reason
    assert decide(ORIGINAL, drifted, Reading("difftsr", "Invoice 2024-11T", 0.6)).restore


def test_safe_gate_refuses_changed_characters() -> None:
    decision = decide(ORIGINAL, Reading("ocr_restored", "Invoice 2021-447", 0.99), None)
    assert not decision.restore and "differs" in decision.reason


def test_safe_gate_refuses_a_less_confident_restoration() -> None:
    decision = decide(ORIGINAL, Reading("ocr_restored", "Invoice 2024-117", 0.5), None)
    assert not decision.restore and "less confident" in decision.reason


def test_safe_gate_accepts_when_the_transcript_confirms_a_correction() -> None:
    original = Reading("ocr_original", "lnvo1ce 2O24", 0.4)
    restored = Reading("ocr_restored", "Invoice 2024", 0.95)
    assert not decide(original, restored, None).restore
    decision = decide(original, restored, Reading("difftsr", "Invoice 2024", 0.8))
    assert decision.restore and "DiffTSR transcript" in decision.reason


def test_policies() -> None:
    changed = Reading("ocr_restored", "something else", 0.1)
    assert decide(ORIGINAL, changed, None, GateConfig(policy="always")).restore
    assert not decide(ORIGINAL, Reading("ocr_restored", ORIGINAL.text, 1.0), None, GateConfig(policy="never")).restore
    with pytest.raises(ConfigError, match="gate policy"):
        GateConfig(policy="sometimes")
