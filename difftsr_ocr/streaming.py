"""Running inputs through one pipeline page by page, with a bounded number of pages in memory.

Shared by the command line and the batch executors. The crops of ``pages_per_batch``
pages (of one input or several) go to the restorer in one call. When the restorer runs on
a GPU, a helper thread decodes, detects and reads the next pages meanwhile, never more
than ``pages_per_batch`` ahead; on the CPU, pages are prepared in line. A single-page input is written when
its page is done. A multi-page input writes each finished page into its work folder
(:mod:`difftsr_ocr.pageparts`) and is assembled from there after its last page, so memory
does not grow with the page count, and a killed run resumes at the first unfinished page.

Every input ends as one :class:`InputOutcome`, with its error when it failed; one
input's failure never stops the others.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar, cast

from difftsr_ocr.multipage import iter_pages, page_count
from difftsr_ocr.outputs import write_outputs
from difftsr_ocr.pageparts import PageParts, parts_fingerprint, work_folder
from difftsr_ocr.pipeline import PageResult, Pipeline, PreparedPage
from difftsr_ocr.provenance import run_provenance
from difftsr_ocr.restore.base import ProgressCallback
from difftsr_ocr.results import Page

__all__ = ["InputOutcome", "InputTask", "StreamSettings", "process_inputs"]

logger = logging.getLogger(__name__)

_Item = TypeVar("_Item")


@dataclasses.dataclass(frozen=True)
class InputTask:
    """One input file, the folder its outputs go to, and the stem they share."""

    source: Path
    output_dir: Path
    stem: str


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    formats: tuple[str, ...]
    pdf_dpi: float = 200.0
    # Pages whose crops share a restorer call; also how far decoding runs ahead of it.
    pages_per_batch: int = 4
    # False: redo every page, also those an earlier run left finished in a work folder.
    reuse_pages: bool = True


@dataclasses.dataclass
class InputOutcome:
    """How one input went: every page's results (reused pages' too), the files written, or the error.

    ``reused`` are the pages taken from an earlier run's work folder instead of being
    redone; ``timings`` and ``seconds`` are this run's own.
    """

    task: InputTask
    pages: list[Page] = dataclasses.field(default_factory=list)
    outputs: list[Path] = dataclasses.field(default_factory=list)
    reused: list[int] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    error: Exception | None = None


@dataclasses.dataclass(eq=False)
class _InputRun:
    """An input on its way through; only the consuming thread changes it after its first page is queued."""

    outcome: InputOutcome
    parts: PageParts | None = None
    results: list[PageResult] = dataclasses.field(default_factory=list)
    all_queued: bool = False


@dataclasses.dataclass(frozen=True)
class _Event:
    run: _InputRun
    page: PreparedPage | None = None
    seconds: float = 0.0
    # With page None: the input has no more pages, because they are all queued or because of this error.
    error: Exception | None = None


def _open_input(pipeline: Pipeline, task: InputTask, settings: StreamSettings) -> tuple[_InputRun, list[int]]:
    """The input's run and the page indices still to do (a multi-page input's finished parts are skipped)."""
    run = _InputRun(InputOutcome(task))
    pages = page_count(task.source, pipeline.config.max_image_pixels)
    if pages == 1:
        return run, [0]
    fingerprint = parts_fingerprint(pipeline.config, task.source, pages, settings.pdf_dpi, settings.formats)
    folder = work_folder(task.output_dir, task.stem)
    run.parts = PageParts.open(folder, fingerprint, pages, settings.formats, reuse=settings.reuse_pages)
    run.outcome.reused = sorted(run.parts.finished)
    if run.outcome.reused:
        logger.info("%s: %d of %d pages reused from %s", task.source, len(run.outcome.reused), pages, folder)
    return run, run.parts.todo


def _prepared_pages(
    pipeline: Pipeline, tasks: Iterable[InputTask], settings: StreamSettings, host_memory: threading.Lock
) -> Iterator[_Event]:
    """Each input's pages still to do, prepared, then an end event (with the error that cut it short, if any)."""
    for task in tasks:
        started = time.perf_counter()
        try:
            run, todo = _open_input(pipeline, task, settings)
        except Exception as error:
            yield _Event(_InputRun(InputOutcome(task)), error=error, seconds=time.perf_counter() - started)
            continue
        try:
            pages = iter_pages(task.source, pipeline.config.max_image_pixels, settings.pdf_dpi, wanted=frozenset(todo))
            for index, image in pages:
                with host_memory:
                    prepared = pipeline.prepare(image, index)
                yield _Event(run, prepared, seconds=time.perf_counter() - started)
                started = time.perf_counter()
        except Exception as error:
            yield _Event(run, error=error, seconds=time.perf_counter() - started)
            continue
        yield _Event(run, seconds=time.perf_counter() - started)


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _ahead(items: Iterator[_Item], size: int) -> Iterator[_Item]:
    """``items``, produced by a helper thread that keeps at most ``size`` of them waiting."""
    waiting: queue.Queue[object] = queue.Queue(maxsize=size)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as error:  # handed to the consumer, which raises it
            put(_Raised(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # an input left half-read (the consumer stopped) lets go of its file

    helper = threading.Thread(target=produce, name="difftsr-prepare", daemon=True)
    helper.start()
    try:
        while (item := waiting.get()) is not end:
            if isinstance(item, _Raised):
                raise item.error
            yield cast(_Item, item)
    finally:
        stop.set()
        helper.join()


def _restore(
    pipeline: Pipeline, batch: list[tuple[_InputRun, PreparedPage]], on_progress: ProgressCallback | None
) -> None:
    """Restore the pooled pages; an input whose restoration fails gets the error, its neighbours go on."""
    started = time.perf_counter()
    try:
        pipeline.restore([page for _, page in batch], on_progress)
    except Exception as error:
        runs = list(dict.fromkeys(run for run, _ in batch))
        if len(runs) == 1:
            runs[0].outcome.error = error
        else:
            # Pooled, one input's failure would fail its neighbours: redo them one by one.
            logger.warning("a pooled restorer call failed; restoring its %d inputs one by one", len(runs))
            for run in runs:
                try:
                    pipeline.restore([page for owner, page in batch if owner is run], on_progress)
                except Exception as single:
                    run.outcome.error = single
    finally:
        elapsed = time.perf_counter() - started
        for run, _ in batch:
            run.outcome.seconds += elapsed / len(batch)


def _finish(pipeline: Pipeline, batch: list[tuple[_InputRun, PreparedPage]]) -> None:
    """Gate, composite and merge each restored page, and keep it (in memory or as a part)."""
    for run, page in batch:
        if run.outcome.error is not None:
            continue
        started = time.perf_counter()
        try:
            result = pipeline.finish(page)
            if run.parts is not None:
                run.parts.add(result, page.index)
            else:
                run.results.append(result)
            for stage, seconds in result.timings.items():
                run.outcome.timings[stage] = run.outcome.timings.get(stage, 0.0) + seconds
        except Exception as error:
            run.outcome.error = error
        finally:
            run.outcome.seconds += time.perf_counter() - started


def _write(pipeline: Pipeline, run: _InputRun, settings: StreamSettings) -> None:
    """Write a finished input's outputs (a multi-page one's from its parts, which then go)."""
    task = run.outcome.task
    started = time.perf_counter()
    try:
        provenance = run_provenance(pipeline)
        if run.parts is not None:
            outputs, pages = run.parts.assemble(task.source, task.output_dir, task.stem, provenance)
            run.outcome.outputs, run.outcome.pages = outputs, pages
            run.parts.remove()
        else:
            run.outcome.outputs = write_outputs(
                task.source, run.results, task.output_dir, settings.formats, task.stem, provenance
            )
            run.outcome.pages = [result.page for result in run.results]
    except Exception as error:
        run.outcome.error = error
    finally:
        run.outcome.seconds += time.perf_counter() - started


def _restores_off_the_cpu(pipeline: Pipeline) -> bool:
    """Whether preparing pages ahead pays: only while the restorer works on another device (a GPU).

    On the CPU the two stages compete for the same cores, and preparing ahead only stacks
    their memory peaks: measured on a 40-page A4 PDF, 910 MB in a helper thread against
    696 MB in line, flat from the 5th page on.
    """
    device = str(getattr(pipeline.restorer, "device", "cpu"))
    return pipeline.restorer is not None and not device.startswith("cpu")


def process_inputs(
    pipeline: Pipeline,
    tasks: Iterable[InputTask],
    settings: StreamSettings,
    on_progress: ProgressCallback | None = None,
) -> Iterator[InputOutcome]:
    """One outcome per input, in order, yielded as soon as that input is written (or has failed).

    ``on_progress`` follows each restorer call. A failed multi-page input keeps its
    finished pages in its work folder for the next run.
    """
    size = max(1, settings.pages_per_batch)
    # Held while a page is prepared (detection holds ~0.5 GB of feature maps for an A4 page)
    # and while pages are finished and written (compositing, encoding): their peaks never
    # stack, so the process's peak does not depend on how long the document is. The
    # restorer (the GPU, when there is one) still works while the next pages are prepared.
    host_memory = threading.Lock()
    started: deque[_InputRun] = deque()
    batch: list[tuple[_InputRun, PreparedPage]] = []

    def flush() -> None:
        live = [(run, page) for run, page in batch if run.outcome.error is None]
        batch.clear()
        if live:
            _restore(pipeline, live, on_progress)
            with host_memory:
                _finish(pipeline, live)

    def ready() -> Iterator[InputOutcome]:
        while started and started[0].all_queued and not any(run is started[0] for run, _ in batch):
            run = started.popleft()
            if run.outcome.error is None:
                with host_memory:
                    _write(pipeline, run, settings)
            if run.outcome.error is not None:
                logger.debug("input %s failed", run.outcome.task.source, exc_info=run.outcome.error)
            yield run.outcome

    events = _prepared_pages(pipeline, tasks, settings, host_memory)
    if _restores_off_the_cpu(pipeline):
        events = _ahead(events, size)
    for event in events:
        run = event.run
        if not started or started[-1] is not run:
            started.append(run)
        run.outcome.seconds += event.seconds
        if event.page is not None:
            batch.append((run, event.page))
            if len(batch) >= size:
                flush()
        else:
            run.all_queued = True
            run.outcome.error = run.outcome.error or event.error
        yield from ready()
    flush()
    yield from ready()
