"""ALTO 4.4 output: Layout/Page/PrintSpace/TextBlock/TextLine/String, pixel units.

What goes where:

* ``Description``: ``MeasurementUnit`` pixel; ``sourceImageInformation/fileName`` when
  all pages come from one source (ALTO allows a single file name per document, so
  write one file per page with :func:`page_to_alto` for multi-image documents);
  ``Processing`` names the software.
* ``Tags``: one ``OtherTag`` per trust-gate decision that occurs (``TYPE``
  ``difftsr-decision``); each ``TextLine`` points at its decision through ``TAGREFS``,
  the schema's own way to attach a classification without leaving the namespace.
* ``Page``: ``PHYSICAL_IMG_NR`` is ``Page.index + 1`` (ALTO counts images from 1),
  ``WIDTH``/``HEIGHT`` the page size. One ``TextBlock`` per
  :class:`~difftsr_ocr.results.Block`, in reading order, with the integer box around
  its lines (blocks never cross a column gutter).
* ``TextLine``: integer box; ``Shape/Polygon`` with the rounded polygon when the line is
  not an upright rectangle (``POINTS`` as ``x,y`` pairs separated by spaces, one of the
  forms ALTO 4.4 documents); ``BASEDIRECTION="ttb"`` for vertical lines read top to
  bottom. No ``BASELINE``: the results hold no measured baseline, and training tools
  read it as ground truth.
* ``String``: one per whitespace-separated word with an **estimated** box (see
  :mod:`difftsr_ocr.export.layout`), ``WC`` the line's confidence (0-1); ``SP`` between
  words. A line without text keeps one empty ``String`` so its geometry survives (a
  ``TextLine`` must hold at least one).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from difftsr_ocr.export.base import Outline, outline, require_pages, unit_interval, xml_text
from difftsr_ocr.export.layout import Box, int_box, is_axis_aligned, line_frame, word_layout
from difftsr_ocr.results import Document, Line, Page
from difftsr_ocr.version import SOFTWARE_NAME, software_version

__all__ = ["ALTO_NAMESPACE", "ALTO_SCHEMA_LOCATION", "alto_chunks", "document_to_alto", "page_to_alto"]

ALTO_NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
ALTO_SCHEMA_LOCATION = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_DECISION_TAG_TYPE = "difftsr-decision"
_DECISION_DESCRIPTIONS = {
    "restored": "the restored crop was composited into the page",
    "kept_original": "restoration ran but the trust gate kept the original pixels",
    "not_restored": "restoration did not run for this line",
}
# Written by hand: the file is written a page at a time, so the root never exists as an
# element. The namespaces are declared here and the element names below stay unqualified,
# since ElementTree cannot combine a default namespace with unprefixed attributes (every
# ALTO attribute is unprefixed).
_ROOT_TAG = (
    f'<alto xmlns="{ALTO_NAMESPACE}" xmlns:xsi="{_XSI}" '
    f'xsi:schemaLocation="{ALTO_NAMESPACE} {ALTO_SCHEMA_LOCATION}" SCHEMAVERSION="4.4">'
)
# A vertical line read top to bottom points about 90 degrees clockwise, i.e. -90.
_DOWNWARD = -90.0


def document_to_alto(doc: Document) -> str:
    """``doc`` as one ALTO 4.4 file with a ``Page`` per page, to be written as UTF-8.

    Raises :class:`~difftsr_ocr.export.base.ExportError` for a document without pages.
    """
    return "".join(alto_chunks(doc.pages, outline(doc.pages)))


def alto_chunks(pages: Iterable[Page], shape: Outline) -> Iterator[str]:
    """The ALTO file in pieces, a page at a time; ``shape`` is :func:`~difftsr_ocr.export.base.outline` of ``pages``.

    Joined, the pieces are :func:`document_to_alto`'s text. Raises
    :class:`~difftsr_ocr.export.base.ExportError` for a document without pages.
    """
    require_pages(shape, "ALTO")
    yield '<?xml version="1.0" encoding="UTF-8"?>\n' + _ROOT_TAG
    yield "\n " + _xml(_description(shape), level=1)
    if shape.decisions:
        yield "\n " + _xml(_tags(shape.decisions), level=1)
    yield "\n <Layout>"
    for number, page in enumerate(pages, start=1):
        yield "\n  " + _xml(_page(page, number), level=2)
    yield "\n </Layout>\n</alto>\n"


def page_to_alto(page: Page, metadata: Mapping[str, Any] | None = None) -> str:
    """One page as its own ALTO file: the usual layout of ALTO archives (one file per image)."""
    return document_to_alto(Document(pages=[page], metadata=dict(metadata or {})))


def _xml(element: ET.Element, level: int) -> str:
    """``element`` indented as a child ``level`` deep in the file, without the whitespace before it."""
    ET.indent(element, space=" ", level=level)
    return ET.tostring(element, encoding="unicode")


def _description(shape: Outline) -> ET.Element:
    description = ET.Element("Description")
    _sub(description, "MeasurementUnit").text = "pixel"
    if shape.shared_source:
        info = _sub(description, "sourceImageInformation")
        _sub(info, "fileName").text = xml_text(shape.shared_source)
    processing = _sub(description, "Processing", ID="processing_1")
    _sub(processing, "processingCategory").text = "contentGeneration"
    if shape.restorers:
        _sub(processing, "processingStepSettings").text = xml_text("restorer: " + ", ".join(shape.restorers))
    software = _sub(processing, "processingSoftware")
    _sub(software, "softwareName").text = SOFTWARE_NAME
    _sub(software, "softwareVersion").text = software_version()
    return description


def _tags(decisions: tuple[str, ...]) -> ET.Element:
    tags = ET.Element("Tags")
    for decision in decisions:
        _sub(
            tags,
            "OtherTag",
            ID=_tag_id(decision),
            TYPE=_DECISION_TAG_TYPE,
            LABEL=decision,
            DESCRIPTION=_DECISION_DESCRIPTIONS[decision],
        )
    return tags


def _page(page: Page, number: int) -> ET.Element:
    element = ET.Element(
        "Page",
        {
            "ID": f"page_{number}",
            "PHYSICAL_IMG_NR": str(page.index + 1),
            "WIDTH": str(page.width),
            "HEIGHT": str(page.height),
        },
    )
    space = _sub(element, "PrintSpace", HPOS="0", VPOS="0", WIDTH=str(page.width), HEIGHT=str(page.height))
    # Lines are numbered through the page, so a line's id is the same as in hOCR.
    line_number = 0
    for block_number, block in enumerate(page.blocks, start=1):
        boxes = [int_box(line.polygon, page.width, page.height) for line in block.lines]
        text_block = _sub(space, "TextBlock", ID=f"block_{number}_{block_number}", **_position(Box.around(boxes)))
        for line, box in zip(block.lines, boxes, strict=True):
            line_number += 1
            _line(text_block, line, box, page, f"{number}_{line_number}")
    return element


def _line(block: ET.Element, line: Line, box: Box, page: Page, ident: str) -> None:
    attributes = {"ID": f"line_{ident}", **_position(box), "TAGREFS": _tag_id(line.decision)}
    if line.vertical and abs(line_frame(line.polygon).angle - _DOWNWARD) < 45.0:
        attributes["BASEDIRECTION"] = "ttb"
    element = _sub(block, "TextLine", **attributes)
    if not is_axis_aligned(line.polygon):
        points = " ".join(
            f"{min(max(round(x), 0), page.width)},{min(max(round(y), 0), page.height)}" for x, y in line.polygon
        )
        _sub(_sub(element, "Shape"), "Polygon", POINTS=points)
    confidence = f"{unit_interval(line.confidence):.4f}".rstrip("0").rstrip(".")
    words, gaps = word_layout(line, page.width, page.height)
    if not words:
        _sub(element, "String", ID=f"string_{ident}_1", **_position(box), CONTENT="", WC=confidence)
        return
    for index, word in enumerate(words, start=1):
        if index > 1:
            _sub(element, "SP", **_position(gaps[index - 2]))
        text = xml_text(word.text)
        _sub(element, "String", ID=f"string_{ident}_{index}", **_position(word.box), CONTENT=text, WC=confidence)


def _position(box: Box) -> dict[str, str]:
    return {"HPOS": str(box.x0), "VPOS": str(box.y0), "WIDTH": str(box.width), "HEIGHT": str(box.height)}


def _tag_id(decision: str) -> str:
    return f"decision_{decision}"


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, attributes)
