"""PP-OCR text detection (DB) on ONNX Runtime: pre-process, model, post-process.

The default model is ``PP-OCRv6_det_small.onnx`` from the rapidocr wheel; the
pre-processing matches what rapidocr 3.10 feeds it (BGR, resized to multiples of 32,
``(x / 255 - 0.5) / 0.5``), so the boxes are the ones rapidocr finds. With
``box_type="poly"`` (the default) curved lines come as polygons that follow them
instead (see :mod:`.postprocess`); straight lines keep rapidocr's quads either way.
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from difftsr_ocr.detect.base import BOX_TYPES, TextRegion, check_page_image, sort_reading_order
from difftsr_ocr.detect.postprocess import DBPostProcessor
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.runtime.onnx import create_session, resolve_model_path

__all__ = ["DEFAULT_DET_MODEL", "PPOCRDetector", "resize_for_detection"]

logger = logging.getLogger(__name__)

DEFAULT_DET_MODEL = "PP-OCRv6_det_small.onnx"

# The network downsamples by 32, so both input sides must be multiples of it.
_STRIDE = 32
# rapidocr's config.yaml (Det.mean/std): the v6 detector is trained on [-1, 1] inputs.
_MEAN = 0.5
_STD = 0.5
_LIMIT_TYPES = ("min", "max")


def resize_for_detection(
    height: int, width: int, limit_side_len: int, limit_type: str, max_side_len: int
) -> tuple[int, int]:
    """The network input size (h, w) for a page: PP-OCR's limit rule, then a cap, on the 32 grid.

    ``limit_type="min"`` scales up until the short side reaches ``limit_side_len`` (small
    text stays legible to the model); ``"max"`` scales down until the long side fits.
    ``max_side_len`` then bounds the long side, so a huge scan costs a bounded amount of
    memory (rapidocr caps its input at 2000 px the same way).
    """
    if limit_type == "min":
        ratio = limit_side_len / min(height, width) if min(height, width) < limit_side_len else 1.0
    else:
        ratio = limit_side_len / max(height, width) if max(height, width) > limit_side_len else 1.0
    if max(height, width) * ratio > max_side_len:
        ratio = max_side_len / max(height, width)
    # Truncate then round to the grid, as PP-OCR does; never below one cell.
    new_h = max(_STRIDE, round(int(height * ratio) / _STRIDE) * _STRIDE)
    new_w = max(_STRIDE, round(int(width * ratio) / _STRIDE) * _STRIDE)
    return new_h, new_w


class PPOCRDetector:
    """PP-OCR DB text detector: page (H x W x 3 uint8 RGB) -> quads and curved-line polygons in reading order."""

    name = "ppocr"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        limit_side_len: int = 736,
        limit_type: str = "min",
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
        max_candidates: int = 1000,
        threads: int | None = None,
        device: str = "cpu",
        max_side_len: int = 2000,
        box_type: str = "poly",
    ) -> None:
        if box_type not in BOX_TYPES:
            raise ConfigError(f"box_type={box_type!r} is not one of {', '.join(BOX_TYPES)}")
        if limit_type not in _LIMIT_TYPES:
            raise ConfigError(f"limit_type={limit_type!r} is not one of {', '.join(_LIMIT_TYPES)}")
        for key, value in (("limit_side_len", limit_side_len), ("max_side_len", max_side_len)):
            if isinstance(value, bool) or not isinstance(value, int) or value < _STRIDE:
                raise ConfigError(f"{key}={value!r} must be an integer of at least {_STRIDE} pixels")
        for key, value in (("thresh", thresh), ("box_thresh", box_thresh)):
            if not 0.0 < _number(key, value) < 1.0:
                raise ConfigError(f"{key}={value!r} must lie strictly between 0 and 1")
        if not _number("unclip_ratio", unclip_ratio) > 0.0:
            raise ConfigError(f"unclip_ratio={unclip_ratio!r} must be positive (PP-OCR uses 1.5-2.0)")
        if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or max_candidates < 1:
            raise ConfigError(f"max_candidates={max_candidates!r} must be a positive integer")

        self.model_path = resolve_model_path(model_path, DEFAULT_DET_MODEL)
        self.limit_side_len = limit_side_len
        self.limit_type = limit_type
        self.max_side_len = max_side_len
        self.postprocess = DBPostProcessor(
            thresh=float(thresh),
            box_thresh=float(box_thresh),
            max_candidates=max_candidates,
            unclip_ratio=float(unclip_ratio),
            box_type=box_type,
        )
        self.session = create_session(self.model_path, threads=threads, device=device)
        self._input_name = self.session.get_inputs()[0].name

    def detect(self, image: np.ndarray) -> list[TextRegion]:
        """Text regions on ``image`` (H x W x 3 uint8 RGB), top-to-bottom then left-to-right."""
        page = check_page_image(image, f"{type(self).__name__}.detect")
        height, width = page.shape[:2]
        net_h, net_w = resize_for_detection(height, width, self.limit_side_len, self.limit_type, self.max_side_len)
        batch = _normalise(cv2.resize(page, (net_w, net_h)))
        prob = self.session.run(None, {self._input_name: batch})[0]
        polygons, scores = self.postprocess(prob[0, 0], (height, width), page)
        logger.debug(
            "detected %d regions on a %dx%d page (net input %dx%d)", len(polygons), width, height, net_w, net_h
        )
        regions = [TextRegion(polygon=p, score=float(score)) for p, score in zip(polygons, scores, strict=True)]
        return sort_reading_order(regions)


def _number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}={value!r} must be a number")
    return float(value)


def _normalise(rgb: np.ndarray) -> np.ndarray:
    # PP-OCR models are trained on OpenCV-decoded (BGR) images.
    bgr = rgb[:, :, ::-1].astype(np.float32)
    chw = ((bgr / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)
    return np.ascontiguousarray(chw[None])
