"""Pictures for people: a before/after page preview and an HTML report of flagged lines.

:func:`before_after_preview` puts the original and the restored page side by side with
every line outlined in the colour of its trust-gate decision (:data:`DECISION_COLOURS`),
scaled down so the whole thing is at most :data:`MAX_PREVIEW_WIDTH` pixels wide.

:func:`disagreement_report` writes one self-contained HTML file (crops embedded as
base64 PNG) that shows, for each line a reviewer should look at, the original and the
restored crop next to each other and the three readings with their confidences.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from html import escape

import cv2
import numpy as np

from difftsr_ocr.errors import InputImageError
from difftsr_ocr.results import Line, Page

__all__ = [
    "DECISION_COLOURS",
    "MAX_PREVIEW_WIDTH",
    "ReportItem",
    "before_after_preview",
    "disagreement_report",
    "report_from_sections",
    "report_section",
]

# RGB outline colours; chosen to stay apart for the common colour-vision deficiencies.
DECISION_COLOURS: dict[str, tuple[int, int, int]] = {
    "restored": (0, 158, 115),
    "kept_original": (230, 159, 0),
    "not_restored": (0, 114, 178),
}
# Wide enough to read a line of body text on a two-column A4 scan, small enough to open anywhere.
MAX_PREVIEW_WIDTH = 2000

_GAP = 8
_HEADER = 48
_BACKGROUND = (255, 255, 255)
_INK = (0, 0, 0)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_READING_LABELS = {
    "ocr_original": "OCR on original",
    "ocr_restored": "OCR on restored",
    "difftsr": "DiffTSR",
    "text_prior": "Text prior (TransOCR)",
}


@dataclasses.dataclass(frozen=True)
class ReportItem:
    """One flagged line for the report: the line itself and its two crops.

    ``original_crop`` / ``restored_crop`` are ``H x W`` or ``H x W x 3`` uint8 RGB arrays
    (the restored crop is ``None`` when restoration did not run); ``page_index`` and
    ``line_index`` only label the entry.
    """

    line: Line
    original_crop: np.ndarray
    restored_crop: np.ndarray | None = None
    page_index: int = 0
    line_index: int = 0


def before_after_preview(original: np.ndarray, restored: np.ndarray, page: Page) -> np.ndarray:
    """Original (left) and restored (right) page with decision-coloured line outlines.

    ``restored`` must be the page's size (``page.height`` x ``page.width``); ``original``
    too, or the page's size divided by a whole output scale (the input of a page written
    larger), grayscale or RGB uint8. The result is an RGB uint8 image: a strip with labels
    and a colour legend on top, then the two panels side by side, separated by a narrow
    gap, at the bottom.
    """
    if page.width <= 0 or page.height <= 0:
        raise InputImageError(f"cannot preview a page of size {page.width}x{page.height}")
    panels = [_as_rgb(original, "original", page, scaled=True), _as_rgb(restored, "restored", page)]
    # The gap keeps its size, so only the panels share the width budget; flooring keeps
    # the total within it.
    scale = min(1.0, (MAX_PREVIEW_WIDTH - _GAP) / (2 * page.width))
    size = (max(1, int(page.width * scale)), max(1, int(page.height * scale)))
    panels = [_fit(panel, size) for panel in panels]
    width, height = size
    canvas = np.full((_HEADER + height, 2 * width + _GAP, 3), _BACKGROUND, dtype=np.uint8)
    for column, panel in enumerate(panels):
        left = column * (width + _GAP)
        view = canvas[_HEADER:, left : left + width]
        view[:] = panel
        # Outlines go on after scaling so they stay visible however far the page shrank.
        for line in page.lines:
            points = np.round(np.asarray(line.polygon, dtype=np.float64) * scale).astype(np.int32)
            cv2.polylines(view, [points], isClosed=True, color=DECISION_COLOURS[line.decision], thickness=2)
        cv2.putText(canvas, ("original", "restored")[column], (left + 4, 18), _FONT, 0.5, _INK, 1, cv2.LINE_AA)
    _legend(canvas)
    return canvas


def disagreement_report(items: Sequence[ReportItem], title: str = "difftsr-ocr: lines to review") -> str:
    """A self-contained HTML page (no external files) showing each item's crops and readings."""
    return report_from_sections([report_section(item) for item in items], title)


def report_from_sections(sections: Sequence[str], title: str = "difftsr-ocr: lines to review") -> str:
    """The report page around sections made by :func:`report_section` (a long document's, made page by page)."""
    body = "\n".join(sections) if sections else "<p>No flagged lines.</p>"
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n<p>{len(sections)} line(s).</p>\n{body}\n</body>\n</html>\n"
    )


def _legend(canvas: np.ndarray) -> None:
    x = 4
    for decision, colour in DECISION_COLOURS.items():
        cv2.rectangle(canvas, (x, 28), (x + 14, 42), colour, thickness=-1)
        label = decision.replace("_", " ")
        cv2.putText(canvas, label, (x + 18, 40), _FONT, 0.45, _INK, 1, cv2.LINE_AA)
        x += 18 + cv2.getTextSize(label, _FONT, 0.45, 1)[0][0] + 14


def _as_rgb(image: np.ndarray, name: str, page: Page, scaled: bool = False) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InputImageError(f"the {name} page must be a uint8 numpy array")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputImageError(f"the {name} page has shape {image.shape}; expected H x W or H x W x 3")
    height, width = image.shape[:2]
    factor = page.width // width if width and page.width % width == 0 else 0
    fits = (height, width) == (page.height, page.width) or (scaled and factor and height * factor == page.height)
    if not fits:
        raise InputImageError(f"the {name} page is {width}x{height} but the results page is {page.width}x{page.height}")
    return image


def _fit(panel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (panel.shape[1], panel.shape[0]) == size:
        return panel
    shrinking = panel.shape[1] >= size[0]
    return cv2.resize(panel, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
section { border-top: 1px solid #ccc; padding: 0.8em 0; }
.crops { display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap; }
figure { margin: 0; }
figure img { height: 64px; max-width: 100%; object-fit: contain; image-rendering: pixelated; border: 1px solid #999; }
table { border-collapse: collapse; margin-top: 0.5em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
.missing { color: #888; }
"""


def report_section(item: ReportItem) -> str:
    """One item's part of the report: its crops, readings and the gate's reasons, as HTML."""
    line = item.line
    readings = []
    for source, label in _READING_LABELS.items():
        reading = line.reading(source)
        if reading is None and source == "text_prior":
            continue
        if reading is None:
            readings.append(f'<tr><th>{label}</th><td class="missing">none</td><td class="missing">-</td></tr>')
        else:
            readings.append(
                f"<tr><th>{label}</th><td>{escape(reading.text)}</td><td>{reading.confidence:.0%}</td></tr>"
            )
    restored = (
        _figure(item.restored_crop, "restored")
        if item.restored_crop is not None
        else '<figure><figcaption>restored</figcaption><p class="missing">not restored</p></figure>'
    )
    reason = escape(line.reason) if line.reason else '<span class="missing">none given</span>'
    details = [
        f"<p>Result: <b>{escape(line.text)}</b> ({line.confidence:.0%}), decision: {escape(line.decision)}</p>",
        f"<p>Reason: {reason}</p>",
    ]
    if line.evidence is not None:
        details.append(f"<p>Evidence: {escape(line.evidence.describe())}</p>")
    if line.disagreements:
        details.append(f"<p>Readings that differ from the result: {escape(', '.join(line.disagreements))}</p>")
    return (
        f"<section>\n<h2>Page {item.page_index + 1}, line {item.line_index + 1}</h2>\n"
        f'<div class="crops">{_figure(item.original_crop, "original")}{restored}</div>\n'
        f"<table>\n<tr><th>reader</th><th>text</th><th>confidence</th></tr>\n"
        + "\n".join(readings)
        + "\n</table>\n"
        + "\n".join(details)
        + "\n</section>"
    )


def _figure(crop: np.ndarray, caption: str) -> str:
    return f'<figure><figcaption>{caption}</figcaption><img alt="{caption} crop" src="{_png_data_uri(crop)}"></figure>'


def _png_data_uri(crop: np.ndarray) -> str:
    array = np.asarray(crop)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise InputImageError(f"report crops must be H x W or H x W x 3 uint8 arrays, got {array.dtype} {array.shape}")
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise InputImageError(f"could not encode a {array.shape} crop as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")
