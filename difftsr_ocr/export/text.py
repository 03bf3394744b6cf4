"""Plain text: one line of output per detected line, a blank line between pages.

Every output line is exactly one :class:`~difftsr_ocr.results.Line` (line breaks inside
a reading become spaces), so line numbers in the text file map back onto the results.
A page without lines still takes its place, as an empty line, so page boundaries can be
counted too.
"""

from __future__ import annotations

from difftsr_ocr.results import Document, Page

__all__ = ["document_to_text", "page_to_text"]


def page_to_text(page: Page) -> str:
    """The page's lines in reading order, one per output line, without a trailing newline."""
    return "\n".join(" ".join(line.text.splitlines()) for line in page.lines)


def document_to_text(doc: Document) -> str:
    """All pages, separated by one blank line, ending with a newline (empty for no pages)."""
    if not doc.pages:
        return ""
    return "\n\n".join(page_to_text(page) for page in doc.pages) + "\n"
