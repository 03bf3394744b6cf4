"""What a run produces: Document -> Page -> Block -> Line, as plain data.

One class per level, each with ``to_dict`` / ``from_dict`` (unknown keys are errors, so
a typo in a hand-edited file is caught). Geometry is stored once, as float polygons in
page pixels of the page's own (EXIF-upright) orientation; exporters round it only where
a format asks for integers (hOCR, ALTO).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DECISIONS",
    "Block",
    "Document",
    "Evidence",
    "Line",
    "Page",
    "Reading",
]

# What happened to a line's pixels:
#   restored       the restored crop was composited into the page
#   kept_original  restoration ran but the gate kept the original pixels (see Line.reason)
#   not_restored   restoration did not run for this line (skipped crop, or analysis only)
DECISIONS = ("restored", "kept_original", "not_restored")

# Where a reading comes from: the recogniser on the original or the restored crop, the
# TDM transcript (DiffTSR with refine_text=True), or the TransOCR text prior that
# conditioned the restoration (refine_text=False; never an independent reader).
SOURCES = ("ocr_original", "ocr_restored", "difftsr", "text_prior")


def _from_fields(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return dict(data)


@dataclasses.dataclass
class Reading:
    """One reading of a line: its text, a confidence in 0..1, and who read it."""

    source: str
    text: str
    confidence: float

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"reading source must be one of {', '.join(SOURCES)}, not {self.source!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reading:
        return cls(**_from_fields(cls, data, "reading"))


@dataclasses.dataclass
class Evidence:
    """What the pixels say about a changed reading (see :mod:`difftsr_ocr.gate`).

    ``original_log_ratio``: log-likelihood of the restored reading minus that of the
    original reading under the ORIGINAL crop's CTC output, per changed character (near 0:
    the original pixels allow the change; very negative: they rule it out).
    ``restored_log_ratio``: log-likelihood of the original reading minus that of the
    restored reading under the RESTORED crop's CTC output, per changed character (very
    negative: the restoration rules the original reading out; near 0: it is ambiguous).
    ``inconsistency``: how much more the worst part of the restoration disagrees with the
    original pixels than its typical part (:func:`difftsr_ocr.consistency.inconsistency`).
    ``lookalike_gain``: how much better the original crop supports ``lookalike``, the
    restored reading with one changed character swapped for a look-alike the restored
    crop itself offers, than the restored reading (log-likelihood; <= 0: none is better).
    A reading the frames cannot produce at all scores ``gate.LOG_RATIO_FLOOR`` (-100).
    ``changed``: characters changed. ``note``: why a figure is missing (None).
    """

    original_log_ratio: float | None
    restored_log_ratio: float | None
    inconsistency: float | None
    changed: int
    lookalike_gain: float | None = None
    lookalike: str = ""
    note: str = ""

    def describe(self) -> str:
        """The gate's witnesses in words, the missing ones shown as n/a with the note saying why."""

        def figure(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"

        text = (
            f"per changed character, log-likelihood of the restored vs the original reading under the original "
            f"crop {figure(self.original_log_ratio)}, of the original vs the restored reading under the restored "
            f"crop {figure(self.restored_log_ratio)}; pixel inconsistency {figure(self.inconsistency)}; "
            f"best look-alike {self.lookalike or 'n/a'} {figure(self.lookalike_gain)}"
        )
        return f"{text} ({self.note})" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(**_from_fields(cls, data, "evidence"))


@dataclasses.dataclass
class Line:
    """A text line: where it is, what it says, and how that was decided.

    ``polygon``: [[x, y], ...] in page pixels, clockwise from the line's top-left (for
    vertical lines, the top-left of the text as read after rotating it upright).
    ``text`` / ``confidence``: the merged result. ``readings``: every source that read it.
    ``decision`` / ``reason``: what the trust gate did with the restored pixels.
    ``disagreements``: what other readings saw beyond ``text`` (for a changed line, the
    original reading's characters too). ``evidence``: what the trust gate weighed for a
    changed reading (:class:`Evidence`), None when the reading did not change.
    """

    polygon: list[list[float]]
    text: str = ""
    confidence: float = 0.0
    readings: list[Reading] = dataclasses.field(default_factory=list)
    decision: str = "not_restored"
    reason: str = ""
    vertical: bool = False
    chunks: int = 1
    disagreements: list[str] = dataclasses.field(default_factory=list)
    evidence: Evidence | None = None

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"line decision must be one of {', '.join(DECISIONS)}, not {self.decision!r}")

    def reading(self, source: str) -> Reading | None:
        return next((r for r in self.readings if r.source == source), None)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the polygon."""
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return min(xs), min(ys), max(xs), max(ys)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["readings"] = [r.to_dict() for r in self.readings]
        data["evidence"] = self.evidence.to_dict() if self.evidence is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Line:
        fields = _from_fields(cls, data, "line")
        fields["readings"] = [Reading.from_dict(r) for r in fields.get("readings", [])]
        if fields.get("evidence") is not None:
            fields["evidence"] = Evidence.from_dict(fields["evidence"])
        fields["polygon"] = [[float(x), float(y)] for x, y in fields["polygon"]]
        return cls(**fields)


@dataclasses.dataclass
class Block:
    """Lines read as one unit, top to bottom: a paragraph, a heading, a lone line (see :mod:`difftsr_ocr.geometry.layout`).

    A block never crosses a column gutter, so a page's columns are runs of its blocks.
    """

    lines: list[Line]

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a block must hold at least one line")

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) around every line's polygon."""
        boxes = [line.bbox for line in self.lines]
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"lines": [line.to_dict() for line in self.lines]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Block:
        fields = _from_fields(cls, data, "block")
        return cls(lines=[Line.from_dict(line) for line in fields.get("lines", [])])


@dataclasses.dataclass
class Page:
    """One page: its size in pixels, its blocks in reading order, and where it came from."""

    width: int
    height: int
    blocks: list[Block] = dataclasses.field(default_factory=list)
    source: str | None = None
    index: int = 0
    restorer: str = ""
    gate: str = ""

    @property
    def lines(self) -> list[Line]:
        """Every line of the page in reading order (block by block); a new list on each call."""
        return [line for block in self.blocks for line in block.lines]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def counts(self) -> dict[str, int]:
        """How many lines were restored, kept original, not restored, and flagged for a person to check."""
        lines = self.lines
        counts = {decision: 0 for decision in DECISIONS}
        for line in lines:
            counts[line.decision] += 1
        # Flagged: a reading saw characters the page's text does not carry (see Line.disagreements).
        counts["flagged"] = sum(1 for line in lines if line.disagreements)
        return counts

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["blocks"] = [block.to_dict() for block in self.blocks]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Page:
        fields = _from_fields(cls, data, "page")
        fields["blocks"] = [Block.from_dict(block) for block in fields.get("blocks", [])]
        return cls(**fields)


@dataclasses.dataclass
class Document:
    pages: list[Page] = dataclasses.field(default_factory=list)
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    def to_dict(self) -> dict[str, Any]:
        return {"pages": [page.to_dict() for page in self.pages], "metadata": dict(self.metadata)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Document:
        fields = _from_fields(cls, data, "document")
        return cls(
            pages=[Page.from_dict(p) for p in fields.get("pages", [])], metadata=dict(fields.get("metadata", {}))
        )
