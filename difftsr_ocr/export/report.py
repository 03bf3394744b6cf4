"""HTML for people: one card per line, shared by the ``report`` file and the service's web page.

A card (:func:`line_card`) shows the original and the restored crop on top of each other
with a before/after slider, the trust gate's decision, its reason and evidence, and every
reading with its confidence. :func:`disagreement_report` puts the cards of the lines a
reviewer should look at into one self-contained file (crops embedded as base64 PNG, the
slider a line of inline script); the web page (:mod:`difftsr_ocr.serve.page`) shows the
cards of every line of a page with the same :data:`CARD_STYLE`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from html import escape

import cv2
import numpy as np

from difftsr_ocr.errors import InputImageError
from difftsr_ocr.export.preview import DECISION_COLOURS, ReportItem

__all__ = [
    "CARD_STYLE",
    "disagreement_report",
    "line_card",
    "png_data_uri",
    "report_chunks",
    "report_from_sections",
    "report_section",
]

_READING_LABELS = {
    "ocr_original": "OCR on original",
    "ocr_restored": "OCR on restored",
    "difftsr": "DiffTSR",
    "text_prior": "Text prior (TransOCR)",
}

# The restored crop covers the original right of the slider's cut, stretched to the
# original's box: a restorer works at its own resolution and aspect.
CARD_STYLE = """
section.line { border-top: 1px solid #ccc; padding: 0.8em 0; }
.crops { display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap; }
figure { margin: 0; }
figure img { height: 64px; max-width: 100%; object-fit: contain; image-rendering: pixelated; border: 1px solid #999; }
.compare { display: inline-block; max-width: 100%; --cut: 50%; }
.compare .frame { position: relative; border: 1px solid #999; }
.compare img { display: block; height: 64px; max-width: 100%; border: 0; object-fit: fill; }
.compare img.after { position: absolute; top: 0; left: 0; width: 100%; height: 100%; clip-path: inset(0 0 0 var(--cut)); }
.compare input { display: block; width: 100%; margin: 0.3em 0 0; }
table { border-collapse: collapse; margin-top: 0.5em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
.missing { color: #888; }
.decision { padding: 0 0.4em; border-radius: 0.2em; color: #fff; }
""" + "".join(
    f".decision-{name} {{ background: rgb({r}, {g}, {b}); }}\n" for name, (r, g, b) in DECISION_COLOURS.items()
)

# Inline so the card works wherever its HTML lands (a saved file, a page's innerHTML).
_SLIDE = "this.parentNode.style.setProperty('--cut', this.value + '%')"


def disagreement_report(items: Sequence[ReportItem], title: str = "difftsr-ocr: lines to review") -> str:
    """A self-contained HTML page (no external files) showing each item's crops and readings."""
    return report_from_sections([report_section(item) for item in items], title)


def report_section(item: ReportItem) -> str:
    """One item's card in the report, headed by its page and line."""
    return line_card(item, f"Page {item.page_index + 1}, line {item.line_index + 1}")


def report_from_sections(sections: Sequence[str], title: str = "difftsr-ocr: lines to review") -> str:
    """The report page around cards made by :func:`report_section`."""
    return "".join(report_chunks(sections, len(sections), title))


def report_chunks(sections: Iterable[str], count: int, title: str = "difftsr-ocr: lines to review") -> Iterator[str]:
    """:func:`report_from_sections`' page in pieces, a card at a time (``count``: how many ``sections`` yields)."""
    yield (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>body {{ font-family: sans-serif; margin: 1.5em; }}{CARD_STYLE}</style>"
        f"\n</head>\n<body>\n<h1>{escape(title)}</h1>\n<p>{count} line(s).</p>\n"
    )
    separator = ""
    for section in sections:
        yield separator + section
        separator = "\n"
    yield ("" if separator else "<p>No flagged lines.</p>") + "\n</body>\n</html>\n"


def line_card(item: ReportItem, heading: str) -> str:
    """One line as an HTML ``<section>``: crops with a before/after slider, decision, evidence, readings."""
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
    reason = escape(line.reason) if line.reason else '<span class="missing">none given</span>'
    decision = escape(line.decision)
    details = [
        f'<p>Result: <b>{escape(line.text)}</b> ({line.confidence:.0%}), decision: <span class="decision '
        f'decision-{decision}">{decision}</span></p>',
        f"<p>Reason: {reason}</p>",
    ]
    if line.evidence is not None:
        details.append(f"<p>Evidence: {escape(line.evidence.describe())}</p>")
    if line.disagreements:
        details.append(f"<p>Readings that differ from the result: {escape(', '.join(line.disagreements))}</p>")
    return (
        f'<section class="line">\n<h2>{escape(heading)}</h2>\n<div class="crops">{_crops(item)}</div>\n'
        f"<table>\n<tr><th>reader</th><th>text</th><th>confidence</th></tr>\n"
        + "\n".join(readings)
        + "\n</table>\n"
        + "\n".join(details)
        + "\n</section>"
    )


def _crops(item: ReportItem) -> str:
    original = png_data_uri(item.original_crop)
    if item.restored_crop is None:
        return (
            f'<figure><figcaption>original</figcaption><img alt="original crop" src="{original}"></figure>'
            '<figure><figcaption>restored</figcaption><p class="missing">not restored</p></figure>'
        )
    restored = png_data_uri(item.restored_crop)
    return (
        "<figure><figcaption>original | restored</figcaption>"
        f'<div class="compare"><div class="frame"><img class="before" alt="original crop" src="{original}">'
        f'<img class="after" alt="restored crop" src="{restored}"></div>'
        f'<input type="range" min="0" max="100" value="50" aria-label="before/after" oninput="{_SLIDE}">'
        "</div></figure>"
    )


def png_data_uri(crop: np.ndarray) -> str:
    """An ``H x W`` or ``H x W x 3`` uint8 RGB image as a ``data:image/png;base64,...`` URI."""
    array = np.asarray(crop)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise InputImageError(f"report crops must be H x W or H x W x 3 uint8 arrays, got {array.dtype} {array.shape}")
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise InputImageError(f"could not encode a {array.shape} crop as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")
