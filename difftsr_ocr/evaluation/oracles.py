"""Restorers that know the answer: how the gate and the compositing are judged on real restorations.

The classical restorer never changes a reading, so it cannot show whether the trust
gate lets corrections through or stops hallucinations. These restorers return, for
each crop the pipeline hands them, a crop prepared for exactly that region:

- the truth restorer: the same region of the clean page (an ideal restoration);
- the liar: the clean region redrawn with one or two characters replaced by the
  recogniser's own most plausible confusions (a convincing hallucination);
- the upstream restorer: the same region of a page holding the official DiffTSR
  outputs (what a user with the real weights gets).

Targets are cut with the line's own warp, so a target lines up with its crop pixel
for pixel, whatever the line's shape; they are looked up by the crop's content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage, rerender_line
from difftsr_ocr.geometry.chunks import split_crop
from difftsr_ocr.geometry.rectify import rectify_line
from difftsr_ocr.merge import reading_key
from difftsr_ocr.pipeline import LineWork, PreparedPage
from difftsr_ocr.recognize.base import Recognizer
from difftsr_ocr.recognize.ctc import CTCFrames
from difftsr_ocr.restore.base import ProgressCallback, RestoredCrop, RestoreProgress

__all__ = ["OracleRestorer", "confusions", "cut_like", "liar_for", "lie_about", "truth_for"]

# What the liar changes: this many characters of a line, at most.
MAX_LIES = 2


def _key(crop: np.ndarray) -> bytes:
    return hashlib.blake2b(crop.tobytes(), digest_size=16, person=bytes(str(crop.shape), "ascii")[:16]).digest()


class OracleRestorer:
    """Returns the target registered for each crop it is handed; a crop without one is skipped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._targets: dict[bytes, np.ndarray] = {}

    def add_line(self, line: LineWork, target: np.ndarray) -> None:
        """Register ``target`` (the line's whole restored crop, any resolution) for ``line``'s chunks."""
        scale = target.shape[1] / line.crop.shape[1]
        for chunk, piece in zip(line.chunks, split_crop(line.crop, line.chunks), strict=True):
            x0, x1 = round(chunk.x0 * scale), round(chunk.x1 * scale)
            self._targets[_key(piece)] = np.ascontiguousarray(target[:, x0:x1])

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]:
        results = []
        for done, crop in enumerate(crops, start=1):
            target = self._targets.get(_key(crop))
            results.append(
                RestoredCrop(image=target.copy()) if target is not None else RestoredCrop(None, skipped="no target")
            )
            if on_progress is not None:
                on_progress(RestoreProgress(done=done, total=len(crops)))
        return results


def cut_like(page: np.ndarray, line: LineWork) -> np.ndarray:
    """The region of ``page`` (same size as the line's page) cut exactly as the line's crop was."""
    crop, _ = rectify_line(page, line.warp.polygon)
    return crop


def truth_for(prepared: PreparedPage, clean: np.ndarray) -> OracleRestorer:
    """The truth restorer for one prepared page: each line's region of ``clean``."""
    restorer = OracleRestorer("truth")
    for line in prepared.lines:
        restorer.add_line(line, cut_like(clean, line))
    return restorer


def confusions(frames: CTCFrames, accept: Callable[[str], bool]) -> list[tuple[int, str]]:
    """(position, most plausible other character) for each character on the best path of ``frames``.

    Positions count the decoded characters (whitespace aside); the alternative is the
    best-ranked other class of the frame that emitted the character among those
    ``accept`` takes (so a Latin line is not lied about with a CJK glyph).
    """
    characters = frames.characters()
    found = []
    for position, (t, emitted) in enumerate(frames.best_path()):
        for other, _ in frames.ranked(t)[1:]:
            alternative = characters.get(other, "")
            if alternative != emitted and accept(alternative):
                found.append((position, alternative))
                break
    return found


def _is_cjk_ideograph(char: str) -> bool:
    return len(char) == 1 and 0x4E00 <= ord(char) <= 0x9FFF


def _is_latin_alphanumeric(char: str) -> bool:
    return len(char) == 1 and ord(char) < 0x250 and char.isalnum()


def lie_about(text: str, frames: CTCFrames, rng: np.random.Generator) -> str | None:
    """``text`` with 1-2 characters swapped for the recogniser's confusions; None when it offers none.

    ``frames`` is the recogniser's output on the clean rendering of ``text``; it must
    read ``text`` (up to whitespace), or the positions would not line up.
    """
    if "".join(char for _, char in frames.best_path()) != reading_key(text):
        return None
    accept = _is_cjk_ideograph if any(_is_cjk_ideograph(char) for char in text) else _is_latin_alphanumeric
    options = confusions(frames, accept)
    if not options:
        return None
    count = min(len(options), int(rng.integers(1, MAX_LIES + 1)))
    positions = [index for index, char in enumerate(text) if not char.isspace()]
    lie = list(text)
    for option in sorted(rng.choice(len(options), size=count, replace=False)):
        position, alternative = options[int(option)]
        lie[positions[position]] = alternative
    return "".join(lie)


def liar_for(
    prepared: PreparedPage,
    page: SyntheticPage,
    truth_lines: Sequence[int | None],
    recognizer: Recognizer,
    seed: int = 0,
) -> tuple[OracleRestorer, list[str | None]]:
    """The liar for one prepared page, and the lie told about each line (None where it told none).

    ``truth_lines[i]`` is the index of the truth line that prepared line ``i`` shows
    (None when it shows none); the liar redraws that truth line with its lie.
    """
    restorer = OracleRestorer("liar")
    clean_crops = [cut_like(page.clean, line) for line in prepared.lines]
    readings = recognizer.recognize(clean_crops) if clean_crops else []
    rng = np.random.default_rng([seed, page.seed])
    lies: list[str | None] = []
    for line, truth, reading in zip(prepared.lines, truth_lines, readings, strict=True):
        lie = None
        if truth is not None and reading.frames is not None:
            lie = lie_about(page.lines[truth].text, reading.frames, rng)
        lies.append(lie)
        if lie is not None:
            restorer.add_line(line, cut_like(rerender_line(page, truth, lie), line))
    return restorer, lies
