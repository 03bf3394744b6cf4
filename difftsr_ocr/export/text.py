"""Plain text: one line of output per detected line, a blank line between pages.

Every output line is exactly one :class:`~difftsr_ocr.results.Line` (line breaks inside
a reading become spaces), so line numbers in the text file map back onto the results.
A page without lines still takes its place, as an empty line, so page boundaries can be
counted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from difftsr_ocr.results import Document, Page

__all__ = ["document_to_text", "page_to_text", "text_chunks"]


def page_to_text(page: Page) -> str:
    """The page's lines in reading order, one per output line, without a trailing newline."""
    return "\n".join(" ".join(line.text.splitlines()) for line in page.lines)


def document_to_text(doc: Document) -> str:
    """All pages, separated by one blank line, ending with a newline (empty for no pages)."""
    return "".join(text_chunks(doc.pages))


def text_chunks(pages: Iterable[Page]) -> Iterator[str]:
    """:func:`document_to_text`'s text in pieces, a page at a time."""
    separator = ""
    for page in pages:
        yield separator + page_to_text(page)
        separator = "\n\n"
    if separator:
        yield "\n"
