"""Combining a line's readings: character alignment, chunk rejoining, the merged text.

Pure Python on strings; the trust gate (``gate.py``) and the pipeline build on it.
"""

from __future__ import annotations

import dataclasses
import difflib
import unicodedata
from collections.abc import Sequence

from difftsr_ocr.results import Reading

__all__ = [
    "MergedText",
    "char_error_rate",
    "edit_distance",
    "join_chunk_texts",
    "merge_readings",
    "normalise_text",
    "reading_key",
    "same_reading",
    "unseen_fragments",
]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance over characters (lines are short, so the O(len(a)*len(b)) table is fine)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def normalise_text(text: str) -> str:
    """Whitespace runs collapsed to one space and trimmed: line breaks and double spaces are not errors."""
    return " ".join(text.split())


def reading_key(text: str, ignore_case: bool = False) -> str:
    """What two readings must share to say the same: NFKC-normalised, whitespace removed.

    Full- and half-width forms (，/,  ５/5) are one character to a reader, and word gaps
    in a degraded crop are guesses; neither is a change of what a line says.
    """
    key = "".join(unicodedata.normalize("NFKC", text).split())
    return key.casefold() if ignore_case else key


def same_reading(a: str, b: str, ignore_case: bool = False) -> bool:
    """Whether two readings say the same (see :func:`reading_key`)."""
    return reading_key(a, ignore_case) == reading_key(b, ignore_case)


def char_error_rate(hypothesis: str, reference: str) -> float:
    """Edit distance normalised by the reference length (1.0 when the reference is empty and the hypothesis is not)."""
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return edit_distance(hypothesis, reference) / len(reference)


def unseen_fragments(candidate: str, accepted: str) -> list[str]:
    """Pieces of ``candidate`` that ``accepted`` does not contain at the aligned place.

    These are what a reading saw that the merged text did not take: listed, never
    silently added.
    """
    matcher = difflib.SequenceMatcher(a=accepted, b=candidate, autojunk=False)
    return [candidate[j0:j1] for tag, _, _, j0, j1 in matcher.get_opcodes() if tag in ("replace", "insert")]


def join_chunk_texts(texts: Sequence[str], max_overlap: int | None = None) -> str:
    """Rejoin the readings of overlapping chunks of one line without repeating the overlap.

    Consecutive chunks share the pixels of their overlap, so the end of one reading and
    the start of the next repeat the same characters; the longest exact repeat (up to
    ``max_overlap`` characters) is dropped from the second. With no exact repeat the
    texts are concatenated, since guessing would invent or lose characters.
    """
    joined = ""
    for text in texts:
        limit = min(len(joined), len(text)) if max_overlap is None else min(len(joined), len(text), max_overlap)
        shared = next((k for k in range(limit, 0, -1) if joined.endswith(text[:k])), 0)
        joined += text[shared:]
    return joined


@dataclasses.dataclass(frozen=True)
class MergedText:
    """The merged text of a line, its confidence, and what other readings saw beyond it."""

    text: str
    confidence: float
    disagreements: list[str]


def merge_readings(chosen: Reading, others: Sequence[Reading]) -> MergedText:
    """The chosen reading becomes the line's text; what the others saw beyond it is listed.

    ``chosen`` is the OCR of the pixels the page ends up with (restored when the gate let
    the restoration in, original otherwise). Another reading that says something else
    is always listed: by the fragments it has beyond the chosen text, or whole when it
    only lacks some of the chosen text's characters. When an independent reading says the
    same (:func:`same_reading`), the line's confidence is the higher of the two; the text prior is not
    independent (it is what conditioned the restoration).
    """
    confidence = chosen.confidence
    disagreements: list[str] = []
    for other in others:
        if same_reading(other.text, chosen.text):
            if other.source != "text_prior":
                confidence = max(confidence, other.confidence)
        else:
            fragments = unseen_fragments(other.text, chosen.text) or [other.text]
            disagreements.extend(f"{other.source}: {fragment}" for fragment in fragments)
    return MergedText(chosen.text, confidence, disagreements)
