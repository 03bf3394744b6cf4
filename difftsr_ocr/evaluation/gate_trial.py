"""The trust gate on trial: an ideal restorer and a convincing liar on pages with known text.

Per page the pipeline detects and reads the degraded lines once; then the truth
restorer and the liar (:mod:`.oracles`) each restore them and every gate policy
decides. A good gate accepts nearly all of the truth restorer's corrections (changed
readings nearer the truth) and refuses the liar's lies (hallucinations the original
pixels do not show). Every changed line is kept with its evidence, so thresholds can
be calibrated on the figures, and the merged text is scored against the truth.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from difftsr_ocr.evaluation.metrics import TextScore, assign_texts, match_polygons, text_score
from difftsr_ocr.evaluation.oracles import liar_for, truth_for
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage
from difftsr_ocr.gate import GATE_POLICIES
from difftsr_ocr.merge import edit_distance, reading_key, same_reading
from difftsr_ocr.pipeline import Pipeline, PreparedPage
from difftsr_ocr.results import Evidence

__all__ = ["RESTORERS", "ChangedLine", "GateTrial", "run_gate_trial"]

RESTORERS = ("truth", "liar")


@dataclasses.dataclass(frozen=True)
class ChangedLine:
    """A line whose restored reading differs from the original one, and what each policy did with it."""

    restorer: str
    script: str
    truth: str
    original: str
    restored: str
    restored_confidence: float
    evidence: Evidence | None
    accepted: dict[str, bool]

    @property
    def lie(self) -> bool:
        """Whether the restored reading says something the truth does not (a liar's redraw can still read true)."""
        return not same_reading(self.restored, self.truth)

    @property
    def corrects(self) -> bool:
        """Whether the restored reading is nearer the truth than the original one.

        The truth restorer's crop is the clean line, yet OCR can misread even that
        ('Room 305,' read as 'Room 305.'): such a change moves away from the truth, and
        refusing it is right, as a liar's redraw that still reads true is no lie.
        """
        truth = reading_key(self.truth)
        return edit_distance(reading_key(self.restored), truth) < edit_distance(reading_key(self.original), truth)


@dataclasses.dataclass
class GateTrial:
    """Changed lines and merged-text scores, per restorer, policy and script."""

    changed: list[ChangedLine] = dataclasses.field(default_factory=list)
    merged: dict[tuple[str, str, str], TextScore] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(TextScore)
    )
    pages: int = 0
    lines: int = 0

    def lines_of(self, restorer: str, script: str = "all") -> list[ChangedLine]:
        """``restorer``'s changed readings of true lines in ``script``: the truth restorer's corrections, the liar's lies.

        A detection that matches no true line (a fragment, two lines at once) has no
        truth to correct towards, so its changes count for neither restorer.
        """
        return [
            c
            for c in self.changed
            if c.restorer == restorer
            and c.script != "unmatched"
            and script in ("all", c.script)
            and (c.lie if restorer == "liar" else c.corrects)
        ]

    def accepted_share(self, restorer: str, policy: str, script: str = "all") -> float:
        """Share of ``restorer``'s changed readings that ``policy`` let in (nan when there are none)."""
        lines = self.lines_of(restorer, script)
        return float(np.mean([c.accepted[policy] for c in lines])) if lines else float("nan")


def _truth_indices(prepared: PreparedPage, page: SyntheticPage) -> list[int | None]:
    pairs = dict(
        match_polygons([line.region.polygon for line in prepared.lines], [line.polygon for line in page.lines])
    )
    return [pairs.get(index) for index in range(len(prepared.lines))]


def run_gate_trial(
    pages: Iterable[SyntheticPage],
    pipeline: Pipeline,
    policies: Sequence[str] = GATE_POLICIES,
    on_page: Callable[[SyntheticPage, GateTrial], None] | None = None,
) -> GateTrial:
    """Run the truth restorer and the liar through ``pipeline``'s stages under each policy."""
    reader = Pipeline(pipeline.detector, pipeline.recognizer, None, pipeline.config)
    gates = {
        policy: dataclasses.replace(pipeline.config, gate=dataclasses.replace(pipeline.config.gate, policy=policy))
        for policy in policies
    }
    trial = GateTrial()
    for page in pages:
        prepared = reader.prepare(page.degraded)
        truth_lines = _truth_indices(prepared, page)
        restorers = {
            "truth": truth_for(prepared, page.clean),
            "liar": liar_for(prepared, page, truth_lines, pipeline.recognizer, seed=page.seed)[0],
        }
        vertical = [line.kind == "vertical" for line in page.lines]
        for name, restorer in restorers.items():
            work = copy.deepcopy(prepared)
            Pipeline(pipeline.detector, pipeline.recognizer, restorer, pipeline.config).restore([work])
            results = {
                policy: Pipeline(pipeline.detector, pipeline.recognizer, restorer, config).finish(work)
                for policy, config in gates.items()
            }
            for number, line in enumerate(work.lines):
                truth = truth_lines[number]
                if line.restored is None or same_reading(line.restored.text, line.original.text):
                    continue
                first = next(iter(results.values())).page.lines[number]
                trial.changed.append(
                    ChangedLine(
                        restorer=name,
                        script=page.lines[truth].script if truth is not None else "unmatched",
                        truth=page.lines[truth].text if truth is not None else "",
                        original=line.original.text,
                        restored=line.restored.text,
                        restored_confidence=line.restored.confidence,
                        evidence=first.evidence,
                        accepted={p: r.page.lines[number].decision == "restored" for p, r in results.items()},
                    )
                )
            for policy, result in results.items():
                texts = assign_texts(
                    [(np.asarray(line.polygon), line.text) for line in result.page.lines],
                    [line.polygon for line in page.lines],
                    vertical,
                )
                for truth_line, text in zip(page.lines, texts, strict=True):
                    score = text_score([text], [truth_line.text])
                    trial.merged[name, policy, "all"] += score
                    trial.merged[name, policy, truth_line.script] += score
        trial.pages += 1
        trial.lines += len(page.lines)
        if on_page is not None:
            on_page(page, trial)
    return trial
