"""Running a list of inputs through one pipeline, pooling pages into full restorer calls.

Shared by both executors: the local one runs it over the whole job, each Ray actor over
the groups it is sent. It never raises for an input: every input ends as one manifest
record, ``ok`` with its counts and files or ``failed`` with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from difftsr_ocr.batch.plan import WorkItem
from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.imageio import load_pages
from difftsr_ocr.outputs import write_outputs
from difftsr_ocr.pipeline import PageResult, Pipeline, PreparedPage
from difftsr_ocr.provenance import run_provenance

__all__ = ["failure_record", "run_items"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Pending:
    item: WorkItem
    pages: list[PreparedPage]
    seconds: float


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


def _ok_record(
    item: WorkItem, results: list[PageResult], outputs: list, seconds: float, provenance: dict[str, Any]
) -> dict[str, Any]:
    lines = [line for result in results for line in result.page.lines]
    counts = [result.page.counts() for result in results]
    timings: dict[str, float] = {}
    for result in results:
        for stage, value in result.timings.items():
            timings[stage] = round(timings.get(stage, 0.0) + value, 3)
    return {
        "input": item.key,
        "status": "ok",
        "pages": len(results),
        "lines": len(lines),
        "restored": sum(c["restored"] for c in counts),
        "kept": sum(c["kept_original"] for c in counts),
        "flagged": sum(c["flagged"] for c in counts),
        "confidence": round(sum(line.confidence for line in lines) / len(lines), 4) if lines else 0.0,
        "seconds": round(seconds, 3),
        "timings": timings,
        "outputs": [str(path) for path in outputs],
        "error": "",
        "finished": _now(),
        "provenance": provenance,
    }


def _restore(pipeline: Pipeline, pending: list[_Pending]) -> dict[int, Exception]:
    """Restore the pooled pages; returns the inputs (by position) whose restoration failed."""
    started = time.perf_counter()
    try:
        pipeline.restore([page for entry in pending for page in entry.pages])
    except Exception:
        if len(pending) == 1:
            raise
        # Pooled, one input's failure would fail its neighbours: redo them one by one.
        logger.warning("a pooled restorer call failed; restoring its %d inputs one by one", len(pending))
        failures: dict[int, Exception] = {}
        for number, entry in enumerate(pending):
            try:
                pipeline.restore(entry.pages)
            except Exception as error:
                failures[number] = error
        return failures
    finally:
        elapsed = time.perf_counter() - started
        total = sum(len(entry.pages) for entry in pending) or 1
        for entry in pending:
            entry.seconds += elapsed * len(entry.pages) / total
    return {}


def _flush(pipeline: Pipeline, pending: list[_Pending], formats: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    try:
        failures = _restore(pipeline, pending)
    except Exception as error:
        failures = dict.fromkeys(range(len(pending)), error)
    provenance = run_provenance(pipeline)
    for number, entry in enumerate(pending):
        if number in failures:
            yield failure_record(entry.item, failures[number], entry.seconds)
            continue
        started = time.perf_counter()
        try:
            results = [pipeline.finish(page) for page in entry.pages]
            outputs = write_outputs(
                entry.item.source, results, entry.item.output_dir, formats, entry.item.stem, provenance
            )
        except Exception as error:
            yield failure_record(entry.item, error, entry.seconds + time.perf_counter() - started)
            continue
        yield _ok_record(entry.item, results, outputs, entry.seconds + time.perf_counter() - started, provenance)


def _prepare(pipeline: Pipeline, item: WorkItem, pdf_dpi: float) -> _Pending:
    started = time.perf_counter()
    images = load_pages(item.source, max_pixels=pipeline.config.max_image_pixels, pdf_dpi=pdf_dpi)
    prepared = [pipeline.prepare(image, index) for index, image in enumerate(images)]
    return _Pending(item, prepared, time.perf_counter() - started)


def run_items(
    pipeline: Pipeline, items: Iterable[WorkItem], formats: tuple[str, ...], pdf_dpi: float, pages_per_batch: int
) -> Iterator[dict[str, Any]]:
    """One manifest record per input, yielded as soon as that input is written.

    A helper thread decodes, detects and reads the next inputs while this one restores
    the pooled pages, so the restorer (the GPU, when there is one) is not left waiting on
    decoding and detection; ONNX Runtime sessions may be run from several threads.
    """
    upcoming = iter(items)
    queue: deque[tuple[WorkItem, Future[_Pending]]] = deque()
    pending: list[_Pending] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="difftsr-prepare") as prefetch:

        def top_up() -> None:
            while len(queue) < max(2, pages_per_batch):
                item = next(upcoming, None)
                if item is None:
                    return
                queue.append((item, prefetch.submit(_prepare, pipeline, item, pdf_dpi)))

        top_up()
        while queue:
            item, future = queue.popleft()
            top_up()
            try:
                pending.append(future.result())
            except Exception as error:
                yield failure_record(item, error)
                continue
            if sum(len(entry.pages) for entry in pending) >= pages_per_batch:
                yield from _flush(pipeline, pending, formats)
                pending = []
        if pending:
            yield from _flush(pipeline, pending, formats)
