"""Reading alignment, chunk rejoining, and the trust gate's decisions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.gate import LOG_RATIO_FLOOR, GateConfig, decide, letter_variants, weigh_evidence
from difftsr_ocr.merge import (
    char_error_rate,
    edit_distance,
    join_chunk_texts,
    merge_readings,
    same_reading,
    unseen_fragments,
)
from difftsr_ocr.recognize.ctc import CTCFrames, vocabulary_index
from difftsr_ocr.results import Evidence, Reading


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


def test_merge_lists_a_reading_that_only_lacks_characters_whole() -> None:
    merged = merge_readings(Reading("ocr_restored", "厨彩阳光", 0.99), [Reading("ocr_original", "厨阳光", 0.9)])
    assert merged.disagreements == ["ocr_original: 厨阳光"], "a changed line never hides what it replaced"


def test_the_text_prior_is_no_second_reader_for_the_confidence() -> None:
    chosen = Reading("ocr_original", "COMPACT", 0.6)
    assert merge_readings(chosen, [Reading("text_prior", "COMPACT", 0.99)]).confidence == 0.6
    assert merge_readings(chosen, [Reading("difftsr", "COMPACT", 0.99)]).confidence == 0.99


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("GTX 1080Ti", "GTX1080Ti", True),
        ("净含量，500g", "净含量,500g", True),  # full- and half-width comma: one character to a reader
        ("净含量，500g", "净含量.500g", False),
        ("Total", "TOTAL", False),
    ],
)
def test_same_reading(a: str, b: str, same: bool) -> None:
    assert same_reading(a, b) is same


# The recogniser's alphabet for the gate tests: blank, a few Latin and CJK characters, space.
CHARACTERS = [
    "",
    "I",
    "n",
    "v",
    "o",
    "i",
    "c",
    "e",
    "l",
    "1",
    "泰",
    "秦",
    "芒",
    "了",
    "图",
    "文",
    "锅",
    "制",
    "利",
    "作",
    " ",
    "í",
    "ì",
    "ï",
]
VOCABULARY = vocabulary_index(CHARACTERS)


def _frames(columns: list[dict[str, float]]) -> CTCFrames:
    """CTC frames emitting one column per character (the probabilities given), blanks between."""
    rows = []
    for column in columns:
        emit = np.full(len(CHARACTERS), 1e-6)
        for char, probability in column.items():
            emit[CHARACTERS.index(char)] = probability
        rows += [emit / emit.sum()]
        blank = np.full(len(CHARACTERS), 1e-6)
        blank[0] = 1.0
        rows += [blank / blank.sum()]
    return CTCFrames.from_probs(np.array(rows), VOCABULARY)


# One crop stands for both the original and the restored pixels where a test is about
# the recogniser's evidence: a crop always explains itself (inconsistency 1).
_CROP = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (16, 1, 3))


def _gate(
    original: str,
    restored: str,
    original_frames: CTCFrames,
    restored_frames: CTCFrames,
    transcript: Reading | None = None,
):
    first, second = Reading("ocr_original", original, 0.8), Reading("ocr_restored", restored, 0.99)
    evidence = weigh_evidence(first, second, original_frames, restored_frames, _CROP, _CROP)
    return decide(first, second, transcript, evidence), evidence


INVOLCE = [{"I": 0.99}, {"n": 0.99}, {"v": 0.99}, {"o": 0.99}, {"l": 0.55, "i": 0.44}, {"c": 0.99}, {"e": 0.99}]
INVOICE = [{"I": 0.99}, {"n": 0.99}, {"v": 0.99}, {"o": 0.99}, {"i": 0.99, "l": 0.005}, {"c": 0.99}, {"e": 0.99}]


def test_a_correction_of_an_ambiguous_glyph_is_accepted() -> None:
    # The degraded "i" reads as "l" a little more often than as "i": the original pixels
    # allow both, and the restored crop rules "l" out.
    decision, evidence = _gate("Involce", "Invoice", _frames(INVOLCE), _frames(INVOICE))
    assert decision.restore and "both support it" in decision.reason
    assert evidence.original_log_ratio is not None and -1.0 < evidence.original_log_ratio < 0.0
    assert evidence.restored_log_ratio is not None and evidence.restored_log_ratio < -4.0
    assert evidence.inconsistency == 1.0 and evidence.changed == 1


def test_a_glyph_the_original_pixels_rule_out_is_refused_however_clear_the_restoration() -> None:
    original = _frames([{"泰": 0.99999, "秦": 1e-5}, {"芒": 0.99}, {"了": 0.99}])
    restored = _frames([{"秦": 0.99, "泰": 0.001}, {"芒": 0.99}, {"了": 0.99}])
    decision, evidence = _gate("泰芒了", "秦芒了", original, restored)
    assert not decision.restore and "original pixels rule it out" in decision.reason
    assert evidence.original_log_ratio is not None and evidence.original_log_ratio < GateConfig().min_log_ratio


def test_a_look_alike_the_original_pixels_prefer_is_refused() -> None:
    # The original reads 泰 500 times likelier than 秦: not ruled out by witness 1's bar,
    # but the restored crop's own runner-up, 泰, is what the original pixels show.
    original = _frames([{"泰": 0.998, "秦": 0.002}, {"芒": 0.99}, {"了": 0.99}])
    restored = _frames([{"秦": 0.99, "泰": 0.005}, {"芒": 0.99}, {"了": 0.99}])
    decision, evidence = _gate("泰芒了", "秦芒了", original, restored)
    assert not decision.restore and "prefer the look-alike '泰芒了'" in decision.reason
    assert evidence.original_log_ratio is not None and evidence.original_log_ratio > GateConfig().min_log_ratio
    assert evidence.lookalike == "泰芒了" and evidence.lookalike_gain == pytest.approx(np.log(0.998 / 0.002), abs=0.01)


@pytest.mark.parametrize(
    ("char", "variants"),
    [("É", ["E", "é", "e"]), ("í", ["i", "Í", "I"]), ("a", ["A"]), ("ß", []), ("泰", []), ("1", [])],
)
def test_letter_variants_drop_the_accent_and_swap_the_case(char: str, variants: list[str]) -> None:
    assert letter_variants(char) == variants


def test_an_added_accent_the_original_pixels_do_not_show_is_refused() -> None:
    # The restored crop draws í crisply, so its runners-up are other accented i's, never
    # the plain one; the original crop reads a plain i, 1000 times likelier than í.
    original = _frames([{"I": 0.99}, {"n": 0.99}, {"v": 0.99}, {"o": 0.99}, {"i": 0.999, "í": 0.001}, {"c": 0.99}])
    restored = _frames(
        [{"I": 0.99}, {"n": 0.99}, {"v": 0.99}, {"o": 0.99}, {"í": 0.9, "ì": 0.05, "ï": 0.04}, {"c": 0.99}]
    )
    decision, evidence = _gate("Invoic", "Invoíc", original, restored)
    assert not decision.restore and "prefer the look-alike 'Invoic'" in decision.reason
    assert evidence.original_log_ratio is not None and evidence.original_log_ratio > GateConfig().min_log_ratio


def test_a_restoration_that_still_reads_the_original_is_refused() -> None:
    # What the official DiffTSR did to 泰: a glyph between the two, read as 秦 but barely.
    original = _frames([{"泰": 0.7, "秦": 0.25}, {"芒": 0.99}, {"了": 0.99}])
    restored = _frames([{"秦": 0.6, "泰": 0.35}, {"芒": 0.99}, {"了": 0.99}])
    decision, evidence = _gate("泰芒了", "秦芒了", original, restored)
    assert not decision.restore and "still reads the original" in decision.reason
    assert evidence.original_log_ratio is not None and evidence.original_log_ratio > GateConfig().min_log_ratio


def test_a_restoration_that_does_not_explain_the_original_pixels_is_refused() -> None:
    original, restored = Reading("ocr_original", "Involce", 0.8), Reading("ocr_restored", "Invoice", 0.99)
    evidence = Evidence(original_log_ratio=-0.2, restored_log_ratio=-9.0, inconsistency=12.0, changed=1)
    decision = decide(original, restored, None, evidence)
    assert not decision.restore and "does not explain the original pixels" in decision.reason
    consistent = dataclasses.replace(evidence, inconsistency=2.0)
    assert decide(original, restored, None, consistent).restore


@pytest.mark.parametrize(
    ("original_log_ratio", "lookalike_gain", "accepted"),
    [(-0.2, -5.0, True), (-0.2, -1.0, False), (-0.2, None, False), (-3.0, -5.0, False)],
)
def test_the_pixels_are_held_to_the_looser_bar_only_when_the_original_crop_reads_the_restored_text_distinctly(
    original_log_ratio: float, lookalike_gain: float | None, accepted: bool
) -> None:
    # A residual between the two bars: damage the restoration removed (a speck) when the
    # original crop itself reads the restored text as well as its own and prefers it to
    # all its look-alikes; otherwise possibly a glyph the recogniser cannot tell from its twin.
    gate = GateConfig()
    between = (gate.max_inconsistency + gate.distinct_max_inconsistency) / 2
    original, restored = Reading("ocr_original", "Involce", 0.8), Reading("ocr_restored", "Invoice", 0.99)
    evidence = Evidence(
        original_log_ratio=original_log_ratio,
        restored_log_ratio=-9.0,
        inconsistency=between,
        changed=1,
        lookalike_gain=lookalike_gain,
    )
    decision = decide(original, restored, None, evidence, gate)
    assert decision.restore == accepted, decision.reason
    beyond = dataclasses.replace(evidence, inconsistency=gate.distinct_max_inconsistency + 1.0)
    assert not decide(original, restored, None, beyond, gate).restore


def test_only_an_independent_reader_confirms_and_case_does_not_matter_to_it() -> None:
    # Noise that the recogniser reads as 锅 with confidence; the restoration draws 制,
    # whose look-alike (利) the noise does not show either.
    original = _frames([{"图": 0.99}, {"文": 0.99}, {"锅": 0.99999, "制": 1e-5}, {"作": 0.99}])
    restored = _frames([{"图": 0.99}, {"文": 0.99}, {"制": 0.99, "利": 0.005}, {"作": 0.99}])
    assert not _gate("图文锅作", "图文制作", original, restored, Reading("text_prior", "图文制作", 0.9))[0].restore
    decision, _ = _gate("图文锅作", "图文制作", original, restored, Reading("difftsr", "图文制作", 0.9))
    assert decision.restore and "transcript confirms" in decision.reason
    latin = _frames(
        [{"I": 0.99}, {"n": 0.99}, {"v": 0.99}, {"o": 0.99}, {"l": 0.99999, "i": 1e-5}, {"c": 0.99}, {"e": 0.99}]
    )
    restored_latin = _frames(
        [{"I": 0.99}, {"n": 0.99}, {"v": 0.99}, {"o": 0.99}, {"i": 0.99, "1": 0.005}, {"c": 0.99}, {"e": 0.99}]
    )
    assert not _gate("Involce", "Invoice", latin, restored_latin)[0].restore
    assert _gate("Involce", "Invoice", latin, restored_latin, Reading("difftsr", "invoice", 0.7))[0].restore


def test_a_change_that_cannot_be_weighed_needs_a_second_reader_and_consistent_pixels() -> None:
    frames = _frames([{"泰": 0.99}, {"芒": 0.99}])
    decision, evidence = _gate("泰芒", "泰芒X", frames, frames)
    assert evidence.original_log_ratio is None and "alphabet" in evidence.note
    assert not decision.restore and "cannot be weighed" in decision.reason
    original, restored = Reading("ocr_original", "泰芒", 0.8), Reading("ocr_restored", "秦芒", 0.99)
    assert not decide(original, restored, None, None).restore
    assert not decide(original, restored, Reading("difftsr", "秦芒", 0.9), None).restore
    frameless = Evidence(None, None, inconsistency=1.8, changed=1, note="no per-frame evidence")
    assert decide(original, restored, Reading("difftsr", "秦芒", 0.9), frameless).restore
    assert not decide(original, restored, None, frameless).restore
    assert not decide(
        original, restored, Reading("difftsr", "秦芒", 0.9), dataclasses.replace(frameless, inconsistency=9.0)
    ).restore


def test_a_reading_the_frames_cannot_produce_scores_the_floor() -> None:
    # Three characters cannot come out of two frames.
    frames = _frames([{"泰": 0.99}])
    decision, evidence = _gate("泰", "泰芒了", frames, _frames([{"泰": 0.99}, {"芒": 0.99}, {"了": 0.99}]))
    assert evidence.original_log_ratio == LOG_RATIO_FLOOR
    assert not decision.restore


def test_whitespace_and_width_forms_are_no_change() -> None:
    decision = decide(ORIGINAL, Reading("ocr_restored", "Invoice2024-117", 0.93), None, None)
    assert decision.restore and "reads as the original" in decision.reason


ORIGINAL = Reading("ocr_original", "Invoice 2024-117", 0.71)


def test_safe_gate_refuses_a_less_confident_restoration() -> None:
    decision = decide(ORIGINAL, Reading("ocr_restored", "Invoice 2024-117", 0.5), None, None)
    assert not decision.restore and "less confident" in decision.reason


def test_policies() -> None:
    changed = Reading("ocr_restored", "something else", 0.1)
    assert decide(ORIGINAL, changed, None, None, GateConfig(policy="always")).restore
    unchanged = Reading("ocr_restored", ORIGINAL.text, 1.0)
    assert not decide(ORIGINAL, unchanged, None, None, GateConfig(policy="never")).restore
    with pytest.raises(ConfigError, match="gate policy"):
        GateConfig(policy="sometimes")
    with pytest.raises(ConfigError, match="min_log_ratio"):
        GateConfig(min_log_ratio=1.0)
    with pytest.raises(ConfigError, match="max_inconsistency"):
        GateConfig(max_inconsistency=0.5)
    with pytest.raises(ConfigError, match="max_lookalike_gain"):
        GateConfig(max_lookalike_gain=-1.0)
    with pytest.raises(ConfigError, match="distinct_max_inconsistency"):
        GateConfig(distinct_max_inconsistency=0.0)
    with pytest.raises(ConfigError, match="distinct_lookalike_gain"):
        GateConfig(distinct_lookalike_gain=2.0)
    with pytest.raises(ConfigError, match="distinct_min_log_ratio"):
        GateConfig(distinct_min_log_ratio=1.0)
