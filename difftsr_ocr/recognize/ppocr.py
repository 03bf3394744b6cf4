"""PP-OCR text recognition (SVTR + CTC) on ONNX Runtime.

The default model is ``PP-OCRv6_rec_small.onnx`` from the rapidocr wheel: one
multilingual model (Chinese, English, Japanese, Latin scripts). Its alphabet is stored
in the ONNX metadata (``character``, one entry per line); CTC adds a blank in front and
a space at the end. Crops are fed as PP-OCR feeds them: BGR, height 48, aspect kept,
padded on the right to the widest crop of the batch (at least 320 px), ``(x/255-0.5)/0.5``,
after :func:`.base.trim_frame`. Each reading carries its crop's CTC frames (the padding's
frames cut off) for the trust gate's evidence.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import cast

import cv2
import numpy as np

from difftsr_ocr.errors import ConfigError, WeightsError
from difftsr_ocr.recognize.base import Recognition, check_crops, trim_frame
from difftsr_ocr.recognize.ctc import CTCFrames, vocabulary_index, whitespace_classes
from difftsr_ocr.runtime.onnx import create_session, resolve_model_path

__all__ = ["DEFAULT_REC_MODEL", "PPOCRRecognizer", "ctc_greedy_decode", "load_character_list"]

logger = logging.getLogger(__name__)

DEFAULT_REC_MODEL = "PP-OCRv6_rec_small.onnx"

# rapidocr's Rec.rec_img_shape [3, 48, 320]: the height the model was trained at, and
# the narrowest input (shorter lines are padded to it, as in training).
_HEIGHT = 48
_MIN_WIDTH = 320
_MEAN = 0.5
_STD = 0.5
_METADATA_KEY = "character"


def load_character_list(session: object, model_path: os.PathLike[str] | str) -> list[str]:
    """The CTC vocabulary of a PP-OCR ONNX recogniser: blank, the stored alphabet, space."""
    metadata = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    if _METADATA_KEY not in metadata:
        raise WeightsError(
            f"{model_path} has no '{_METADATA_KEY}' metadata (its alphabet): use a PP-OCR ONNX recogniser"
            " exported with its dictionary, such as rapidocr's PP-OCRv6_rec_small.onnx"
        )
    # Split on "\n" only: str.splitlines() would also cut at U+2028 and friends, which
    # are legitimate alphabet entries in some dictionaries.
    return ["", *metadata[_METADATA_KEY].split("\n"), " "]


def ctc_greedy_decode(
    probs: np.ndarray,
    characters: Sequence[str],
    frames: Sequence[int] | None = None,
    vocabulary: dict[str, int] | None = None,
) -> list[Recognition]:
    """Best-path CTC decoding of ``probs`` ``[B, T, C]``: merge repeats, drop blanks (index 0).

    Confidence is the mean of the kept characters' probabilities (0 for an empty line).
    ``frames`` gives each item's real frame count (the rest is batch padding); with a
    ``vocabulary`` (see :func:`.ctc.vocabulary_index`) each reading carries its frames.
    """
    if probs.ndim != 3 or probs.shape[2] != len(characters):
        raise ValueError(f"expected probabilities [B, T, {len(characters)}], got {probs.shape}")
    counts = [probs.shape[1]] * len(probs) if frames is None else list(frames)
    whitespace = whitespace_classes(vocabulary) if vocabulary is not None else None
    results = []
    for padded, count in zip(probs, counts, strict=True):
        item = padded[:count]
        indices, values = item.argmax(axis=1), item.max(axis=1)
        keep = indices != 0
        keep[1:] &= indices[1:] != indices[:-1]
        text = "".join(characters[index] for index in indices[keep])
        confidence = float(values[keep].mean()) if keep.any() else 0.0
        evidence = CTCFrames.from_probs(item, vocabulary, whitespace=whitespace) if vocabulary is not None else None
        results.append(Recognition(text=text, confidence=confidence, frames=evidence))
    return results


class PPOCRRecognizer:
    """PP-OCR CTC recogniser: upright line crops (H x W x 3 uint8 RGB) -> text."""

    name = "ppocr"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        batch_size: int = 8,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size={batch_size!r} must be a positive integer")
        self.model_path = resolve_model_path(model_path, DEFAULT_REC_MODEL)
        self.batch_size = batch_size
        self.session = create_session(self.model_path, threads=threads, device=device)
        self.characters = load_character_list(self.session, self.model_path)
        self.vocabulary = vocabulary_index(self.characters)
        classes = self.session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.characters):
            raise WeightsError(
                f"{self.model_path} predicts {classes} classes but its alphabet gives {len(self.characters)}"
                " (with blank and space): the model and its metadata do not belong together"
            )
        self._input_name = self.session.get_inputs()[0].name

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One reading per crop, in the order given."""
        checked = [trim_frame(crop) for crop in check_crops(crops, f"{type(self).__name__}.recognize")]
        # Batching crops of similar aspect wastes the least padding (PP-OCR does the same).
        order = sorted(range(len(checked)), key=lambda i: checked[i].shape[1] / checked[i].shape[0])
        results: list[Recognition | None] = [None] * len(checked)
        for start in range(0, len(order), self.batch_size):
            members = order[start : start + self.batch_size]
            batch, widths = _prepare_batch([checked[i] for i in members])
            probs = self.session.run(None, {self._input_name: batch})[0]
            # The model strides evenly over the width: frames past a crop's own width read padding.
            frames = [max(1, math.ceil(probs.shape[1] * width / batch.shape[3])) for width in widths]
            decoded = ctc_greedy_decode(probs, self.characters, frames, self.vocabulary)
            for index, reading in zip(members, decoded, strict=True):
                results[index] = reading
        logger.debug("recognised %d crops in batches of %d", len(checked), self.batch_size)
        return cast("list[Recognition]", results)


def _prepare_batch(crops: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Crops resized to height 48 and padded (with 0 after normalising) to a common width; their own widths."""
    max_ratio = max(_MIN_WIDTH / _HEIGHT, *(crop.shape[1] / crop.shape[0] for crop in crops))
    width = int(_HEIGHT * max_ratio)
    batch = np.zeros((len(crops), 3, _HEIGHT, width), dtype=np.float32)
    widths = []
    for slot, crop in enumerate(crops):
        resized_w = min(width, math.ceil(_HEIGHT * crop.shape[1] / crop.shape[0]))
        # PP-OCR models are trained on OpenCV-decoded (BGR) images.
        resized = cv2.resize(crop, (resized_w, _HEIGHT))[:, :, ::-1].astype(np.float32)
        batch[slot, :, :, :resized_w] = ((resized / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)
        widths.append(resized_w)
    return batch, widths
