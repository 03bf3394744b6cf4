"""The trust gate: restored pixels enter the page when the original pixels allow what they say.

A diffusion restorer can draw crisp, confident, wrong characters, and confidence cannot
tell a correction from a hallucination: measured on the official DiffTSR outputs,
the restored crop of a mistake (泰→秦) read *more* confidently than the original. So a
changed reading has to answer to four witnesses (:func:`weigh_evidence`):

1. the original crop's CTC output: a degraded glyph that the restoration corrected was
   ambiguous, so those frames give the restored reading a likelihood close to their own
   best reading; a glyph the restoration invented is one they rule out
   (``original_log_ratio``, per changed character);
2. the restored crop's CTC output: a restoration worth taking rules the original
   reading out; one that still reads both ways has not decided anything (the official
   泰→秦 crop gives 泰 a third of 秦's likelihood; its real corrections, 1/400 or less)
   (``restored_log_ratio``, per changed character);
3. the pixels themselves: the restoration, degraded again, must explain the original
   crop evenly along the line; a swapped glyph leaves a local blob the fit cannot
   explain, also where the recogniser cannot tell the two apart (a diacritic, a case
   change) (``inconsistency``, :mod:`difftsr_ocr.consistency`);
4. the look-alikes: a restorer that goes wrong draws a glyph of a similar pair (秦 for
   泰), or the same letter with an accent or in the other case (É for E). Each changed
   character is swapped for the look-alikes the restored crop itself ranks next and for
   its own letter variants; when the original crop supports one of those readings
   clearly better than the restored one, the restoration picked the wrong glyph of the
   pair (``lookalike_gain``). Witness 1 alone cannot say this: on a badly degraded line
   every reading is unlikely, the right one and the look-alike alike, and its mean over
   the changed characters lets one lie ride along with several true corrections.

Policies:

  safe    (default) an unchanged reading (equal up to whitespace and NFKC, e.g. full- and
          half-width punctuation) is restored when OCR reads the restored crop at least
          as confidently (within ``confidence_tolerance``). A changed reading is
          restored when all four witnesses agree: ``original_log_ratio >=
          min_log_ratio``, ``restored_log_ratio <= max_restored_log_ratio``,
          ``inconsistency <= max_inconsistency`` (``distinct_max_inconsistency`` when
          ``original_log_ratio >= distinct_min_log_ratio`` and ``lookalike_gain <=
          distinct_lookalike_gain``: the original crop itself reads the restored text
          and tells it from its look-alikes) and ``lookalike_gain <=
          max_lookalike_gain``. A second, independent reader (the TDM
          transcript of ``refine_text=True``, compared case-insensitively) that reads
          the same lowers the first bar to ``confirmed_min_log_ratio``. The TransOCR text
          prior is never a second reader: it is the LR crop's reading that conditioned
          the restoration. Everything else keeps the original pixels.
  always  every restored crop is composited (what peers do)
  never   nothing is composited: analysis only

The thresholds were calibrated with benchmarks/gate_calibration.py (see README).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import unicodedata

import numpy as np

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.merge import edit_distance, reading_key, same_reading
from difftsr_ocr.recognize.ctc import CTCFrames
from difftsr_ocr.results import Evidence, Reading

__all__ = [
    "GATE_POLICIES",
    "LOG_RATIO_FLOOR",
    "GateConfig",
    "GateDecision",
    "decide",
    "letter_variants",
    "weigh_evidence",
]

# Look-alikes tried per changed character: the restored crop's next-ranked classes there.
LOOKALIKES = 5

GATE_POLICIES = ("safe", "always", "never")
# A reading the frames cannot produce at all scores this per changed character (e^-100
# is as impossible as a likelihood gets, and stays a number in JSON).
LOG_RATIO_FLOOR = -100.0


@dataclasses.dataclass(frozen=True)
class GateConfig:
    policy: str = "safe"
    # Unchanged readings: restored OCR confidence must reach the original's minus this
    # (recognisers' scores wobble in the third decimal between near-identical crops).
    confidence_tolerance: float = 0.01
    # Changed readings: the four witnesses' bars, calibrated with
    # benchmarks/gate_calibration.py (README, "What the trust gate lets through").
    min_log_ratio: float = -10.0
    max_restored_log_ratio: float = -2.0
    max_inconsistency: float = 3.6
    max_lookalike_gain: float = 6.0
    # The pixel witness is there for what the recogniser cannot tell apart (an accent, a
    # case, a stroke). When the original crop itself reads the restored text not much
    # worse than its own reading (witness 1 at or above distinct_min_log_ratio) and prefers
    # it to its every look-alike (witness 4 at or below distinct_lookalike_gain), the
    # recogniser has told them apart, and a local residual is more likely damage the
    # restoration removed (a speck, a cell of a column shifted): the pixels are then held
    # to the looser bar.
    distinct_min_log_ratio: float = -2.5
    distinct_lookalike_gain: float = -3.0
    distinct_max_inconsistency: float = 8.0
    # With an independent second reader agreeing (the TDM transcript), the original
    # pixels need only not rule the reading out flatly.
    confirmed_min_log_ratio: float = -12.0

    def __post_init__(self) -> None:
        if self.policy not in GATE_POLICIES:
            raise ConfigError(f"gate policy must be one of {', '.join(GATE_POLICIES)}, not {self.policy!r}")
        if not 0.0 <= self.confidence_tolerance <= 1.0:
            raise ConfigError(f"gate confidence_tolerance must be within 0..1, not {self.confidence_tolerance}")
        for name in ("min_log_ratio", "max_restored_log_ratio", "confirmed_min_log_ratio", "distinct_min_log_ratio"):
            if not getattr(self, name) <= 0.0:
                raise ConfigError(f"gate {name} must be <= 0 (a log-likelihood ratio), not {getattr(self, name)}")
        if not self.max_lookalike_gain >= 0.0:
            raise ConfigError(
                f"gate max_lookalike_gain must be >= 0 (a log-likelihood gain), not {self.max_lookalike_gain}"
            )
        for name in ("max_inconsistency", "distinct_max_inconsistency"):
            if not getattr(self, name) >= 1.0:
                raise ConfigError(
                    f"gate {name} must be >= 1 (a ratio to the typical residual), not {getattr(self, name)}"
                )
        if not self.distinct_lookalike_gain <= 0.0:
            raise ConfigError(
                f"gate distinct_lookalike_gain must be <= 0 (the original crop preferring the restored reading), "
                f"not {self.distinct_lookalike_gain}"
            )


@dataclasses.dataclass(frozen=True)
class GateDecision:
    restore: bool
    reason: str


def _log_ratio(frames: CTCFrames, numerator: str, denominator: str, changed: int) -> tuple[float | None, str]:
    """Per changed character, log P(numerator) - log P(denominator) under ``frames``; None and why when undefined.

    ``denominator`` is the crop's own reading; a ``numerator`` the frames cannot produce
    at all scores :data:`LOG_RATIO_FLOOR`.
    """
    unknown = frames.unknown_characters(numerator)
    if unknown:
        return None, f"{unknown!r} is outside the recogniser's alphabet"
    top, bottom = frames.log_likelihood([numerator, denominator])
    if not math.isfinite(bottom):
        return None, f"the crop cannot produce its own reading {denominator!r}"
    return max(LOG_RATIO_FLOOR, float((top - bottom) / changed)), ""


def weigh_evidence(
    original: Reading,
    restored: Reading,
    original_frames: CTCFrames | None,
    restored_frames: CTCFrames | None,
    original_crop: np.ndarray,
    restored_crop: np.ndarray,
) -> Evidence:
    """What the original crop, the restored crop and their pixels say about ``restored`` against ``original``."""
    # OpenCV loads here, not when a config (which holds GateConfig) is read: plug-ins read configs.
    from difftsr_ocr.consistency import inconsistency

    changed = max(1, edit_distance(reading_key(restored.text), reading_key(original.text)))
    ratios: list[float | None] = []
    notes = []
    for crop, frames, numerator, denominator in (
        ("original", original_frames, restored.text, original.text),
        ("restored", restored_frames, original.text, restored.text),
    ):
        ratio, note = _log_ratio(frames, numerator, denominator, changed) if frames is not None else (None, "")
        ratios.append(ratio)
        if frames is None:
            notes.append(f"the recogniser gives no per-frame evidence for the {crop} crop")
        elif note:
            notes.append(f"{crop} crop: {note}")
    gain, lookalike = None, ""
    if original_frames is not None and restored_frames is not None:
        gain, lookalike = _best_lookalike(original_frames, restored_frames, original.text, restored.text)
    return Evidence(
        original_log_ratio=ratios[0],
        restored_log_ratio=ratios[1],
        inconsistency=inconsistency(original_crop, restored_crop),
        changed=changed,
        lookalike_gain=gain,
        lookalike=lookalike,
        note="; ".join(notes),
    )


def letter_variants(char: str) -> list[str]:
    """The same letter with its diacritics dropped and its case swapped: ``É`` gives ``E``, ``é``, ``e``.

    A restored crop draws its accent or capital crisply, so the recogniser ranks other
    accented or capital forms next, not the plain letter; yet adding an accent or
    changing a case is the lie a degraded line shows least (the mark is a few pixels).
    The original crop must not prefer the plain form.
    """
    bare = "".join(part for part in unicodedata.normalize("NFD", char) if not unicodedata.combining(part))
    variants = [bare, char.swapcase(), bare.swapcase()]
    return [v for v in dict.fromkeys(variants) if len(v) == 1 and v != char]


def _best_lookalike(
    original_frames: CTCFrames, restored_frames: CTCFrames, original: str, restored: str
) -> tuple[float | None, str]:
    """(gain, reading): the look-alike reading the original crop supports best, and by how much over ``restored``.

    Look-alikes swap one changed character of ``restored`` for a class the restored
    crop ranks next at that character's frame, or for a variant of the same letter
    (:func:`letter_variants`). None when the restored crop's own best path does not
    spell ``restored`` (nothing to line the characters up with).
    """
    key, path = reading_key(restored), restored_frames.best_path()
    if "".join(char for _, char in path) != key:
        return None, ""
    characters = restored_frames.characters()
    matcher = difflib.SequenceMatcher(a=reading_key(original), b=key, autojunk=False)
    candidates = []
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag not in ("replace", "insert"):
            continue
        for position in range(start, end):
            frame, char = path[position]
            ranked = [characters.get(index, "") for index, _ in restored_frames.ranked(frame)[: LOOKALIKES + 1]]
            for other in dict.fromkeys([*ranked, *letter_variants(char)]):
                if other and other != char and not other.isspace():
                    candidates.append(key[:position] + other + key[position + 1 :])
    if not candidates:
        return None, ""
    scores = original_frames.log_likelihood([key, *candidates])
    best = int(np.argmax(scores[1:]))
    if not np.isfinite(scores[0]) or not np.isfinite(scores[1 + best]):
        return None, ""
    return float(scores[1 + best] - scores[0]), candidates[best]


def decide(
    original: Reading,
    restored: Reading,
    transcript: Reading | None,
    evidence: Evidence | None,
    config: GateConfig | None = None,
) -> GateDecision:
    """Whether a line's restored crop may replace its original pixels, and why.

    ``evidence`` is :func:`weigh_evidence`'s for a changed reading (None for an unchanged one).
    """
    config = config or GateConfig()
    if config.policy == "always":
        return GateDecision(True, "policy always")
    if config.policy == "never":
        return GateDecision(False, "policy never (analysis only)")

    if same_reading(restored.text, original.text):
        if restored.confidence < original.confidence - config.confidence_tolerance:
            return GateDecision(
                False,
                f"OCR less confident on the restored crop ({restored.confidence:.2f} < {original.confidence:.2f})",
            )
        return GateDecision(True, "reads as the original")
    return _decide_change(original, restored, transcript, evidence, config)


def _pixel_bar(evidence: Evidence | None, config: GateConfig) -> float:
    """The pixel witness's bar: looser when the original crop reads the restored text and none of its look-alikes."""
    distinct = (
        evidence is not None
        and evidence.original_log_ratio is not None
        and evidence.original_log_ratio >= config.distinct_min_log_ratio
        and evidence.lookalike_gain is not None
        and evidence.lookalike_gain <= config.distinct_lookalike_gain
    )
    return config.distinct_max_inconsistency if distinct else config.max_inconsistency


def _decide_change(
    original: Reading, restored: Reading, transcript: Reading | None, evidence: Evidence | None, config: GateConfig
) -> GateDecision:
    change = f"restored reading {restored.text!r} differs from the original reading {original.text!r}"
    confirmed = (
        transcript is not None
        and transcript.source == "difftsr"
        and same_reading(transcript.text, restored.text, ignore_case=True)
    )
    pixel_bar = _pixel_bar(evidence, config)
    consistent = evidence is not None and (evidence.inconsistency is None or evidence.inconsistency <= pixel_bar)
    if evidence is None or evidence.original_log_ratio is None or evidence.restored_log_ratio is None:
        why = evidence.note if evidence is not None and evidence.note else "no evidence was weighed"
        if confirmed and consistent:
            # A recogniser without per-frame output (or a character outside its alphabet)
            # leaves the second reader and the pixels as the witnesses.
            return GateDecision(True, f"{change}; the DiffTSR transcript confirms it and the pixels allow it ({why})")
        return GateDecision(False, f"{change}; the pixels cannot be weighed: {why}")
    bar = config.confirmed_min_log_ratio if confirmed else config.min_log_ratio
    failures = []
    if evidence.original_log_ratio < bar:
        failures.append(f"the original pixels rule it out ({evidence.original_log_ratio:.2f} < {bar:g})")
    if evidence.restored_log_ratio > config.max_restored_log_ratio:
        failures.append(
            f"the restored crop still reads the original ({evidence.restored_log_ratio:.2f} > "
            f"{config.max_restored_log_ratio:g})"
        )
    if evidence.inconsistency is not None and evidence.inconsistency > pixel_bar:
        failures.append(
            f"the restoration does not explain the original pixels "
            f"(inconsistency {evidence.inconsistency:.2f} > {pixel_bar:g})"
        )
    if evidence.lookalike_gain is not None and evidence.lookalike_gain > config.max_lookalike_gain:
        failures.append(
            f"the original pixels prefer the look-alike {evidence.lookalike!r} "
            f"(+{evidence.lookalike_gain:.2f} > {config.max_lookalike_gain:g})"
        )
    if failures:
        return GateDecision(False, f"{change}; {'; '.join(failures)}")
    if confirmed:
        return GateDecision(True, f"{change}; the DiffTSR transcript confirms it and the pixels allow it")
    return GateDecision(True, f"{change}; the original and the restored pixels both support it")
