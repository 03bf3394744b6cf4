"""Pooling and placement without starting Ray: crops split back per request, GPUs shared as asked."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from difftsr_ocr.config import PipelineConfig
from difftsr_ocr.errors import ConfigError, DeviceError
from difftsr_ocr.restore.base import RestoredCrop
from difftsr_ocr.serve.deployment import Placement, gpus_per_replica
from difftsr_ocr.serve.pooling import CropBatch, PoolStats, restore_pooled


class _CountingRestorer:
    """Marks each crop with its seed, and remembers how many crops each call got."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def restore(self, crops, seeds=None, on_progress=None) -> list[RestoredCrop]:
        self.calls.append(len(crops))
        return [RestoredCrop(crop, text=str(seed)) for crop, seed in zip(crops, seeds, strict=True)]


def test_one_call_for_all_requests_and_each_gets_its_own_crops_back() -> None:
    restorer, stats = _CountingRestorer(), PoolStats()
    batches = [
        CropBatch([np.full((4, 8, 3), n, np.uint8) for n in range(count)], [100 * index + n for n in range(count)])
        for index, count in enumerate((2, 0, 3))
    ]
    with ThreadPoolExecutor(1) as thread:
        split = asyncio.run(restore_pooled(restorer, batches, thread, stats))
    assert restorer.calls == [5], "every request's crops in one restorer call"
    assert [[result.text for result in results] for results in split] == [["0", "1"], [], ["200", "201", "202"]]
    assert stats.to_dict()["mean_requests_per_call"] == 3 and stats.to_dict()["crops_restored"] == 5


def test_replicas_share_gpus_as_asked() -> None:
    gpu_config = PipelineConfig(device="cuda")
    assert gpus_per_replica(Placement(replicas=4, replicas_per_gpu=2), gpu_config, cluster_gpus=2) == 0.5
    assert gpus_per_replica(Placement(replicas=2), gpu_config, cluster_gpus=2) == 1.0
    assert gpus_per_replica(Placement(replicas=2), PipelineConfig(device="cpu"), cluster_gpus=2) == 0.0
    assert gpus_per_replica(Placement(replicas=2), gpu_config, cluster_gpus=0) == 0.0
    with pytest.raises(DeviceError, match="need 2 GPU"):
        gpus_per_replica(Placement(replicas=4, replicas_per_gpu=2), gpu_config, cluster_gpus=1)
    with pytest.raises(ConfigError, match="at least one replica"):
        Placement(replicas=0)
