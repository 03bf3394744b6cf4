"""Text recognition: upright line crops in, one (text, confidence) reading per crop out.

``PPOCRRecognizer`` runs PP-OCR's CTC recogniser on onnxruntime; ``PaddleRecognizer``
wraps PaddleOCR 3.x (an optional extra). Backends are imported on first use.
"""

from __future__ import annotations

from difftsr_ocr._lazy import lazy_exports
from difftsr_ocr.recognize.base import Recognition, Recognizer

__all__ = [
    "PPOCRRecognizer",
    "PaddleRecognizer",
    "Recognition",
    "Recognizer",
    "write_paddle_rec_model_dir",
]

_HOMES = {
    "PPOCRRecognizer": "difftsr_ocr.recognize.ppocr",
    "PaddleRecognizer": "difftsr_ocr.recognize.paddle",
    "write_paddle_rec_model_dir": "difftsr_ocr.recognize.paddle",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
