"""The Ray executor: actors that each build the pipeline once and restore groups of inputs.

Ray is imported here only, and only when a job says ``executor: {kind: ray}``. Each actor
gets groups of inputs, writes their outputs itself and returns one status record per
input; it never lets an exception escape. An actor can still die (out of memory, a
killed process, a lost node): its group then goes to a fresh actor, up to
``ATTEMPTS`` times in all, and only then fails alone, with the reason, while the rest of
the job goes on. The driver (:mod:`difftsr_ocr.batch.runner`) writes the manifest.

Ray starts as :func:`difftsr_ocr.ray_session.ray_session` starts it. Each worker sets the
user's HOME back before building its pipeline, so weights under ``~/.cache`` are still
found (a ``runtime_env`` would need Ray's runtime-env agent).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from difftsr_ocr.batch.job import Job
from difftsr_ocr.batch.plan import WorkItem
from difftsr_ocr.errors import ConfigError, DeviceError
from difftsr_ocr.ray_session import ray_session

__all__ = ["ATTEMPTS", "BatchWorker", "run_ray"]

# How often a group of inputs is tried when the actor running it dies.
ATTEMPTS = 3

# Building a pipeline takes seconds; minutes means the workers cannot start at all.
_START_TIMEOUT_S = 300.0


class BatchWorker:
    """One pipeline per actor; :meth:`run` turns a group of inputs into manifest records."""

    def __init__(
        self, config: dict[str, Any], formats: tuple[str, ...], pdf_dpi: float, pages_per_batch: int, home: str
    ) -> None:
        from difftsr_ocr.config import config_from_dict
        from difftsr_ocr.pipeline import build_pipeline
        from difftsr_ocr.runtime.allocator import manage_allocator

        os.environ["HOME"] = home
        manage_allocator()

        self.formats, self.pdf_dpi, self.pages_per_batch = formats, pdf_dpi, pages_per_batch
        self.error: Exception | None = None
        try:
            self.pipeline = build_pipeline(config_from_dict(config, source="job pipeline"))
        except Exception as error:  # reported by ready(): a dead actor would only say "actor died"
            self.error = error

    def ready(self, shared: Sequence[str] = ()) -> Exception | None:
        """Why this worker cannot work (None: it can); ``shared`` are paths it must see as the driver does."""
        if self.error is not None:
            return self.error
        unseen = [path for path in shared if not os.path.exists(path)]
        if unseen:
            return ConfigError(
                f"a Ray worker on {platform.node()} cannot see {unseen[0]}: inputs and the output folder"
                " must be on a file system every Ray node mounts at the same path"
            )
        return None

    def run(self, items: list[WorkItem], force: bool = False) -> list[dict[str, Any]]:
        """``force`` redoes the pages an interrupted run left finished (a retried group keeps its own)."""
        from difftsr_ocr.batch.worker import failure_record, run_items

        records: list[dict[str, Any]] = []
        try:
            records.extend(
                run_items(self.pipeline, items, self.formats, self.pdf_dpi, self.pages_per_batch, reuse_pages=not force)
            )
        except Exception as error:  # never escape: one raising task aborts the whole pool
            done = {record["input"] for record in records}
            records.extend(failure_record(item, error) for item in items if item.key not in done)
        return records


def _ray_session(job: Job) -> contextlib.AbstractContextManager[Any]:
    spec = job.executor
    return ray_session(spec.address, num_cpus=max(os.cpu_count() or 1, int(spec.workers * spec.num_cpus)))


def _groups(items: Sequence[WorkItem], size: int) -> list[list[WorkItem]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def run_ray(
    job: Job, items: Sequence[WorkItem], force: bool = False, worker_class: type[BatchWorker] = BatchWorker
) -> Iterator[dict[str, Any]]:
    """One manifest record per input, as each group of inputs comes back from the actors."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"{job.source}: executor.kind ray needs Ray; pip install 'ray[data]'") from None

    from difftsr_ocr.batch.worker import failure_record
    from difftsr_ocr.config import config_to_dict

    spec = job.executor
    with _ray_session(job) as ray:
        cpus = ray.cluster_resources().get("CPU", 0.0)
        gpus = ray.cluster_resources().get("GPU", 0.0)
        if spec.workers * spec.num_cpus > cpus or spec.workers * spec.num_gpus > gpus:
            raise ConfigError(
                f"{job.source}: executor asks for {spec.workers} worker(s) x {spec.num_cpus:g} CPU / {spec.num_gpus:g}"
                f" GPU but Ray has {cpus:g} CPU / {gpus:g} GPU; lower executor.workers, num_cpus or num_gpus"
            )
        actor = ray.remote(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus)(worker_class)
        config = config_to_dict(job.pipeline)
        # What every worker must see: an input, and the folder the outputs go to.
        job.output_folder.mkdir(parents=True, exist_ok=True)
        shared = [str(items[0].source), str(job.output_folder)] if items else []

        def start(count: int) -> list[Any]:
            workers = [
                actor.remote(config, job.outputs.formats, job.inputs.pdf_dpi, spec.pages_per_batch, str(Path.home()))
                for _ in range(count)
            ]
            try:
                errors = ray.get([worker.ready.remote(shared) for worker in workers], timeout=_START_TIMEOUT_S)
            except (ray.exceptions.RayError, TimeoutError) as error:
                first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise DeviceError(f"{job.source}: Ray workers did not start ({first}); see the raylet logs") from None
            for error in errors:
                if error is not None:
                    raise error
            return workers

        idle = start(spec.workers)
        waiting = [(group, 1) for group in _groups(items, spec.pages_per_batch)]
        running: dict[Any, tuple[list[WorkItem], int, Any]] = {}
        while waiting or running:
            while waiting and idle:
                group, attempt = waiting.pop(0)
                worker = idle.pop()
                # A retry reuses the pages the dead worker finished: this run made them.
                running[worker.run.remote(group, force and attempt == 1)] = (group, attempt, worker)
            (done,), _ = ray.wait(list(running), num_returns=1)
            group, attempt, worker = running.pop(done)
            try:
                records = ray.get(done)
            except ray.exceptions.RayActorError as error:
                # The actor is gone with whatever it held: a fresh one takes its place.
                ray.kill(worker, no_restart=True)
                idle.extend(start(1))
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                if attempt < ATTEMPTS:
                    waiting.append((group, attempt + 1))
                    continue
                died = DeviceError(
                    f"the Ray worker died {ATTEMPTS} times on this input's group ({reason}); "
                    "give workers more memory (executor.num_cpus, fewer pages_per_batch) or check the raylet logs"
                )
                records = [failure_record(item, died) for item in group]
            else:
                idle.append(worker)
            yield from records
