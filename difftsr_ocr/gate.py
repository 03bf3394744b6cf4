"""The trust gate: restored pixels enter the page when the original pixels allow what they say.

A diffusion restorer can draw crisp, confident, wrong characters, and confidence cannot
tell a correction from a hallucination: measured on the official DiffTSR outputs,
the restored crop of a mistake (泰→秦) read *more* confidently than the original. What
can tell them apart is the original crop itself. A degraded glyph that the restoration
corrected was ambiguous: the recogniser's per-frame CTC output on the original crop
gives the corrected reading a likelihood close to its own best reading. A glyph the
restoration invented is one those frames rule out.

Per line the gate weighs, under the ORIGINAL crop's CTC output, the log-likelihood of
the restored reading against the original reading, per changed character
(:func:`weigh_evidence`). Policies:

  safe    (default) an unchanged reading (equal up to whitespace and NFKC, e.g. full- and
          half-width punctuation) is restored when OCR reads the restored crop at least
          as confidently (within ``confidence_tolerance``). A changed reading is
          restored when the original pixels support it (log-likelihood ratio per changed
          character >= ``min_log_ratio``) and the restored crop reads clearly (confidence
          >= ``min_restored_confidence``); or when a second, independent reader (the TDM
          transcript of ``refine_text=True``, compared case-insensitively) reads the same
          and the ratio is at least ``confirmed_min_log_ratio``. The TransOCR text prior
          is never a second reader: it is the LR crop's reading that conditioned the
          restoration. Everything else keeps the original pixels.
  always  every restored crop is composited (what peers do)
  never   nothing is composited: analysis only

The thresholds were calibrated with benchmarks/gate_calibration.py (see README).
"""

from __future__ import annotations

import dataclasses
import math

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.merge import edit_distance, reading_key, same_reading
from difftsr_ocr.recognize.ctc import CTCFrames
from difftsr_ocr.results import Reading

__all__ = ["GATE_POLICIES", "Evidence", "GateConfig", "GateDecision", "decide", "weigh_evidence"]

GATE_POLICIES = ("safe", "always", "never")


@dataclasses.dataclass(frozen=True)
class GateConfig:
    policy: str = "safe"
    # Unchanged readings: restored OCR confidence must reach the original's minus this
    # (recognisers' scores wobble in the third decimal between near-identical crops).
    confidence_tolerance: float = 0.01
    # Changed readings, calibrated with benchmarks/gate_calibration.py on 40 generated
    # pages (369 changed readings): at -2.0 the liar's substitutions are refused 99.4% of
    # the time and 44% of the truth restorer's corrections pass; -3.0 passes 66% and
    # refuses 95.8%, -5.0 passes 92% and refuses 90.6%. A trust gate takes the safe end.
    # The truth restorer's restored crops read at >= 0.94 (1st percentile).
    min_log_ratio: float = -2.0
    min_restored_confidence: float = 0.8
    # With an independent second reader agreeing (the TDM transcript), the original
    # pixels need only not rule the reading out: the liar's median is -11.4.
    confirmed_min_log_ratio: float = -8.0

    def __post_init__(self) -> None:
        if self.policy not in GATE_POLICIES:
            raise ConfigError(f"gate policy must be one of {', '.join(GATE_POLICIES)}, not {self.policy!r}")
        for name in ("confidence_tolerance", "min_restored_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"gate {name} must be within 0..1, not {getattr(self, name)}")
        for name in ("min_log_ratio", "confirmed_min_log_ratio"):
            if not getattr(self, name) <= 0.0:
                raise ConfigError(f"gate {name} must be <= 0 (a log-likelihood ratio), not {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the original crop's CTC output says about a changed reading.

    ``log_ratio``: log-likelihood of the restored reading minus that of the original
    reading, divided by the number of changed characters (``changed``); ``None`` when
    the frames cannot produce the restored reading at all, and ``note`` says why.
    """

    log_ratio: float | None
    changed: int
    note: str = ""


@dataclasses.dataclass(frozen=True)
class GateDecision:
    restore: bool
    reason: str


def weigh_evidence(frames: CTCFrames | None, original: str, restored: str) -> Evidence | None:
    """The evidence of ``frames`` (the original crop's) for ``restored`` against ``original``; None without frames."""
    if frames is None:
        return None
    changed = max(1, edit_distance(reading_key(restored), reading_key(original)))
    unknown = frames.unknown_characters(restored)
    if unknown:
        return Evidence(None, changed, f"{unknown!r} is outside the recogniser's alphabet")
    restored_ll, original_ll = frames.log_likelihood([restored, original])
    if not math.isfinite(restored_ll):
        return Evidence(None, changed, "the original crop has too few frames for it")
    if not math.isfinite(original_ll):  # cannot happen for a recogniser's own reading; stay defined
        return Evidence(0.0, changed)
    return Evidence(float((restored_ll - original_ll) / changed), changed)


def decide(
    original: Reading,
    restored: Reading,
    transcript: Reading | None,
    evidence: Evidence | None,
    config: GateConfig | None = None,
) -> GateDecision:
    """Whether a line's restored crop may replace its original pixels, and why."""
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


def _decide_change(
    original: Reading, restored: Reading, transcript: Reading | None, evidence: Evidence | None, config: GateConfig
) -> GateDecision:
    change = f"restored reading {restored.text!r} differs from the original reading {original.text!r}"
    confirmed = (
        transcript is not None
        and transcript.source == "difftsr"
        and same_reading(transcript.text, restored.text, ignore_case=True)
    )
    if evidence is None or evidence.log_ratio is None:
        why = evidence.note if evidence is not None else "the recogniser gives no per-frame evidence"
        if confirmed:
            return GateDecision(True, f"{change}; the DiffTSR transcript confirms it ({why})")
        return GateDecision(False, f"{change}; the original pixels cannot be weighed: {why}")
    ratio = f"log-likelihood ratio {evidence.log_ratio:.2f} per changed character"
    if evidence.log_ratio >= config.min_log_ratio and restored.confidence >= config.min_restored_confidence:
        return GateDecision(True, f"{change}; the original pixels support it ({ratio})")
    if confirmed and evidence.log_ratio >= config.confirmed_min_log_ratio:
        return GateDecision(True, f"{change}; the DiffTSR transcript confirms it ({ratio})")
    if evidence.log_ratio < config.min_log_ratio:
        return GateDecision(
            False, f"{change}; the original pixels do not support it ({ratio} < {config.min_log_ratio:g})"
        )
    return GateDecision(
        False,
        f"{change}; the restored crop does not read clearly "
        f"(confidence {restored.confidence:.2f} < {config.min_restored_confidence:.2f}; {ratio})",
    )
