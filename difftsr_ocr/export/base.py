"""What every exporter shares: the error it raises, XML-safe text, and a document's outline.

Exporters are pure functions of a :class:`~difftsr_ocr.results.Document`; nothing here
touches files, so the command line decides where output goes. Each document format is
also written as pieces, one page at a time (``*_chunks``), so that a long document's
file can be written without holding every page: what a file's header says about all
pages is gathered first, one page at a time, into an :class:`Outline`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable

from difftsr_ocr.errors import ExportError
from difftsr_ocr.results import DECISIONS, Page

__all__ = ["ExportError", "Outline", "outline", "require_pages", "unit_interval", "xml_text"]

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


@dataclasses.dataclass(frozen=True)
class Outline:
    """What the hOCR and ALTO headers say about all the pages of a document."""

    pages: int
    first_source: str | None
    # The source every page shares, when they share one (None when they differ or none is known).
    shared_source: str | None
    # The hOCR spec allows page numbers only when no two pages claim the same one.
    unique_indices: bool
    restorers: tuple[str, ...]
    # The trust-gate decisions that occur, in the order of DECISIONS.
    decisions: tuple[str, ...]


def outline(pages: Iterable[Page]) -> Outline:
    """The outline of ``pages``, read one page at a time (a long document's need not all be in memory)."""
    count, first_source, indices = 0, None, set()
    sources: set[str | None] = set()
    restorers: set[str] = set()
    decisions: set[str] = set()
    for page in pages:
        if count == 0:
            first_source = page.source
        count += 1
        indices.add(page.index)
        sources.add(page.source)
        if page.restorer:
            restorers.add(page.restorer)
        decisions.update(line.decision for line in page.lines)
    return Outline(
        pages=count,
        first_source=first_source,
        shared_source=sources.pop() if len(sources) == 1 else None,
        unique_indices=len(indices) == count,
        restorers=tuple(sorted(restorers)),
        decisions=tuple(decision for decision in DECISIONS if decision in decisions),
    )


def require_pages(shape: Outline, format_name: str) -> None:
    """Refuse a document without pages: hOCR and ALTO both require at least one page element."""
    if not shape.pages:
        raise ExportError(f"cannot write {format_name} for a document with no pages ({format_name} needs one page)")
