"""Text detection: a page image in, text regions (page-pixel polygons) in reading order out.

``PPOCRDetector`` runs PP-OCR's DB detector on onnxruntime; ``PaddleDetector`` wraps
PaddleOCR 3.x (an optional extra). Backends are imported on first use, so importing this
package loads neither onnxruntime nor paddleocr.
"""

from __future__ import annotations

from difftsr_ocr._lazy import lazy_exports
from difftsr_ocr.detect.base import Detector, TextRegion, sort_reading_order

__all__ = [
    "DBPostProcessor",
    "Detector",
    "PPOCRDetector",
    "PaddleDetector",
    "TextRegion",
    "sort_reading_order",
    "write_paddle_det_model_dir",
]

_HOMES = {
    "DBPostProcessor": "difftsr_ocr.detect.postprocess",
    "PPOCRDetector": "difftsr_ocr.detect.ppocr",
    "PaddleDetector": "difftsr_ocr.detect.paddle",
    "write_paddle_det_model_dir": "difftsr_ocr.detect.paddle",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
