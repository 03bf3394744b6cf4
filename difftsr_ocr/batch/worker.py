"""Running a list of inputs through one pipeline and turning each into a manifest record.

Shared by both executors: the local one runs it over the whole job, each Ray actor over
the groups it is sent. Pages are streamed and pooled by :mod:`difftsr_ocr.streaming`. It
never raises for an input: every input ends as one manifest record, ``ok`` with its
counts, files and the pages reused from an interrupted run, or ``failed`` with a
one-line reason.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from difftsr_ocr.batch.plan import WorkItem
from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.provenance import run_provenance
from difftsr_ocr.streaming import InputOutcome, InputTask, StreamSettings, process_inputs

__all__ = ["failure_record", "run_items"]

logger = logging.getLogger(__name__)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _reason(error: Exception) -> str:
    if isinstance(error, DifftsrError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}".replace("\n", " ")


def failure_record(item: WorkItem, error: Exception, seconds: float = 0.0) -> dict[str, Any]:
    logger.debug("input %s failed", item.source, exc_info=error)
    return {
        "input": item.key,
        "status": "failed",
        "error": _reason(error),
        "seconds": round(seconds, 3),
        "finished": _now(),
    }


def _ok_record(item: WorkItem, outcome: InputOutcome, provenance: dict[str, Any]) -> dict[str, Any]:
    lines = [line for page in outcome.pages for line in page.lines]
    counts = [page.counts() for page in outcome.pages]
    return {
        "input": item.key,
        "status": "ok",
        "pages": len(outcome.pages),
        # Pages an interrupted run had finished (their timings are not in this record's).
        "pages_reused": outcome.reused,
        "lines": len(lines),
        "restored": sum(c["restored"] for c in counts),
        "kept": sum(c["kept_original"] for c in counts),
        "flagged": sum(c["flagged"] for c in counts),
        "confidence": round(sum(line.confidence for line in lines) / len(lines), 4) if lines else 0.0,
        "seconds": round(outcome.seconds, 3),
        "timings": {stage: round(value, 3) for stage, value in outcome.timings.items()},
        "outputs": [str(path) for path in outcome.outputs],
        "error": "",
        "finished": _now(),
        "provenance": provenance,
    }


def run_items(
    pipeline: Pipeline,
    items: Iterable[WorkItem],
    formats: tuple[str, ...],
    pdf_dpi: float,
    pages_per_batch: int,
    reuse_pages: bool = True,
) -> Iterator[dict[str, Any]]:
    """One manifest record per input, yielded as soon as that input is written.

    ``reuse_pages`` false (``--force``) redoes the pages an interrupted run left finished.
    """
    by_task = {InputTask(item.source, item.output_dir, item.stem): item for item in items}
    settings = StreamSettings(formats, pdf_dpi, pages_per_batch, reuse_pages)
    provenance = run_provenance(pipeline)
    for outcome in process_inputs(pipeline, list(by_task), settings):
        item = by_task[outcome.task]
        if outcome.error is not None:
            yield failure_record(item, outcome.error, outcome.seconds)
        else:
            yield _ok_record(item, outcome, provenance)
