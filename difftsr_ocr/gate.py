"""The trust gate: restored pixels enter the page only when they do not change what it says.

A diffusion restorer can draw crisp, confident, wrong characters. Per line, the gate
compares the OCR reading of the original crop, the OCR reading of the restored crop and
(when DiffTSR ran) DiffTSR's own transcript, and decides whether the restored crop is
composited. Policies:

  safe    (default) restored only when OCR is at least as confident on the restored
          crop as on the original (within ``confidence_tolerance``) AND the restored
          reading is the original reading (up to whitespace runs), or agrees with the DiffTSR
          transcript within ``max_disagreement`` (character error rate). A change of
          text needs a second, independent reader: benchmarks/quality.py showed that
          readings which drift by a character under a restorer that cannot know better
          (classical sharpening) are wrong more often than right.
  always  every restored crop is composited (what peers do)
  never   nothing is composited: analysis only
"""

from __future__ import annotations

import dataclasses

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.merge import char_error_rate, normalise_text
from difftsr_ocr.results import Reading

__all__ = ["GATE_POLICIES", "GateConfig", "GateDecision", "decide"]

GATE_POLICIES = ("safe", "always", "never")


@dataclasses.dataclass(frozen=True)
class GateConfig:
    policy: str = "safe"
    # Restored OCR confidence must reach the original's minus this: recognisers' scores
    # wobble in the third decimal between near-identical crops, which is not a loss.
    confidence_tolerance: float = 0.01
    # Largest character error rate between the restored reading and the DiffTSR transcript
    # for them to count as agreeing (against the original reading only equality counts).
    max_disagreement: float = 0.15

    def __post_init__(self) -> None:
        if self.policy not in GATE_POLICIES:
            raise ConfigError(f"gate policy must be one of {', '.join(GATE_POLICIES)}, not {self.policy!r}")
        if not 0.0 <= self.confidence_tolerance <= 1.0:
            raise ConfigError(f"gate confidence_tolerance must be within 0..1, not {self.confidence_tolerance}")
        if not 0.0 <= self.max_disagreement <= 1.0:
            raise ConfigError(f"gate max_disagreement must be within 0..1, not {self.max_disagreement}")


@dataclasses.dataclass(frozen=True)
class GateDecision:
    restore: bool
    reason: str


def decide(
    original: Reading, restored: Reading, transcript: Reading | None, config: GateConfig | None = None
) -> GateDecision:
    """Whether a line's restored crop may replace its original pixels, and why."""
    config = config or GateConfig()
    if config.policy == "always":
        return GateDecision(True, "policy always")
    if config.policy == "never":
        return GateDecision(False, "policy never (analysis only)")

    if restored.confidence < original.confidence - config.confidence_tolerance:
        return GateDecision(
            False,
            f"OCR less confident on the restored crop ({restored.confidence:.2f} < {original.confidence:.2f})",
        )
    if normalise_text(restored.text) == normalise_text(original.text):
        return GateDecision(True, "reads as the original")
    if transcript is not None and transcript.text:
        against_transcript = char_error_rate(restored.text, transcript.text)
        if against_transcript <= config.max_disagreement:
            return GateDecision(True, f"agrees with the DiffTSR transcript (CER {against_transcript:.2f})")
    return GateDecision(
        False,
        f"restored reading {restored.text!r} differs from the original reading {original.text!r} "
        f"(CER {char_error_rate(restored.text, original.text):.2f}) and no DiffTSR transcript confirms it",
    )
