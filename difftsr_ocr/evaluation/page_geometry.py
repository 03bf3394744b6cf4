"""The quality benchmark on bent and upside-down text, each set against its control.

``evaluate_arcs`` scores pages of arcs (:func:`~.synthetic.variants.arc_pages`) and their
straight twins; ``evaluate_orientation`` scores generated pages upright, turned by 180
degrees and with some lines on their heads. Both run :func:`~.quality.evaluate_pages`,
so every figure means what it means in the main benchmark; the goals of issue 15 are
checked by :func:`arc_goals` and :func:`orientation_goals`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from difftsr_ocr.evaluation.quality import QualityReport, evaluate_pages
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage, generate_page
from difftsr_ocr.evaluation.synthetic.variants import arc_pages, mixed_page, turned_page
from difftsr_ocr.pipeline import Pipeline

__all__ = [
    "ARC_SETS",
    "ORIENTATION_SETS",
    "Goal",
    "arc_goals",
    "evaluate_arcs",
    "evaluate_orientation",
    "format_goals",
    "orientation_goals",
]

ARC_SETS = ("curved", "straight")
ORIENTATION_SETS = ("upright", "turned", "mixed")

# Issue 15's goals.
CURVED_CLEAN_CER_MAX = 0.10
CURVED_DEGRADED_GAP_MAX = 0.05
CURVED_RECALL_MIN = 0.9
ORIENTATION_GAP_MAX = 0.01

Progress = Callable[[SyntheticPage], None]


@dataclasses.dataclass(frozen=True)
class Goal:
    """One measured figure against its goal."""

    name: str
    value: float
    limit: float
    at_most: bool

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


def evaluate_arcs(
    seeds: Iterable[int], pipeline: Pipeline, on_page: Progress | None = None
) -> dict[str, QualityReport]:
    """The pipeline on the arc pages of ``seeds`` ("curved") and on their straight twins ("straight")."""
    curved, straight = [], []
    for seed in seeds:
        bent, flat = arc_pages(seed)
        curved.append(bent)
        straight.append(flat)
    return {
        "curved": evaluate_pages(curved, pipeline, _relay(on_page)),
        "straight": evaluate_pages(straight, pipeline, _relay(on_page)),
    }


def evaluate_orientation(
    seeds: Iterable[int], pipeline: Pipeline, on_page: Progress | None = None
) -> dict[str, QualityReport]:
    """The pipeline on the pages of ``seeds`` upright, turned by 180 degrees, and with some lines upside down."""
    upright = [generate_page(seed) for seed in seeds]
    return {
        "upright": evaluate_pages(upright, pipeline, _relay(on_page)),
        "turned": evaluate_pages([turned_page(page) for page in upright], pipeline, _relay(on_page)),
        "mixed": evaluate_pages([mixed_page(p.seed, p.layout) for p in upright], pipeline, _relay(on_page)),
    }


def arc_goals(reports: dict[str, QualityReport]) -> list[Goal]:
    """Curved lines: clean CER, degraded CER against the straight twins, detection recall."""
    curved, straight = reports["curved"], reports["straight"]
    gap = curved.cer("degraded") - straight.cer("degraded")
    return [
        Goal("curved lines, clean page: CER", curved.cer("clean"), CURVED_CLEAN_CER_MAX, at_most=True),
        Goal("curved minus straight, degraded page: CER", gap, CURVED_DEGRADED_GAP_MAX, at_most=True),
        Goal("curved lines, clean page: recall at IoU 0.5", curved.detection["clean"].recall, CURVED_RECALL_MIN, False),
        Goal(
            "curved lines, degraded page: recall at IoU 0.5",
            curved.detection["degraded"].recall,
            CURVED_RECALL_MIN,
            at_most=False,
        ),
    ]


def orientation_goals(reports: dict[str, QualityReport]) -> list[Goal]:
    """Turned and mixed pages: CER within ORIENTATION_GAP_MAX of the upright pages, read and restored."""
    upright = reports["upright"]
    return [
        Goal(
            f"{variant} minus upright, {source}: CER",
            reports[variant].cer(source) - upright.cer(source),
            ORIENTATION_GAP_MAX,
            at_most=True,
        )
        for variant in ("turned", "mixed")
        for source in ("clean", "degraded", "composited_lines", "merged")
    ]


def format_goals(goals: list[Goal]) -> str:
    width = max(len(goal.name) for goal in goals)
    rows = []
    for goal in goals:
        sign = "<=" if goal.at_most else ">="
        verdict = "met" if goal.met else "NOT MET"
        rows.append(f"{goal.name:<{width}}  {goal.value:>7.3f}  goal {sign} {goal.limit:.2f}  {verdict}")
    return "\n".join(rows)


def _relay(on_page: Progress | None) -> Callable[[SyntheticPage, QualityReport], None] | None:
    if on_page is None:
        return None
    return lambda page, _report: on_page(page)
