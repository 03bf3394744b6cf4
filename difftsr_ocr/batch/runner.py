"""Running a job: plan, skip what is already done, execute, record, summarise.

The driver is the only writer of the manifest, whichever executor runs the inputs: each
record is appended the moment it arrives, so a killed job resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from difftsr_ocr.batch.job import Job
from difftsr_ocr.batch.manifest import Manifest, is_complete, read_manifest
from difftsr_ocr.batch.plan import WorkItem, plan_job
from difftsr_ocr.provenance import input_fingerprint, pipeline_fingerprint

__all__ = ["JobSummary", "run_job", "split_done"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class JobSummary:
    """What a run did; ``records`` are this run's manifest records, in arrival order."""

    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for record in self.records if record["status"] == status)

    def total(self, key: str) -> int:
        # Counts of inputs processed in this run; skipped ones were counted when they ran.
        return sum(int(record.get(key, 0)) for record in self.records if record["status"] == "ok")

    @property
    def pages_per_minute(self) -> float:
        return 60.0 * self.total("pages") / self.seconds if self.seconds > 0 else 0.0

    @property
    def failures(self) -> list[tuple[str, str]]:
        return [(record["input"], record["error"]) for record in self.records if record["status"] == "failed"]


def split_done(
    job: Job, items: Sequence[WorkItem], force: bool = False, fingerprints: Mapping[str, str] | None = None
) -> tuple[list[WorkItem], list[dict[str, Any]]]:
    """The inputs still to do, and a ``skipped`` record for each one done before by the same pipeline.

    An earlier result counts only when its outputs are whole and it was made from the
    same input (fingerprint) by the same pipeline (config, weights, version); otherwise
    the input is redone and the log says why. ``force`` redoes everything.
    ``fingerprints`` (input key -> :func:`input_fingerprint`) saves hashing the inputs again.
    """
    previous = read_manifest(job.manifest_path)
    pipeline = pipeline_fingerprint(job.pipeline)
    todo, skipped = [], []
    for item in items:
        record = previous.get(item.key)
        fingerprint = fingerprints[item.key] if fingerprints is not None else None
        reason = _stale(record, item, pipeline, fingerprint, job) if not force else "--force"
        if reason is None:
            skipped.append({**record, "status": "skipped", "seconds": 0.0})
        else:
            if record is not None:
                logger.warning("%s: done again (%s)", item.source, reason)
            todo.append(item)
    return todo, skipped


def _stale(
    record: dict[str, Any] | None, item: WorkItem, pipeline: str, fingerprint: str | None, job: Job
) -> str | None:
    """Why an earlier record cannot stand for ``item`` now (None: it can)."""
    if record is None:
        return "never done"
    if not is_complete(record, item.source, item.output_dir, item.stem, job.outputs.formats):
        return "its outputs are missing or damaged"
    if record.get("pipeline") != pipeline:
        return "the pipeline config, weights or version changed"
    if record.get("input_fingerprint") != (fingerprint or input_fingerprint(item.source)):
        return "the input file changed"
    return None


def _executor(job: Job) -> Callable[[Job, Sequence[WorkItem], bool], Iterator[dict[str, Any]]]:
    if job.executor.kind == "ray":
        from difftsr_ocr.batch.ray import run_ray

        return run_ray
    from difftsr_ocr.batch.local import run_local

    return run_local


def run_job(job: Job, on_record: Callable[[dict[str, Any]], None] | None = None, force: bool = False) -> JobSummary:
    """Run every input not already done (all with ``force``); each record goes to the manifest, then to ``on_record``."""
    started = time.perf_counter()
    items = plan_job(job)
    # Taken once, before the work starts: an input replaced while it runs is redone next time.
    fingerprints = {item.key: input_fingerprint(item.source) for item in items}
    todo, skipped = split_done(job, items, force, fingerprints)
    pipeline = pipeline_fingerprint(job.pipeline)
    summary = JobSummary()
    with Manifest(job.manifest_path) as manifest:

        def record(entry: dict[str, Any]) -> None:
            if entry["status"] != "skipped":
                entry = {**entry, "pipeline": pipeline, "input_fingerprint": fingerprints[entry["input"]]}
            manifest.append(entry)
            summary.records.append(entry)
            if on_record is not None:
                on_record(entry)

        for entry in skipped:
            record(entry)
        if todo:
            for entry in _executor(job)(job, todo, force):
                record(entry)
    summary.seconds = time.perf_counter() - started
    return summary
