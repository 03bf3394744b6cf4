"""The ``--ocr-engine difftsr`` engine: difftsr-ocr's merged line readings as OCRmyPDF's text layer.

Constructed many times, in the main process and in workers, so the constructor does
nothing; the pipeline is built on the first page a worker reads and reused after that.
Our results have line polygons but no word boxes, so words get slices of their line's
box in proportion to their length in characters.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Set
from pathlib import Path

from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence
from PIL import Image

from difftsr_ocr.integrations._ocrmypdf_support import ocrmypdf_errors, restore_with_options
from difftsr_ocr.results import Line, Page
from difftsr_ocr.version import SOFTWARE_NAME, software_version

__all__ = ["DifftsrOcrEngine", "page_element"]

log = logging.getLogger(__name__)


def _word_elements(line: Line, box: BoundingBox) -> list[OcrElement]:
    words = line.text.split()
    if not words:
        return []
    # Spaces count as one character each, so gaps between words keep their share of the line.
    total = sum(len(word) for word in words) + len(words) - 1
    vertical = line.vertical
    length = (box.bottom - box.top) if vertical else (box.right - box.left)
    start = box.top if vertical else box.left
    elements, used = [], 0
    for word in words:
        a = start + length * used / total
        b = start + length * (used + len(word)) / total
        used += len(word) + 1
        word_box = BoundingBox(box.left, a, box.right, b) if vertical else BoundingBox(a, box.top, b, box.bottom)
        elements.append(OcrElement(ocr_class=OcrClass.WORD, bbox=word_box, text=word, confidence=line.confidence))
    return elements


def _text_angle(line: Line) -> float | None:
    """The line's reading direction as hOCR's textangle (degrees counter-clockwise), None when horizontal.

    Polygons start at the line's top-left as read, so their first edge runs along the
    text. Without the angle, OCRmyPDF's renderer takes the tall box of a line on a
    /Rotate 90 page for garbage and drops it from the text layer.
    """
    (x0, y0), (x1, y1) = line.polygon[0], line.polygon[1]
    angle = math.degrees(math.atan2(y0 - y1, x1 - x0))  # image y grows downwards
    if abs(angle) < 45.0:
        return None  # skew within a line is no rotation: the box is still wide
    return float(90 * round(angle / 90) % 360)


def page_element(page: Page, dpi: float, page_number: int) -> OcrElement:
    """An OCRmyPDF PAGE -> LINE -> WORD tree of one page's results (boxes in page pixels)."""
    lines = []
    for line in page.lines:
        x0, y0, x1, y1 = line.bbox
        box = BoundingBox(max(0.0, x0), max(0.0, y0), min(float(page.width), x1), min(float(page.height), y1))
        words = _word_elements(line, box)
        if words:
            lines.append(
                OcrElement(
                    ocr_class=OcrClass.LINE,
                    bbox=box,
                    poly=[(float(x), float(y)) for x, y in line.polygon],
                    textangle=_text_angle(line),
                    confidence=line.confidence,
                    children=words,
                )
            )
    return OcrElement(
        ocr_class=OcrClass.PAGE,
        bbox=BoundingBox(0.0, 0.0, float(page.width), float(page.height)),
        dpi=dpi,
        page_number=page_number,
        children=lines,
    )


class DifftsrOcrEngine(OcrEngine):
    """Detect, restore and read each page with difftsr-ocr."""

    @staticmethod
    def version() -> str:
        return software_version(not_installed="source")

    @staticmethod
    def creator_tag(options: object) -> str:
        return f"{SOFTWARE_NAME} {DifftsrOcrEngine.version()}"

    def __str__(self) -> str:
        return f"{SOFTWARE_NAME} {self.version()}"

    @staticmethod
    def languages(options: object) -> Set[str]:
        # The PP-OCR recogniser reads many scripts at once and takes no language setting:
        # an empty set tells OCRmyPDF not to check -l against it.
        return set()

    @staticmethod
    def get_orientation(input_file: Path, options: object) -> OrientationConfidence:
        # No orientation model: confidence 0 means OCRmyPDF never rotates on our word.
        return OrientationConfidence(angle=0, confidence=0.0)

    @staticmethod
    def get_deskew(input_file: Path, options: object) -> float:
        return 0.0

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(input_file: Path, options: object, page_number: int = 0) -> tuple[OcrElement, str]:
        with ocrmypdf_errors():
            result = restore_with_options(input_file, options.difftsr)  # type: ignore[attr-defined]
        with Image.open(input_file) as image:
            dpi = image.info.get("dpi", (72.0, 72.0))[0]
        log.debug("page %d: %d lines", page_number + 1, len(result.page.lines))
        return page_element(result.page, float(dpi), page_number), result.text

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options: object) -> None:
        raise NotImplementedError("the difftsr engine gives OCRmyPDF its text through generate_ocr")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options: object) -> None:
        raise NotImplementedError("the difftsr engine needs --pdf-renderer auto or fpdf2, not sandwich")
