"""Exporters: pure functions from a :class:`~difftsr_ocr.results.Document` to files' contents.

* :func:`document_to_json` / :func:`document_from_json`: the lossless results file.
* :func:`document_to_hocr`: hOCR 1.2 (XHTML), for OCRmyPDF, hocr-tools and viewers.
* :func:`document_to_alto` / :func:`page_to_alto`: ALTO 4.4, for libraries and archives.
* :func:`document_to_text`: plain text, one output line per detected line.
* :func:`before_after_preview` / :func:`disagreement_report`: a picture and HTML for people.

Each document format comes in pieces too, a page at a time (:func:`json_chunks`,
:func:`hocr_chunks`, :func:`alto_chunks`, :func:`text_chunks`, :func:`report_chunks`;
hOCR and ALTO take the :func:`outline` of the pages first): joined, the same text, so a
long document is written without holding all its pages.

Nothing here writes files or imports torch. Names are imported lazily so that asking
for the text exporter does not load OpenCV.
"""

from __future__ import annotations

from difftsr_ocr._lazy import lazy_exports

__all__ = [
    "ExportError",
    "Outline",
    "ReportItem",
    "alto_chunks",
    "before_after_preview",
    "disagreement_report",
    "document_from_json",
    "document_to_alto",
    "document_to_hocr",
    "document_to_json",
    "document_to_text",
    "hocr_chunks",
    "json_chunks",
    "outline",
    "page_to_alto",
    "report_chunks",
    "report_from_sections",
    "report_section",
    "text_chunks",
]

_HOMES = {
    "ExportError": "difftsr_ocr.errors",
    "Outline": "difftsr_ocr.export.base",
    "ReportItem": "difftsr_ocr.export.preview",
    "alto_chunks": "difftsr_ocr.export.alto",
    "before_after_preview": "difftsr_ocr.export.preview",
    "disagreement_report": "difftsr_ocr.export.report",
    "document_from_json": "difftsr_ocr.export.json",
    "document_to_alto": "difftsr_ocr.export.alto",
    "document_to_hocr": "difftsr_ocr.export.hocr",
    "document_to_json": "difftsr_ocr.export.json",
    "document_to_text": "difftsr_ocr.export.text",
    "hocr_chunks": "difftsr_ocr.export.hocr",
    "json_chunks": "difftsr_ocr.export.json",
    "outline": "difftsr_ocr.export.base",
    "page_to_alto": "difftsr_ocr.export.alto",
    "report_chunks": "difftsr_ocr.export.report",
    "report_from_sections": "difftsr_ocr.export.report",
    "report_section": "difftsr_ocr.export.report",
    "text_chunks": "difftsr_ocr.export.text",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
