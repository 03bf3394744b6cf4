"""Does a restoration explain the original pixels? The trust gate's pixel-level witness.

A faithful restoration, degraded again, looks like the original crop. We fit the
degradation that best maps the restored crop onto the original one: a small linear
filter (blur, motion blur, sub-pixel shift, contrast, colour inversion) followed by a
smooth tone curve, least squares over several glyphs at a time. Those pin the fit
down, so what it cannot explain shows where the two disagree locally: a glyph the
restorer drew differently from the one the original shows leaves a blob of residual the
size of a stroke, while noise, JPEG blocks and a slightly wrong blur leave residual
spread evenly along the text. A long line is fitted in overlapping pieces a few glyphs
long, cross-faded: the degradation of a rectified bent line changes along it (a motion
blur on the page turns with the text), and one filter for the whole line cannot follow.

:func:`inconsistency` is the strongest half-glyph window of low-pass residual over the
median window along the text: about 1.5-2.5 for a faithful restoration, far more for
one with a swapped character. It needs no recogniser and no alphabet, so it also sees a
lie the recogniser cannot tell from the truth (a diacritic, a case change, a stroke).

numpy and OpenCV only, like the geometry: the gate runs it on the crops it already has.
The fits are solved on one BLAS thread: a few dozen unknowns, on which BLAS threads only
spin (on a busy machine, 200 ms of wall time for a 14 ms solve), and one thread gives
what a one-core machine gives.
"""

from __future__ import annotations

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["inconsistency"]

# Both crops are compared at this height (whatever their resolution): enough for the
# strokes of a 1-2 character difference, small enough that the fit is cheap.
COMPARE_HEIGHT = 40
# Side of the fitted degradation filter at COMPARE_HEIGHT: blur and shifts up to 4 px,
# a tenth of the line height. A 7 px filter at 32 px could not hold a 13 px motion blur
# on a 50 px line, and a faithful restoration of such a line looked inconsistent
# (benchmarks/gate_calibration.py; README, "What the trust gate lets through").
_FILTER = 9
# Residual is low-passed at about a stroke's width before it is summed per column, so
# white noise averages out and a glyph-sized difference stays.
_RESIDUAL_SIGMA = 1.0
# The window the residual is summed over: about a third of a glyph.
_WINDOW_SHARE = 0.35
# Residual below about one grey level is no disagreement at all: the typical window is
# taken as at least this, so a restoration that explains the crop exactly scores ~1.
_NOISE_FLOOR = 1.0 / 255.0
# Columns whose fitted signal is below this share of the median are gaps between words:
# the median window is taken over text only.
_TEXT_SHARE = 0.2
# Length of the pieces a long line is fitted in, in line heights (about four glyphs),
# overlapping by half. Four heights still pin the 82 unknowns down with thousands of
# pixels, so a swapped glyph cannot be fitted away, and follow the blur of a bent line
# under motion blur (Blatch→Batch: 5.5 with one filter, under the bar with pieces); six
# heights were too long (benchmarks/gate_calibration.py).
_PIECE_HEIGHTS = 4


def _gray(crop: np.ndarray, width: int, height: int) -> np.ndarray:
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    shrinking = gray.shape[0] >= height
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC).astype(
        np.float64
    )


def _least_squares(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights minimising |design @ w - target|, by the normal equations (a whisker of ridge keeps flat crops solvable)."""
    gram = design.T @ design
    gram[np.diag_indices_from(gram)] += 1e-6 * (np.trace(gram) / len(gram) + 1.0)
    return np.linalg.solve(gram, design.T @ target)


def _fit_piece(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The best filtered-and-tone-mapped restoration of ``target``, given the shifted restored pixels as ``design``."""
    filtered = design @ _least_squares(design, target)
    # A cubic tone curve on the filtered image: degradations compress and shift contrast
    # non-linearly (JPEG, gamma, saturation), and a restorer repaints colours.
    level = (filtered - filtered.mean()) / (filtered.std() + 1e-9)
    tones = np.stack([np.ones_like(level), level, level**2, level**3], axis=1)
    return tones @ _least_squares(tones, target)


def _pieces(width: int, piece: int) -> tuple[int, list[int]]:
    """(length, starts) of pieces ``piece`` wide overlapping by half and covering ``width``; one piece if short."""
    if width <= piece * 3 // 2:
        return width, [0]
    starts = list(range(0, width - piece + 1, piece // 2))
    if starts[-1] != width - piece:
        starts.append(width - piece)
    return piece, starts


def _fit_degradation(original: np.ndarray, restored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(residual, fitted): ``original`` minus the best filtered-and-tone-mapped ``restored``, piece by piece."""
    height, width = original.shape
    margin = _FILTER // 2
    padded = np.pad(restored, margin, mode="edge")
    # Column-major pixel order, so that a piece (a range of columns) is a block of rows.
    shifted = [
        padded[dy : dy + height, dx : dx + width].ravel(order="F") for dy in range(_FILTER) for dx in range(_FILTER)
    ]
    design = np.stack([*shifted, np.ones(height * width)], axis=1)
    target = original.ravel(order="F")
    length, starts = _pieces(width, _PIECE_HEIGHTS * height)
    # Pieces are cross-faded with a raised cosine, which never reaches zero inside a
    # piece, so the line's ends (covered by one piece) keep that piece's fit.
    fade = np.hanning(length + 2)[1:-1]
    fitted = np.zeros(width * height)
    weight = np.zeros(width)
    for start in starts:
        rows = slice(start * height, (start + length) * height)
        fitted[rows] += _fit_piece(design[rows], target[rows]) * np.repeat(fade, height)
        weight[start : start + length] += fade
    fitted = (fitted.reshape(width, height) / weight[:, None]).T
    return original - fitted, fitted


def inconsistency(original: np.ndarray, restored: np.ndarray) -> float:
    """How much more the worst part of ``restored`` disagrees with ``original`` than its typical part.

    ``original`` and ``restored`` are H x W x 3 uint8 RGB crops of the same line, at any
    resolutions (the restored one is compared at the original's aspect). Returns the
    ratio of the strongest residual window to the median window over the text, that
    median taken as at least a residual of one grey level (>= 1).
    """
    height = COMPARE_HEIGHT
    width = max(_FILTER + 2, round(original.shape[1] * height / original.shape[0]))
    with threadpool_limits(1, user_api="blas"):
        residual, fitted = _fit_degradation(_gray(original, width, height), _gray(restored, width, height))
    # The fit's borders see padding, not pixels.
    margin = _FILTER // 2
    residual, fitted = residual[margin:-margin, margin:-margin], fitted[margin:-margin, margin:-margin]
    window = np.ones(max(2, int(height * _WINDOW_SHARE)))
    smoothed = cv2.GaussianBlur(residual, (0, 0), _RESIDUAL_SIGMA)
    energy = np.convolve((smoothed**2).sum(axis=0), window, mode="same")
    signal = np.convolve(((fitted - fitted.mean()) ** 2).sum(axis=0), window, mode="same")
    inked = signal[signal > 0]
    text = signal > _TEXT_SHARE * np.median(inked) if inked.size else np.ones_like(signal, dtype=bool)
    floor = _NOISE_FLOOR**2 * residual.shape[0] * window.size
    typical = max(float(np.median(energy[text])) if text.any() else 0.0, floor)
    return max(1.0, float(energy.max() / typical))
