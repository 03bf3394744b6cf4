"""Plug-ins for other OCR tools; each module imports its tool, so import the one you use.

``difftsr_ocr.integrations.ocrmypdf``: the OCRmyPDF plug-in (``pip install ocrmypdf``).
"""

from __future__ import annotations

__all__: list[str] = []
