"""Does the crop handed to the restorer read as its vertical column's text?

For every true vertical line of the given pages, the line is cut the pipeline's way
(padded, rectified) in each vertical layout, and PP-OCR's recogniser reads the crop;
the score is the character error rate against the column's text, on the clean and on
the degraded page. Reading at the true polygons keeps detection out of the figure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from difftsr_ocr.config import LinesConfig
from difftsr_ocr.evaluation.metrics import TextScore, text_score
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage
from difftsr_ocr.geometry.polygons import pad_polygon
from difftsr_ocr.geometry.rectify import rectify_line
from difftsr_ocr.recognize.base import Recognizer

__all__ = ["VerticalCropScore", "score_vertical_crops"]

# The two ways a column can be cut ("auto" chooses between them per line).
CUT_LAYOUTS = ("upright", "rotated")
IMAGES = ("clean", "degraded")


@dataclasses.dataclass
class VerticalCropScore:
    """Text scores and columns read exactly, per (layout, image) pair, summed over the columns read."""

    columns: int = 0
    text: dict[tuple[str, str], TextScore] = dataclasses.field(default_factory=dict)
    exact: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

    def cer(self, layout: str, image: str) -> float:
        return self.text[(layout, image)].cer


def score_vertical_crops(
    pages: Iterable[SyntheticPage], recognizer: Recognizer, lines: LinesConfig | None = None
) -> VerticalCropScore:
    """CER of the crops of every true vertical line, per vertical layout and per page image."""
    lines = lines or LinesConfig()
    crops: dict[tuple[str, str], list] = {(layout, image): [] for layout in CUT_LAYOUTS for image in IMAGES}
    truths = []
    for page in pages:
        size = (page.clean.shape[1], page.clean.shape[0])
        for line in page.lines:
            if line.kind != "vertical":
                continue
            truths.append(line.text)
            polygon = pad_polygon(line.polygon, size, along=lines.pad_x, across=lines.pad_y)
            for layout in CUT_LAYOUTS:
                for image in IMAGES:
                    crop, _ = rectify_line(getattr(page, image), polygon, upright_columns=layout == "upright")
                    crops[(layout, image)].append(crop)
    score = VerticalCropScore(columns=len(truths))
    for key, batch in crops.items():
        readings = recognizer.recognize(batch) if batch else []
        texts = [reading.text for reading in readings]
        score.text[key] = text_score(texts, truths)
        score.exact[key] = sum(
            text_score([text], [truth]).errors == 0 for text, truth in zip(texts, truths, strict=True)
        )
    return score
