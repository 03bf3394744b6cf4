"""Reading restored crops: at the original's size, and never again where the pixels came back unchanged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from difftsr_ocr.recognize.base import Recognition
from difftsr_ocr.recognize.restored import read_restored, resample


class _CountingRecognizer:
    """Reads each crop as its mean grey level; records every batch it is given."""

    name = "counting"

    def __init__(self) -> None:
        self.batches: list[list[np.ndarray]] = []

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        self.batches.append(list(crops))
        return [Recognition(f"{crop.mean():.1f}", 0.5) for crop in crops]


def _crop(seed: int, height: int = 24, width: int = 96) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_an_unchanged_restoration_is_not_read_again_and_reads_as_its_original() -> None:
    originals = [_crop(0), _crop(1), _crop(2)]
    restored = [originals[0].copy(), 255 - originals[1], originals[2].copy()]
    readings = [Recognition("first", 0.9), Recognition("second", 0.8), Recognition("third", 0.7)]
    recognizer = _CountingRecognizer()
    results = read_restored(recognizer, originals, restored, readings)
    assert len(recognizer.batches) == 1 and len(recognizer.batches[0]) == 1
    assert np.array_equal(recognizer.batches[0][0], restored[1])
    assert results[0] is readings[0] and results[2] is readings[2]
    assert results[1] == Recognition(f"{restored[1].mean():.1f}", 0.5)


def test_a_restoration_at_another_resolution_is_read_at_the_originals_size() -> None:
    original = _crop(3)
    bigger = resample(original, 4 * original.shape[1], 4 * original.shape[0])
    recognizer = _CountingRecognizer()
    read_restored(recognizer, [original], [bigger], [Recognition("x", 0.5)])
    assert recognizer.batches[0][0].shape == original.shape


def test_a_restoration_identical_only_after_resampling_back_counts_as_unchanged() -> None:
    original = np.full((20, 80, 3), 200, np.uint8)
    upscaled = np.full((80, 320, 3), 200, np.uint8)
    recognizer = _CountingRecognizer()
    (result,) = read_restored(recognizer, [original], [upscaled], [Recognition("plain", 0.4)])
    assert recognizer.batches == [] and result == Recognition("plain", 0.4)


def test_nothing_changed_calls_no_recogniser() -> None:
    recognizer = _CountingRecognizer()
    assert read_restored(recognizer, [], [], []) == []
    assert recognizer.batches == []


def test_lists_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 originals"):
        read_restored(_CountingRecognizer(), [_crop(0), _crop(1)], [_crop(0)], [Recognition("a", 1.0)])
