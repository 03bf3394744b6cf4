"""The allocator policy of the entry points: large buffers go back when freed, except that a
restorer call reuses freed memory and gives it all back when it ends."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import os, resource, sys
import numpy as np
from difftsr_ocr.runtime.allocator import manage_allocator, reusing_freed_memory
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def cycle():
    # Three 8 MiB blocks, the size of a U-Net activation at batch 4.
    blocks = [np.ones(8 << 20, dtype=np.uint8) for _ in range(3)]
    del blocks
if sys.argv[1] == "managed":
    assert manage_allocator()
with reusing_freed_memory():
    cycle()
    before = faults()
    for _ in range(4):
        cycle()
    inside = faults() - before
    kept = resident()
print(inside, kept - resident())
"""


def _probe(mode: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    faults, released = done.stdout.split()
    return int(faults), int(released)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_a_restorer_call_reuses_freed_memory_and_gives_it_back_after() -> None:
    faults, released = _probe("managed")
    assert faults < 200, "inside the block, freed blocks are reused without faulting pages in again"
    assert released > 16 << 20, "after the block, the kept heap goes back to the system"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_the_library_alone_leaves_the_allocator_as_it_is() -> None:
    # Without manage_allocator (an application's choice), the block changes nothing:
    # every cycle maps fresh pages again (fewer faults than 4 KiB pages with huge pages).
    faults, _ = _probe("library")
    assert faults > 1500
