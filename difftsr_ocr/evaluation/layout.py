"""Score page layout on generated column pages: reading order, blocks and columns.

Lines are found either by a detector or taken from the truth (which isolates the layout
from detection), matched to the truth lines at IoU ``MATCH_IOU``, and laid out by
:func:`~difftsr_ocr.geometry.layout.arrange_lines`, exactly as the pipeline does. Per
page:

* **complete**: every true line was found once and nothing else was found;
* **order exact**: complete, and every line is in its true place in reading order;
* **order kept**: the lines that were found come in their true order (detection aside);
* **blocks exact**: complete, and the blocks are exactly the true ones;

and per block found, whether all its lines lie in one true column (**pure**: a block
mixes neither two columns, nor a column's text with the lines across the page above
it), and per true block whether a found block holds exactly its lines.

Scores are sums over pages (``+``), kept per group: all pages, and pages of two or of
three columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from difftsr_ocr.evaluation.metrics import match_polygons
from difftsr_ocr.evaluation.synthetic.columns import ColumnPage
from difftsr_ocr.geometry.layout import PageLayout, arrange_lines

__all__ = ["MATCH_IOU", "LayoutScore", "evaluate_layout", "format_layout", "score_layout"]

# Lower than detection scoring's 0.5: around a word of two letters ("on", "15") the
# detector's box is padded by its unclip ratio to about twice the ink-tight truth box,
# so a line found all right can score an IoU of 0.45. Matching one to one keeps a box
# that merges two lines from counting for both.
MATCH_IOU = 0.3


@dataclasses.dataclass(frozen=True)
class LayoutScore:
    pages: int = 0
    complete: int = 0
    order_exact: int = 0
    order_kept: int = 0
    blocks_exact: int = 0
    blocks: int = 0  # found
    pure_blocks: int = 0
    true_blocks: int = 0
    true_blocks_found: int = 0

    def __add__(self, other: LayoutScore) -> LayoutScore:
        return LayoutScore(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(LayoutScore)}
        )

    def rate(self, name: str) -> float:
        """A page count (``complete``, ``order_exact``, ...) as a fraction of the pages; 0 without pages."""
        return getattr(self, name) / self.pages if self.pages else 0.0

    @property
    def purity(self) -> float:
        """Found blocks within one true column, as a fraction of the found blocks."""
        return self.pure_blocks / self.blocks if self.blocks else 1.0

    @property
    def block_recall(self) -> float:
        """True blocks found exactly, as a fraction of the true blocks."""
        return self.true_blocks_found / self.true_blocks if self.true_blocks else 1.0

    def to_dict(self) -> dict[str, float]:
        rates = {f"{name}_rate": self.rate(name) for name in ("complete", "order_exact", "order_kept", "blocks_exact")}
        return {**dataclasses.asdict(self), **rates, "purity": self.purity, "block_recall": self.block_recall}


def score_layout(page: ColumnPage, polygons: Sequence[np.ndarray], layout: PageLayout) -> LayoutScore:
    """Score the layout of ``polygons`` (the lines found on ``page``) against the page's truth."""
    truth_of: dict[int, int] = dict(match_polygons(polygons, [line.polygon for line in page.lines], MATCH_IOU))
    complete = len(truth_of) == len(page.lines) == len(polygons)
    sequence = [truth_of[i] for i in layout.order if i in truth_of]
    found = [[truth_of[i] for i in block if i in truth_of] for block in layout.blocks]
    found = [block for block in found if block]
    truth = page.block_lines()

    found_set = {tuple(block) for block in found}
    return LayoutScore(
        pages=1,
        complete=int(complete),
        order_exact=int(complete and sequence == list(range(len(page.lines)))),
        order_kept=int(sequence == sorted(sequence)),
        blocks_exact=int(complete and found == truth),
        blocks=len(found),
        pure_blocks=sum(len({page.columns[line] for line in block}) == 1 for block in found),
        true_blocks=len(truth),
        true_blocks_found=sum(tuple(block) in found_set for block in truth),
    )


def evaluate_layout(
    pages: Iterable[ColumnPage],
    find_lines: Callable[[ColumnPage], list[np.ndarray]],
    on_page: Callable[[ColumnPage, LayoutScore], None] | None = None,
) -> dict[str, LayoutScore]:
    """Lay out the lines ``find_lines`` finds on each page and score them; per group ("all", "2 columns", ...)."""
    scores: dict[str, LayoutScore] = {}
    for page in pages:
        polygons = find_lines(page)
        score = score_layout(page, polygons, arrange_lines(polygons))
        for group in ("all", f"{page.column_count} columns"):
            scores[group] = scores.get(group, LayoutScore()) + score
        if on_page is not None:
            on_page(page, score)
    return scores


def format_layout(results: dict[str, dict[str, LayoutScore]]) -> str:
    """One table: a row per (source of lines, group of pages)."""
    names = ("complete", "order_exact", "order_kept", "blocks_exact")
    out = [
        f"{'lines from':<16}{'pages':<12}{'n':>4}{'complete':>10}{'order exact':>13}{'order kept':>12}"
        f"{'blocks exact':>14}{'pure blocks':>13}{'true blocks found':>19}"
    ]
    for source, groups in results.items():
        for group in sorted(groups, key=lambda g: (g != "all", g)):
            score = groups[group]
            rates = "".join(
                f"{score.rate(name):>{width}.1%}" for name, width in zip(names, (10, 13, 12, 14), strict=True)
            )
            out.append(
                f"{source:<16}{group:<12}{score.pages:>4}{rates}{score.purity:>13.1%}{score.block_recall:>19.1%}"
            )
    return "\n".join(out)
