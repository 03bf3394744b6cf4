"""PaddleOCR 3.x text detection as a :class:`Detector`, fully offline.

PaddleOCR's ``TextDetection`` runs ONNX files through its own onnxruntime engine
(``engine="onnxruntime"``; the ``paddle`` framework is never imported). It reads a
model folder holding ``inference.onnx`` and ``inference.yml``, and the yml's
``Global.model_name`` must be one of its official names. :func:`write_paddle_det_model_dir`
builds such a folder around rapidocr's bundled PP-OCRv6 detector, with rapidocr's
settings (mean/std 0.5, dilation on), so both backends find the same boxes. With
``box_type="poly"`` in the folder (PaddleOCR's polygon output) each outline becomes a
quad when its line is straight and a bent line polygon otherwise
(:func:`~difftsr_ocr.geometry.curves.region_from_outline`)::

    model_dir = write_paddle_det_model_dir("models/paddle_det")
    detector = PaddleDetector(model_dir)

paddleocr is imported only when a backend is built (``pip install "difftsr-ocr[paddle]"``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from difftsr_ocr.detect.base import BOX_TYPES, TextRegion, check_page_image, sort_reading_order
from difftsr_ocr.detect.ppocr import DEFAULT_DET_MODEL
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.geometry.curves import region_from_outline, valid_outline
from difftsr_ocr.runtime.onnx import resolve_model_path
from difftsr_ocr.runtime.paddle import (
    CONFIG_FILE,
    check_paddle_model_dir,
    import_paddleocr,
    paddle_device,
    paddle_engine_config,
    place_onnx_model,
)

__all__ = ["DEFAULT_PADDLE_DET_MODEL_NAME", "PaddleDetector", "regions_from_paddle", "write_paddle_det_model_dir"]

logger = logging.getLogger(__name__)

# PaddleOCR's official name for the architecture of rapidocr's PP-OCRv6_det_small.onnx.
DEFAULT_PADDLE_DET_MODEL_NAME = "PP-OCRv6_small_det"


def write_paddle_det_model_dir(
    target_dir: str | os.PathLike[str],
    onnx_path: str | os.PathLike[str] | None = None,
    model_name: str = DEFAULT_PADDLE_DET_MODEL_NAME,
    thresh: float = 0.3,
    box_thresh: float = 0.5,
    max_candidates: int = 1000,
    unclip_ratio: float = 1.6,
    link: bool = True,
    box_type: str = "quad",
) -> Path:
    """Write a PaddleOCR detection model folder around a PP-OCR ONNX detector; returns the folder.

    ``onnx_path`` defaults to rapidocr's bundled ``PP-OCRv6_det_small.onnx``. The resize
    limits in the yml are ignored by PaddleOCR: :class:`PaddleDetector` passes its own.
    ``box_type`` is PaddleOCR's DB ``box_type``: "quad" rectangles (what PaddleOCR's own
    OCR pipeline expects: its box sorting takes quads only) or "poly" contours (for
    :class:`PaddleDetector`, which turns them into quads or bent-line polygons).
    """
    if box_type not in BOX_TYPES:
        raise ConfigError(f"box_type={box_type!r} is not one of {', '.join(BOX_TYPES)}")
    source = resolve_model_path(onnx_path, DEFAULT_DET_MODEL)
    folder = Path(target_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    place_onnx_model(source, folder, link)
    config = {
        "Global": {"model_name": model_name},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetLabelEncode": None},
                {"DetResizeForTest": {"limit_side_len": 736, "limit_type": "min"}},
                # rapidocr's Det.mean/std for the v6 detector (not ImageNet's).
                {
                    "NormalizeImage": {
                        "mean": [0.5, 0.5, 0.5],
                        "std": [0.5, 0.5, 0.5],
                        "scale": "1./255.",
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": thresh,
            "box_thresh": box_thresh,
            "max_candidates": max_candidates,
            "unclip_ratio": unclip_ratio,
            "use_dilation": True,
            # PaddleOCR scores contours inside the contour itself ("slow"); rectangles inside the box.
            "score_mode": "slow" if box_type == "poly" else "fast",
            "box_type": box_type,
        },
    }
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    logger.info("wrote PaddleOCR detection model folder %s (model %s)", folder, source)
    return folder


class PaddleDetector:
    """PaddleOCR ``TextDetection`` on a local model folder: page -> quads and bent-line polygons in reading order."""

    name = "paddle"

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        model_name: str = DEFAULT_PADDLE_DET_MODEL_NAME,
        limit_side_len: int = 736,
        limit_type: str = "min",
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
        max_side_len: int = 2000,
        threads: int | None = None,
        device: str = "cpu",
        box_type: str = "poly",
    ) -> None:
        if box_type not in BOX_TYPES:
            raise ConfigError(f"box_type={box_type!r} is not one of {', '.join(BOX_TYPES)}")
        self.box_type = box_type
        if limit_type not in ("min", "max"):
            raise ConfigError(f"limit_type={limit_type!r} is not one of min, max")
        self.model_dir = check_paddle_model_dir(model_dir, model_name, "detect.paddle.write_paddle_det_model_dir")
        self.max_side_len = max_side_len
        paddleocr = import_paddleocr()
        self._predictor = paddleocr.TextDetection(
            model_name=model_name,
            model_dir=str(self.model_dir),
            engine="onnxruntime",
            engine_config=paddle_engine_config(threads),
            device=paddle_device(device),
            limit_side_len=limit_side_len,
            limit_type=limit_type,
            thresh=thresh,
            box_thresh=box_thresh,
            unclip_ratio=unclip_ratio,
        )

    def detect(self, image: np.ndarray) -> list[TextRegion]:
        """Text regions on ``image`` (H x W x 3 uint8 RGB), top-to-bottom then left-to-right."""
        page = check_page_image(image, f"{type(self).__name__}.detect")
        # PaddleOCR takes arrays as OpenCV's BGR.
        bgr = np.ascontiguousarray(page[:, :, ::-1])
        (result,) = self._predictor.predict(bgr, max_side_limit=self.max_side_len)
        regions = regions_from_paddle(result["dt_polys"], result["dt_scores"], page, bend=self.box_type == "poly")
        return sort_reading_order(regions)


def regions_from_paddle(
    polygons: Sequence[object], scores: Sequence[float], page: np.ndarray, *, bend: bool = True
) -> list[TextRegion]:
    """PaddleOCR's ``dt_polys`` (quads, or contours of any length with ``box_type: poly``) as regions.

    Quads are kept; a contour becomes its quad when its line is straight (or ``bend`` is
    False) and a bent line polygon otherwise; an outline with no area is dropped.
    """
    regions = []
    for points, score in zip(polygons, scores, strict=True):
        outline = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        polygon = outline if len(outline) == 4 else region_from_outline(outline, page, bend=bend)
        if polygon is None or valid_outline(polygon) is None:
            logger.debug("dropped a PaddleOCR region without area: %s", outline.tolist())
            continue
        regions.append(TextRegion(polygon=polygon, score=float(score)))
    return regions
