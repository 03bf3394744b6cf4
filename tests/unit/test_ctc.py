"""The CTC scorer against brute-force path enumeration, and what it does with whitespace and unknown text."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from difftsr_ocr.recognize.ctc import CTCFrames, vocabulary_index

CHARACTERS = ["", "a", "b", "c", " "]


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _brute_force(probs: np.ndarray, text: str) -> float:
    """Sum over every frame path that collapses to ``text`` (spaces counted as blank)."""
    total = 0.0
    for path in itertools.product(range(len(CHARACTERS)), repeat=len(probs)):
        collapsed, previous = [], None
        for index in path:
            label = 0 if CHARACTERS[index] == " " else index
            if label not in (0, previous):
                collapsed.append(CHARACTERS[label])
            previous = label
        if "".join(collapsed) == text:
            total += float(np.prod([probs[t, index] for t, index in enumerate(path)]))
    return total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_likelihood_is_the_sum_over_all_alignments(seed: int) -> None:
    probs = _softmax(np.random.default_rng(seed).normal(0, 2, (6, len(CHARACTERS))))
    frames = CTCFrames.from_probs(probs, vocabulary_index(CHARACTERS), keep=len(CHARACTERS))
    texts = ["", "a", "ab", "aa", "abc", "cab", "abab", "bbb"]
    scores = frames.log_likelihood(texts)
    for text, score in zip(texts, scores, strict=True):
        expected = _brute_force(probs, text)
        assert math.isclose(math.exp(score), expected, rel_tol=1e-5, abs_tol=1e-12), text


def test_whitespace_is_not_evidence() -> None:
    probs = _softmax(np.random.default_rng(3).normal(0, 2, (6, len(CHARACTERS))))
    frames = CTCFrames.from_probs(probs, vocabulary_index(CHARACTERS))
    with_space, without = frames.log_likelihood(["a b", "ab"])
    assert with_space == without


def test_impossible_texts() -> None:
    probs = _softmax(np.random.default_rng(4).normal(0, 2, (3, len(CHARACTERS))))
    frames = CTCFrames.from_probs(probs, vocabulary_index(CHARACTERS))
    outside, too_long, repeated = frames.log_likelihood(["az", "abca", "aaa"])
    assert outside == -np.inf and frames.unknown_characters("az b") == "z"
    assert too_long == -np.inf, "four labels cannot come out of three frames"
    assert repeated == -np.inf, "a repeat needs a blank between: aaa needs five frames"


def test_kept_classes_approximate_the_rest() -> None:
    # With 200 classes, keeping 8: texts over the kept classes score as with all of them.
    characters = [""] + [chr(0x4E00 + i) for i in range(199)]
    logits = np.random.default_rng(5).normal(0, 1, (20, 200))
    logits[:, 0] += 7.0
    logits[np.arange(2, 20, 4), np.arange(1, 6)] += 9.0
    probs = _softmax(logits)
    vocabulary = vocabulary_index(characters)
    exact = CTCFrames.from_probs(probs, vocabulary, keep=199).log_likelihood(["一丁丂七丄"])
    sparse = CTCFrames.from_probs(probs, vocabulary, keep=8).log_likelihood(["一丁丂七丄"])
    assert abs(exact[0] - sparse[0]) < 0.05


def test_frames_built_with_the_whitespace_classes_given_equal_those_built_without() -> None:
    from difftsr_ocr.recognize.ctc import whitespace_classes

    probs = _softmax(np.random.default_rng(5).normal(0, 2, (7, len(CHARACTERS))))
    vocabulary = vocabulary_index(CHARACTERS)
    assert whitespace_classes(vocabulary).tolist() == [0, 4]
    given = CTCFrames.from_probs(probs, vocabulary, keep=2, whitespace=whitespace_classes(vocabulary))
    found = CTCFrames.from_probs(probs, vocabulary, keep=2)
    for field in ("blank", "keys", "log_probs", "rest"):
        assert np.array_equal(getattr(given, field), getattr(found, field)), field
