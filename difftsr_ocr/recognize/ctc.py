"""CTC evidence: how well a crop's per-frame probabilities support any candidate text.

A CTC recogniser's output for a crop is a ``[T, C]`` softmax over blank (class 0) and
its alphabet. Greedy decoding keeps only the best path; the same output also gives
the probability of *any* text, summed over every frame alignment (the CTC forward
algorithm). That is the evidence the trust gate needs: does the original crop allow
the reading a restoration produced?

Whitespace is never evidence: a degraded crop's word gaps are guesses, and the readers
disagree on them. Texts are scored with whitespace removed and each frame's
whitespace probability counted as blank.

A ``[T, C]`` array is 3 MB for a 40-frame line of an 18k-class alphabet, too much to
keep for every line of a batch of pages, so :class:`CTCFrames` keeps the ``K`` most
likely classes of each frame exactly and spreads the rest of its mass evenly over
the other classes (an alternative outside the top ``K`` is implausible anyway).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["CTCFrames", "ctc_log_likelihood", "vocabulary_index", "whitespace_classes"]

# Frames of evidence are kept to this many classes each (besides blank): with 256 the
# log-likelihood of a reading stays within 0.1 of the full softmax's on upstream's LR lines.
KEPT_CLASSES = 256
_TINY = 1e-30
_RESCALE_EVERY = 4


def vocabulary_index(characters: Sequence[str]) -> dict[str, int]:
    """Character -> class index for a CTC alphabet whose index 0 is the blank."""
    index: dict[str, int] = {}
    for position, character in enumerate(characters):
        if position and character and character not in index:
            index[character] = position
    return index


def whitespace_classes(vocabulary: Mapping[str, int]) -> np.ndarray:
    """The classes :class:`CTCFrames` counts as blank: blank itself (0) and every whitespace character."""
    return np.array([0] + [index for char, index in vocabulary.items() if char.isspace()])


def ctc_log_likelihood(emissions: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Log-probability of label sequences under per-frame log-probabilities (forward algorithm).

    ``emissions`` is ``[B, T, S]``: for batch item ``b`` and frame ``t``, the log-probability
    of each state of its blank-extended label sequence (``blank, l1, blank, l2, ..., blank``,
    ``S = 2 L + 1`` padded to the longest). ``labels`` ``[B, S]`` holds the extended
    sequences (0 for blank; -1 in the padding); ``lengths`` ``[B]`` the unpadded ``S``.
    Returns ``[B]`` log-likelihoods (``-inf`` where no alignment exists).
    """
    batch, frames, states = emissions.shape
    if frames == 0:
        return np.where(lengths == 1, 0.0, -np.inf)
    # A state may be entered from two back (skipping a blank) only between different labels.
    skip = np.zeros((batch, states))
    skip[:, 2:] = (labels[:, 2:] != 0) & (labels[:, 2:] != labels[:, :-2])
    skip = skip[:, 2:]
    # Probabilities, renormalised every few frames (the scales summed in log space), are
    # several times faster than log-space sums and exact to rounding: between two
    # renormalisations the sum shrinks by at most _TINY ** _RESCALE_EVERY, far above
    # float64's smallest normal number.
    emitted = np.exp(emissions)
    alpha = np.zeros((batch, states))
    alpha[:, :2] = emitted[:, 0, :2]
    log_scale = np.zeros(batch)
    for t in range(1, frames):
        moved = alpha.copy()
        moved[:, 1:] += alpha[:, :-1]
        moved[:, 2:] += alpha[:, :-2] * skip
        moved *= emitted[:, t]
        alpha = moved
        if t % _RESCALE_EVERY == 0 or t == frames - 1:
            total = alpha.sum(axis=1)
            alive = total > 0.0
            alpha /= np.where(alive, total, 1.0)[:, None]
            with np.errstate(divide="ignore"):
                log_scale += np.log(total)
    rows = np.arange(batch)
    ending = alpha[rows, lengths - 1] + np.where(lengths > 1, alpha[rows, np.maximum(lengths - 2, 0)], 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(log_scale), np.log(ending) + log_scale, -np.inf)


@dataclasses.dataclass(frozen=True, eq=False)
class CTCFrames:
    """One crop's CTC output, sparse: blank exactly, the ``K`` best other classes, the rest spread.

    ``blank`` ``[T]``: log-probability of blank or whitespace per frame. ``keys`` /
    ``log_probs`` ``[T * K]``: the best non-blank, non-whitespace classes of each frame
    as ``t * num_classes + class``, sorted, and their log-probabilities. ``rest`` ``[T]``:
    log of the mean probability of every class not kept. ``vocabulary``: character ->
    class index (shared between the crops of one recogniser).
    """

    blank: np.ndarray
    keys: np.ndarray
    log_probs: np.ndarray
    rest: np.ndarray
    num_classes: int
    vocabulary: Mapping[str, int]

    @classmethod
    def from_probs(
        cls,
        probs: np.ndarray,
        vocabulary: Mapping[str, int],
        keep: int = KEPT_CLASSES,
        whitespace: np.ndarray | None = None,
    ) -> CTCFrames:
        """From a ``[T, C]`` softmax whose class 0 is blank.

        ``whitespace`` is :func:`whitespace_classes` of ``vocabulary``, for a caller that
        builds the frames of many crops: scanning a large alphabet costs more than the rest.
        """
        probs = np.asarray(probs)
        frames, classes = probs.shape
        if whitespace is None:
            whitespace = whitespace_classes(vocabulary)
        blank = probs[:, whitespace].astype(np.float64).sum(axis=1)
        keep = max(1, min(keep, classes - len(whitespace)))
        # The best keep + |whitespace| classes hold the best keep others, whatever whitespace does.
        wide = min(classes, keep + len(whitespace))
        candidates = np.argpartition(probs, classes - wide, axis=1)[:, classes - wide :]
        values = np.take_along_axis(probs, candidates, axis=1).astype(np.float64)
        values[np.isin(candidates, whitespace)] = -1.0
        order = np.argsort(-values, axis=1)[:, :keep]
        best, kept = np.take_along_axis(candidates, order, axis=1), np.take_along_axis(values, order, axis=1)
        remaining = np.clip(1.0 - blank - kept.sum(axis=1), 0.0, None)
        unkept = max(1, classes - len(whitespace) - keep)
        keys = (np.arange(frames)[:, None] * classes + best).ravel()
        sort = np.argsort(keys)
        return cls(
            blank=np.log(np.maximum(blank, _TINY)),
            keys=keys[sort],
            log_probs=np.log(np.maximum(kept.ravel()[sort], _TINY)),
            rest=np.log(np.maximum(remaining / unkept, _TINY)),
            num_classes=classes,
            vocabulary=vocabulary,
        )

    @property
    def frames(self) -> int:
        return int(self.blank.shape[0])

    def log_prob(self, frame: int, index: int) -> float:
        """Log-probability of class ``index`` (not blank) at ``frame``, as kept."""
        return float(self._lookup(np.array([[index]]))[frame, 0])

    def ranked(self, frame: int) -> list[tuple[int, float]]:
        """The kept classes of ``frame`` with their log-probabilities, most likely first."""
        start, end = np.searchsorted(self.keys, [frame * self.num_classes, (frame + 1) * self.num_classes])
        classes = self.keys[start:end] - frame * self.num_classes
        values = self.log_probs[start:end]
        order = np.argsort(-values, kind="stable")
        return [(int(classes[i]), float(values[i])) for i in order]

    def characters(self) -> dict[int, str]:
        """Class index -> character (blank and whitespace aside)."""
        return {index: char for char, index in self.vocabulary.items()}

    def best_path(self) -> list[tuple[int, str]]:
        """(frame, character) of every character greedy decoding emits, whitespace aside."""
        characters = self.characters()
        path: list[tuple[int, str]] = []
        previous = -1
        for t in range(self.frames):
            best, log_prob = self.ranked(t)[0]
            if log_prob <= self.blank[t]:
                previous = -1
                continue
            if best != previous:
                path.append((t, characters[best]))
            previous = best
        return path

    def labels(self, text: str) -> list[int] | None:
        """Class indices of ``text`` without whitespace; None when a character is outside the alphabet."""
        labels = []
        for char in text:
            if char.isspace():
                continue
            index = self.vocabulary.get(char)
            if index is None:
                index = self.vocabulary.get(unicodedata.normalize("NFKC", char))
            if index is None:
                return None
            labels.append(index)
        return labels

    def unknown_characters(self, text: str) -> str:
        """The characters of ``text`` this alphabet cannot produce (whitespace aside)."""
        return "".join(char for char in text if not char.isspace() and self.labels(char) is None)

    def log_likelihood(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts)]`` log-probabilities of each text given these frames; ``-inf`` when impossible."""
        encoded = [self.labels(text) for text in texts]
        result = np.full(len(texts), -np.inf)
        possible = [i for i, labels in enumerate(encoded) if labels is not None]
        if not possible:
            return result
        states = 2 * max(len(encoded[i]) for i in possible) + 1  # type: ignore[arg-type]
        extended = np.full((len(possible), states), -1, np.int64)
        lengths = np.empty(len(possible), np.int64)
        for row, i in enumerate(possible):
            labels = encoded[i]
            assert labels is not None
            extended[row, : 2 * len(labels) + 1] = 0
            extended[row, 1 : 2 * len(labels) : 2] = labels
            lengths[row] = 2 * len(labels) + 1
        emissions = self._lookup(extended.reshape(1, -1)).reshape(self.frames, len(possible), states)
        emissions = np.where(extended[None] == 0, self.blank[:, None, None], emissions)
        emissions = np.where(extended[None] < 0, -np.inf, emissions)
        result[possible] = ctc_log_likelihood(emissions.transpose(1, 0, 2), extended, lengths)
        return result

    def _lookup(self, labels: np.ndarray) -> np.ndarray:
        """``[T, N]`` log-probabilities of the ``N`` classes in ``labels`` ``[1, N]`` at every frame."""
        queries = np.arange(self.frames)[:, None] * self.num_classes + labels
        at = np.minimum(np.searchsorted(self.keys, queries), len(self.keys) - 1)
        found = self.keys[at] == queries
        return np.where(found, self.log_probs[at], self.rest[:, None])
