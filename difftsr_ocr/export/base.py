"""What every exporter shares: the error it raises, and XML-safe text.

Exporters are pure functions of a :class:`~difftsr_ocr.results.Document`; nothing here
touches files, so the command line decides where output goes.
"""

from __future__ import annotations

import math
import re

from difftsr_ocr.errors import ExportError
from difftsr_ocr.results import Document

__all__ = ["ExportError", "require_pages", "unit_interval", "xml_text"]

# XML 1.0 forbids these code points outright (even as character references), so a
# stray control character from a recogniser or a hand-edited file would make the
# whole hOCR/ALTO file unreadable; dropping them is the only lossless-enough option.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


def unit_interval(value: float) -> float:
    """``value`` clipped to 0..1, with NaN read as 0 (formats reject out-of-range confidences)."""
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else (1.0 if value > 0 else 0.0)


def require_pages(doc: Document, format_name: str) -> None:
    """Refuse a document without pages: hOCR and ALTO both require at least one page element."""
    if not doc.pages:
        raise ExportError(f"cannot write {format_name} for a document with no pages ({format_name} needs one page)")
