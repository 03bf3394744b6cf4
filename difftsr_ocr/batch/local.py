"""The local executor: one pipeline in this process, inputs in order.

Pages are prepared (decoded, detected, read) by a helper thread, ahead of the restorer,
and restored in pooled calls of ``executor.pages_per_batch`` pages, a multi-page input
page by page (see :mod:`difftsr_ocr.streaming`); records come out in the job's order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from difftsr_ocr.batch.job import Job
from difftsr_ocr.batch.plan import WorkItem
from difftsr_ocr.batch.worker import run_items

__all__ = ["run_local"]


def run_local(job: Job, items: Sequence[WorkItem], force: bool = False) -> Iterator[dict[str, Any]]:
    """One manifest record per input, as each is written; building the pipeline may raise a DifftsrError.

    ``force`` redoes the pages an interrupted run left finished.
    """
    from difftsr_ocr.pipeline import build_pipeline

    pipeline = build_pipeline(job.pipeline)
    yield from run_items(
        pipeline, items, job.outputs.formats, job.inputs.pdf_dpi, job.executor.pages_per_batch, reuse_pages=not force
    )
