"""Text recognition: upright line crops in, one (text, confidence) reading per crop out.

``PPOCRRecognizer`` runs PP-OCR's CTC recogniser on onnxruntime; ``PaddleRecognizer``
wraps PaddleOCR 3.x (an optional extra). Backends are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'difftsr_ocr.recognize' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
