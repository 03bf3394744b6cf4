"""Score the pipeline on pages with known text: what it does to detection and recognition.

For every page PP-OCR (the pipeline's own detector and recogniser, without restoration)
reads (a) the clean page, (b) the degraded page and (c) the pipeline's composited page;
(d) is the pipeline's merged text per line. Detection is scored at IoU 0.5, text as the
character error rate per true line (see :mod:`.metrics`), the composite by its seams.

(c) re-detects the composited page, as an OCR engine downstream of us would. That
measure is biased against any restorer: only lines detected on the degraded page are
restored, so a changed pixel can make a borderline line vanish on the re-read but can
never make a missed one appear. "composited_lines" reads the composited page at the
lines detected on the degraded page, which isolates what the restored pixels do to
recognition.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable, Iterable

import numpy as np

from difftsr_ocr.detect.base import TextRegion
from difftsr_ocr.evaluation.metrics import (
    DetectionScore,
    SeamScore,
    TextScore,
    assign_texts,
    detection_score,
    seam_score,
    text_score,
)
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage
from difftsr_ocr.evaluation.synthetic.render import TruthLine
from difftsr_ocr.pipeline import PageResult, Pipeline
from difftsr_ocr.results import Line

__all__ = ["SOURCES", "QualityReport", "evaluate_pages", "format_report", "line_kinds"]

SOURCES = ("clean", "degraded", "composited", "composited_lines", "merged")
DETECTED = ("clean", "degraded", "composited")  # sources that ran their own detection
LONG_LINE = 24  # characters: DiffTSR's limit, beyond which the pipeline splits a line into chunks


def line_kinds(line: TruthLine) -> list[str]:
    kinds = [line.kind, line.script]
    if len(line.text) > LONG_LINE:
        kinds.append("long")
    return kinds


class QualityReport:
    """Scores summed over pages, per source and per group (all, layout, kind of line)."""

    def __init__(self) -> None:
        self.detection: dict[str, DetectionScore] = collections.defaultdict(DetectionScore)
        self.text: dict[tuple[str, str], TextScore] = collections.defaultdict(TextScore)
        self.seams = SeamScore()
        self.decisions: collections.Counter[str] = collections.Counter()
        self.seconds = 0.0
        self.pages = 0

    def add_page(self, page: SyntheticPage, readings: dict[str, list[Line]], restored: PageResult) -> None:
        """Score one page: ``readings`` holds, per source, its lines (polygon and text)."""
        truth = [line.polygon for line in page.lines]
        vertical = [line.kind == "vertical" for line in page.lines]
        expected = [line.text for line in page.lines]
        for source in SOURCES:
            lines = readings[source]
            if source in DETECTED:
                self.detection[source] += detection_score([np.asarray(line.polygon) for line in lines], truth)
            texts = assign_texts([(np.asarray(line.polygon), line.text) for line in lines], truth, vertical)
            for truth_line, text, reference in zip(page.lines, texts, expected, strict=True):
                score = text_score([text], [reference])
                for group in ("all", page.layout, *line_kinds(truth_line)):
                    self.text[source, group] += score
        self.seams += seam_score(page.degraded, restored.image, restored.patches)
        self.decisions.update(restored.page.counts())
        self.pages += 1

    def cer(self, source: str, group: str = "all") -> float:
        """Character error rate of one of ``SOURCES`` over a group of lines (a layout, a kind, "all")."""
        return self.text[source, group].cer

    def groups(self) -> list[str]:
        seen = {group for _, group in self.text}
        order = [
            *("all", "document", "scene", "arcs"),
            *("horizontal", "rotated", "vertical", "curved", "upside_down", "long", "latin", "cjk"),
        ]
        return [group for group in order if group in seen]

    def to_dict(self) -> dict[str, object]:
        return {
            "pages": self.pages,
            "seconds_per_page": self.seconds / max(1, self.pages),
            "detection": {
                source: dataclasses.asdict(score) | {"precision": score.precision, "recall": score.recall}
                for source, score in self.detection.items()
            },
            "cer": {group: {source: self.text[source, group].cer for source in SOURCES} for group in self.groups()},
            "characters": {group: self.text["clean", group].characters for group in self.groups()},
            "seams": {"band_ratio": self.seams.band_ratio, "inside_ratio": self.seams.inside_ratio},
            "decisions": dict(self.decisions),
        }


class _KnownRegions:
    """A detector that finds the lines it was given on ``page``, whatever it is shown.

    The pipeline reads a page turned 180 degrees again turned upright: shown ``page``
    turned, this detector gives its lines turned too.
    """

    def __init__(self, regions: list[TextRegion], page: np.ndarray) -> None:
        self.regions = regions
        self.page = page

    def detect(self, image: np.ndarray) -> list[TextRegion]:
        if image.shape == self.page.shape and np.array_equal(image, self.page[::-1, ::-1]):
            corner = np.array([image.shape[1], image.shape[0]], dtype=np.float32)
            return [dataclasses.replace(region, polygon=corner - region.polygon) for region in self.regions]
        return list(self.regions)


def evaluate_pages(
    pages: Iterable[SyntheticPage],
    pipeline: Pipeline,
    on_page: Callable[[SyntheticPage, QualityReport], None] | None = None,
) -> QualityReport:
    """Run the reader and the restoring pipeline over ``pages`` and score them."""
    reader = Pipeline(pipeline.detector, pipeline.recognizer, None, pipeline.config, orientation=pipeline.orientation)
    report = QualityReport()
    for page in pages:
        started = time.perf_counter()
        prepared = pipeline.prepare(page.degraded)
        pipeline.restore([prepared])
        restored = pipeline.finish(prepared)
        report.seconds += time.perf_counter() - started
        # The pipeline has already read the degraded page: its original readings are (b).
        degraded = [
            dataclasses.replace(line, text=original.text)
            for line in restored.page.lines
            if (original := line.reading("ocr_original")) is not None
        ]
        same_lines = Pipeline(
            _KnownRegions([line.region for line in prepared.lines], restored.image),
            pipeline.recognizer,
            None,
            pipeline.config,
            orientation=pipeline.orientation,
        )
        readings = {
            "clean": reader(page.clean).page.lines,
            "degraded": degraded,
            "composited": reader(restored.image).page.lines,
            "composited_lines": same_lines(restored.image).page.lines,
            "merged": restored.page.lines,
        }
        report.add_page(page, readings, restored)
        if on_page is not None:
            on_page(page, report)
    return report


_SHORT = {"composited_lines": "comp@lines"}


def format_report(report: QualityReport, restorer: str) -> str:
    """The report as the plain-text tables the benchmark prints."""
    out = [
        f"{report.pages} pages, restorer {restorer}, {report.seconds / max(1, report.pages):.1f} s/page (pipeline)",
        "",
        "Detection, IoU >= 0.5",
        f"{'page read':<12}{'precision':>10}{'recall':>8}{'found':>7}{'true':>6}",
    ]
    for source in DETECTED:
        s = report.detection[source]
        out.append(f"{source:<12}{s.precision:>10.3f}{s.recall:>8.3f}{s.matched:>7}{s.expected:>6}")
    out += [
        "",
        "Character error rate: (a) clean page (b) degraded page (c) composited page, re-detected,",
        "(c') composited page read at (b)'s lines, (d) merged line texts",
        f"{'lines':<12}{'chars':>7}" + "".join(f"{_SHORT.get(source, source):>12}" for source in SOURCES),
    ]
    for group in report.groups():
        characters = report.text["clean", group].characters
        out.append(f"{group:<12}{characters:>7}" + "".join(f"{report.text[s, group].cer:>12.3f}" for s in SOURCES))
    seams, decisions = report.seams, report.decisions
    out += [
        "",
        f"Seams: gradient energy output/input along the feather bands {seams.band_ratio:.3f}, "
        f"inside the pasted lines {seams.inside_ratio:.3f} ({seams.band_pixels} / {seams.inside_pixels} pixels)",
        f"Gate: {decisions['restored']} restored, {decisions['kept_original']} kept, "
        f"{decisions['not_restored']} not restored, {decisions['flagged']} flagged",
    ]
    return "\n".join(out)
