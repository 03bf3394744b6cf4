"""The local executor: one pipeline in this process, inputs in order.

Pages are prepared (decoded, detected, read) one input at a time and restored in pooled
calls of ``executor.pages_per_batch`` pages. Preparing the next pages on a thread while
the restorer runs is left out on purpose: on CPU both compete for the same cores, and
the sequential loop keeps the manifest's order equal to the job's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from difftsr_ocr.batch.job import Job
from difftsr_ocr.batch.plan import WorkItem
from difftsr_ocr.batch.worker import run_items

__all__ = ["run_local"]


def run_local(job: Job, items: Sequence[WorkItem]) -> Iterator[dict[str, Any]]:
    """One manifest record per input, as each is written; building the pipeline may raise a DifftsrError."""
    from difftsr_ocr.pipeline import build_pipeline

    pipeline = build_pipeline(job.pipeline)
    yield from run_items(pipeline, items, job.outputs.formats, job.inputs.pdf_dpi, job.executor.pages_per_batch)
