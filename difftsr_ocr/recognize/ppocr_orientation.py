"""PP-OCR's 0/180 degree text-direction classifier on ONNX Runtime.

The default model is ``ch_ppocr_mobile_v2.0_cls_mobile.onnx`` from the rapidocr wheel.
It is fed as rapidocr feeds it (its ``Cls`` settings): BGR, height 48, aspect kept up to
192 px wide and padded on the right, ``(x / 255 - 0.5) / 0.5``; it answers the
probabilities of the labels "0" and "180". A line much wider than 4:1 would be squeezed
into those 192 px, so it is read in overlapping pieces of that shape and their log-odds
are summed.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import cv2
import numpy as np

from difftsr_ocr.errors import ConfigError, WeightsError
from difftsr_ocr.recognize.base import check_crops
from difftsr_ocr.runtime.onnx import create_session, resolve_model_path

__all__ = ["DEFAULT_CLS_MODEL", "PPOCROrientationClassifier"]

logger = logging.getLogger(__name__)

DEFAULT_CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"

# rapidocr's Cls.cls_image_shape [3, 48, 192] for this model, and its mean/std.
_HEIGHT = 48
_WIDTH = 192
_MEAN = 0.5
_STD = 0.5
# Label order of the model's two outputs (rapidocr's Cls.label_list ["0", "180"]).
_UPSIDE_DOWN = 1
# Log-odds of one piece are capped: one confident piece must not outvote the rest of the line.
_MAX_PIECE_LOG_ODDS = 6.0


class PPOCROrientationClassifier:
    """PP-OCR's text-direction classifier (0 or 180 degrees) on ONNX Runtime."""

    name = "ppocr_cls"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        batch_size: int = 16,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size={batch_size!r} must be a positive integer")
        self.model_path = resolve_model_path(model_path, DEFAULT_CLS_MODEL)
        self.batch_size = batch_size
        self.session = create_session(self.model_path, threads=threads, device=device)
        classes = self.session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != 2:
            raise WeightsError(
                f"{self.model_path} predicts {classes} classes, not 2 (0 and 180 degrees):"
                f" use a PP-OCR text-direction classifier such as rapidocr's {DEFAULT_CLS_MODEL}"
            )
        self._input_name = self.session.get_inputs()[0].name

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """The probability that each crop's text is turned 180 degrees, in the order given."""
        checked = check_crops(crops, f"{type(self).__name__}.upside_down")
        pieces: list[np.ndarray] = []
        owners: list[int] = []
        for index, crop in enumerate(checked):
            for piece in _pieces(crop):
                pieces.append(piece)
                owners.append(index)
        log_odds = np.zeros(len(checked))
        for start in range(0, len(pieces), self.batch_size):
            batch = np.stack([_normalise(piece) for piece in pieces[start : start + self.batch_size]])
            probs = self.session.run(None, {self._input_name: batch})[0]
            p = np.clip(probs[:, _UPSIDE_DOWN].astype(np.float64), 1e-6, 1.0 - 1e-6)
            odds = np.clip(np.log(p) - np.log1p(-p), -_MAX_PIECE_LOG_ODDS, _MAX_PIECE_LOG_ODDS)
            np.add.at(log_odds, owners[start : start + self.batch_size], odds)
        logger.debug("classified the orientation of %d crops (%d pieces)", len(checked), len(pieces))
        return [float(1.0 / (1.0 + math.exp(-value))) for value in log_odds]


def _pieces(crop: np.ndarray) -> list[np.ndarray]:
    """The crop cut into pieces of at most the model's 4:1 shape, overlapping so that every glyph is seen whole."""
    height, width = crop.shape[:2]
    piece_width = max(1, round(height * _WIDTH / _HEIGHT))
    if width <= piece_width * 1.25:
        return [crop]
    count = math.ceil(width / piece_width) + 1
    starts = np.linspace(0, width - piece_width, count).round().astype(int)
    return [crop[:, start : start + piece_width] for start in starts]


def _normalise(crop: np.ndarray) -> np.ndarray:
    """One crop as the model's ``3 x 48 x 192`` input: resized to height 48, padded with zeros on the right."""
    height, width = crop.shape[:2]
    resized_w = min(_WIDTH, math.ceil(_HEIGHT * width / height))
    # PP-OCR models are trained on OpenCV-decoded (BGR) images.
    resized = cv2.resize(crop, (resized_w, _HEIGHT))[:, :, ::-1].astype(np.float32)
    out = np.zeros((3, _HEIGHT, _WIDTH), dtype=np.float32)
    out[:, :, :resized_w] = ((resized / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)
    return out
