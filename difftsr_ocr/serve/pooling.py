"""Pooling the crops of concurrent requests into full restorer calls.

Each request runs the page pipeline in a thread of its own; when the pipeline reaches its
restore phase, :class:`PooledRestorer` hands that request's crops to the replica's pool
(Ray Serve's ``@serve.batch`` in :mod:`difftsr_ocr.serve.deployment`) and waits. The pool
gathers the crops of every request that arrives within the batch wait and restores them
in one call of the real restorer (:func:`restore_pooled`), which is what fills a GPU.
:class:`PoolStats` counts those calls, so a client can see that batching happens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from difftsr_ocr.restore.base import ProgressCallback, RestoredCrop, Restorer

__all__ = ["CropBatch", "PoolStats", "PooledRestorer", "restore_pooled"]


@dataclasses.dataclass(frozen=True)
class CropBatch:
    """The crops (and their seeds) of one request, waiting to be restored together with others'."""

    crops: list[np.ndarray]
    seeds: list[int]


@dataclasses.dataclass
class PoolStats:
    """How full the restorer calls of one replica were: requests and crops per call."""

    calls: int = 0
    requests: int = 0
    crops: int = 0
    largest_call: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def record(self, requests: int, crops: int) -> None:
        with self._lock:
            self.calls += 1
            self.requests += requests
            self.crops += crops
            self.largest_call = max(self.largest_call, requests)

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "restorer_calls": self.calls,
                "requests_restored": self.requests,
                "crops_restored": self.crops,
                "mean_requests_per_call": self.requests / self.calls if self.calls else 0.0,
                "mean_crops_per_call": self.crops / self.calls if self.calls else 0.0,
                "largest_call_requests": self.largest_call,
            }


class PooledRestorer:
    """A restorer for the pipeline that sends its crops to the replica's pool instead of restoring them.

    ``restore`` is called from request threads; ``submit`` is a coroutine function that
    runs on ``loop`` (the replica's event loop), where the pool lives.
    """

    def __init__(self, inner: Restorer, submit: Callable[[CropBatch], Awaitable[list[RestoredCrop]]]) -> None:
        self.inner = inner
        self.name = inner.name
        # Provenance reports the device a DiffTSR restorer runs on.
        if hasattr(inner, "device"):
            self.device = inner.device
        self.submit = submit
        self.loop: asyncio.AbstractEventLoop | None = None

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]:
        if self.loop is None:
            raise RuntimeError("PooledRestorer.loop must be set by the service before the first request")
        batch = CropBatch(list(crops), list(seeds) if seeds is not None else [0] * len(crops))
        return asyncio.run_coroutine_threadsafe(self.submit(batch), self.loop).result()


async def restore_pooled(
    restorer: Restorer, batches: Sequence[CropBatch], executor: Executor, stats: PoolStats
) -> list[list[RestoredCrop]]:
    """Restore the crops of every batch in one restorer call; the results split back per batch.

    The call runs on ``executor`` (a thread of its own: the request threads are all
    waiting for it), so the event loop keeps taking requests for the next pool.
    """
    crops = [crop for batch in batches for crop in batch.crops]
    seeds = [seed for batch in batches for seed in batch.seeds]
    loop = asyncio.get_running_loop()
    results = await loop.run_in_executor(executor, lambda: restorer.restore(crops, seeds=seeds)) if crops else []
    stats.record(len(batches), len(crops))
    split, start = [], 0
    for batch in batches:
        split.append(results[start : start + len(batch.crops)])
        start += len(batch.crops)
    return split
