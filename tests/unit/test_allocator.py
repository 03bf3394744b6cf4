"""The allocator setting the entry points apply: freed memory is reused, not faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import resource, sys
import numpy as np
from difftsr_ocr.runtime.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def cycle():
    # Three 8 MiB blocks, the size of a U-Net activation at batch 4: above glibc's mmap threshold.
    blocks = [np.ones(8 << 20, dtype=np.uint8) for _ in range(3)]
    del blocks
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    cycle()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_freed_blocks_are_reused_instead_of_faulted_in_again() -> None:
    # Each cycle maps fresh pages again by default (fewer faults than 4 KiB pages where the
    # kernel hands out huge pages); kept heap memory is already mapped.
    assert _faults("default") > 1500
    assert _faults("keep") < 200


_RELEASE_PROBE = """
import os
import numpy as np
from difftsr_ocr.runtime.allocator import keep_freed_memory, release_freed_memory
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
assert keep_freed_memory()
blocks = [np.ones(8 << 20, dtype=np.uint8) for _ in range(6)]
del blocks
kept = resident()
release_freed_memory()
print(kept - resident())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_kept_memory_goes_back_to_the_system_between_pages() -> None:
    done = subprocess.run([sys.executable, "-c", _RELEASE_PROBE], capture_output=True, text=True, check=True)
    assert int(done.stdout.strip()) > 32 << 20, "48 MiB freed and kept must mostly go back"
