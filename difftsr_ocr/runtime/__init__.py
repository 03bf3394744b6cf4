"""What the detection and recognition stages both run on, so that neither imports the other.

:mod:`.onnx` opens ONNX Runtime sessions on exactly the device asked for and finds the
PP-OCR model files; :mod:`.paddle` holds the plumbing of the optional PaddleOCR backend
(its import, device spelling, engine settings and model folders). Nothing here imports
torch, and importing this package loads neither onnxruntime nor paddleocr.
"""

from __future__ import annotations

__all__: list[str] = []
