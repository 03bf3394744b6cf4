"""hOCR 1.2 output: one XHTML file with pages, content areas, paragraphs, lines and words.

What goes where:

* ``ocr_page``: ``image`` (the page's source, when known), ``bbox 0 0 W H`` and
  ``ppageno`` (``Page.index``, only when the indices in the document are unique, as the
  spec requires).
* ``ocr_carea`` and ``ocr_par``: one of each per :class:`~difftsr_ocr.results.Block`
  (the carea holding the par), with the integer box around the block's lines, in
  reading order. Blocks never cross a column gutter, so every carea lies in one column.
* ``ocr_line``: integer ``bbox``; for lines that read within 45 degrees of horizontal a
  ``baseline`` whose slope is the line's and whose offset is the lower edge of the
  detected region (an estimate: that edge lies at or below the descenders, not on the
  typographic baseline); for steeper lines a ``textangle`` (the reading direction
  rounded to a multiple of 90 degrees); ``x_wconf`` (the line's confidence, 0-100); and
  the trust gate's verdict as ``x_difftsr_decision`` (hOCR reserves the ``x_`` prefix
  for engine-specific properties).
* ``ocrx_word``: the line's text split on whitespace, with **estimated** boxes (see
  :mod:`difftsr_ocr.export.layout`) and the line's confidence as ``x_wconf``, since
  results carry no per-word confidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from html import escape

from difftsr_ocr.export.base import Outline, outline, require_pages, unit_interval, xml_text
from difftsr_ocr.export.layout import Box, LineFrame, int_box, line_frame, word_layout
from difftsr_ocr.results import Document, Line, Page
from difftsr_ocr.version import SOFTWARE_NAME, software_version

__all__ = ["CAPABILITIES", "document_to_hocr", "hocr_chunks"]

# Everything this writer can produce; the spec forbids markup whose capability is not listed.
CAPABILITIES = ("ocr_page", "ocr_carea", "ocr_par", "ocr_line", "ocrx_word", "ocrp_wconf")

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
  <meta name="ocr-system" content="{system}" />
  <meta name="ocr-capabilities" content="{capabilities}" />
  <meta name="ocr-number-of-pages" content="{pages}" />
  <meta name="ocr-langs" content="unknown" />
  <meta name="ocr-scripts" content="unknown" />
 </head>
 <body>
"""
_TAIL = " </body>\n</html>\n"
# Beyond this the line is no longer "horizontal with a slope": hOCR then wants a textangle.
_MAX_BASELINE_ANGLE = 45.0


def document_to_hocr(doc: Document) -> str:
    """``doc`` as an hOCR 1.2 XHTML document, to be written as UTF-8.

    Raises :class:`~difftsr_ocr.export.base.ExportError` for a document without pages.
    """
    return "".join(hocr_chunks(doc.pages, outline(doc.pages)))


def hocr_chunks(pages: Iterable[Page], shape: Outline) -> Iterator[str]:
    """The hOCR file in pieces, a page at a time; ``shape`` is :func:`~difftsr_ocr.export.base.outline` of ``pages``.

    Joined, the pieces are :func:`document_to_hocr`'s text. Raises
    :class:`~difftsr_ocr.export.base.ExportError` for a document without pages.
    """
    require_pages(shape, "hOCR")
    yield _HEAD.format(
        title=_esc(f"{SOFTWARE_NAME}: {shape.first_source}" if shape.first_source else SOFTWARE_NAME),
        system=_esc(f"{SOFTWARE_NAME} {software_version()}"),
        capabilities=" ".join(CAPABILITIES),
        pages=shape.pages,
    )
    for number, page in enumerate(pages, start=1):
        yield "".join(_page(page, number, shape.unique_indices))
    yield _TAIL


def _page(page: Page, number: int, numbered: bool) -> list[str]:
    props = []
    if page.source:
        props.append(f"image {_quoted(page.source)}")
    props.append(f"bbox 0 0 {page.width} {page.height}")
    if numbered:
        props.append(f"ppageno {page.index}")
    out = [f'  <div class="ocr_page" id="page_{number}" title="{_esc(_title(props))}">\n']
    # Lines are numbered through the page, so a line's id is the same as in the plain text.
    line_number = 0
    for block_number, block in enumerate(page.blocks, start=1):
        boxes = [int_box(line.polygon, page.width, page.height) for line in block.lines]
        area = _bbox(Box.around(boxes))
        out.append(f'   <div class="ocr_carea" id="block_{number}_{block_number}" title="{area}">\n')
        out.append(f'    <p class="ocr_par" id="par_{number}_{block_number}" title="{area}">\n')
        for line, box in zip(block.lines, boxes, strict=True):
            line_number += 1
            out.extend(_line(line, box, page, f"{number}_{line_number}"))
        out.append("    </p>\n   </div>\n")
    out.append("  </div>\n")
    return out


def _line(line: Line, box: Box, page: Page, ident: str) -> list[str]:
    frame = line_frame(line.polygon)
    confidence = _wconf(line.confidence)
    props = [_bbox(box), _orientation(frame, box), f"x_wconf {confidence}", f"x_difftsr_decision {line.decision}"]
    out = [f'     <span class="ocr_line" id="line_{ident}" title="{_title(props)}">']
    words, _ = word_layout(line, page.width, page.height)
    for index, word in enumerate(words, start=1):
        title = _title([_bbox(word.box), f"x_wconf {confidence}"])
        out.append(
            f'\n      <span class="ocrx_word" id="word_{ident}_{index}" title="{title}">{_esc(word.text)}</span>'
        )
    out.append("\n     </span>\n" if words else "</span>\n")
    return out


def _orientation(frame: LineFrame, box: Box) -> str:
    """``baseline`` for lines that read roughly left to right, else ``textangle``."""
    angle = frame.angle
    if abs(angle) <= _MAX_BASELINE_ANGLE:
        ux, uy = frame.along
        slope = uy / ux
        # The lower edge as read starts at (s0, t1); hOCR measures from the box's bottom-left.
        x, y = frame.point(frame.s0, frame.t1)
        offset = y + slope * (box.x0 - x) - box.y1
        return f"baseline {_decimal(slope)} {round(offset)}"
    return f"textangle {round(angle / 90.0) * 90 % 360}"


def _wconf(confidence: float) -> int:
    return round(unit_interval(confidence) * 100)


def _bbox(box: Box) -> str:
    return f"bbox {box.x0} {box.y0} {box.x1} {box.y1}"


def _title(props: list[str]) -> str:
    return "; ".join(props)


def _decimal(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _quoted(path: str) -> str:
    # The spec wants UNIX-like paths or URLs; quoting keeps spaces in names intact.
    return '"' + path.replace("\\", "/").replace('"', '\\"') + '"'


def _esc(text: str) -> str:
    return escape(xml_text(text), quote=True)
