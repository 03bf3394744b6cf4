"""Stamps between the steps of a sampling loop, in wall time and in this process's CPU time.

On a machine shared with other jobs the wall time of a 2-thread step swings by several
times with their load (a thread waiting for a core holds its sibling at the next barrier);
the CPU time the process burns swings far less, so both are reported.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

__all__ = ["StepClock"]


class StepClock:
    """Call :meth:`stamp` before the first step and after each; medians skip the first, warm-up step."""

    def __init__(self, synchronize: Callable[[], None]) -> None:
        self._synchronize = synchronize
        self._wall: list[float] = []
        self._cpu: list[float] = []

    def stamp(self) -> None:
        self._synchronize()
        self._wall.append(time.perf_counter())
        self._cpu.append(time.process_time())

    @staticmethod
    def _median_gap(stamps: list[float]) -> float:
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        return statistics.median(gaps[1:] or gaps)

    def wall_s(self) -> float:
        return self._median_gap(self._wall)

    def cpu_s(self) -> float:
        return self._median_gap(self._cpu)
