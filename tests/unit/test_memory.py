"""Large buffers go back to the system when freed (glibc), so a long run's memory does not creep up."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import pytest

from difftsr_ocr.runtime.memory import return_large_buffers_when_freed


def _resident_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_freed_page_sized_buffers_leave_the_process() -> None:
    assert return_large_buffers_when_freed()
    before = _resident_mib()
    # Page-sized buffers freed in an interleaved order, as a pipeline frees pages and crops.
    buffers = [np.ones((1400, 1000, 3), np.uint8) for _ in range(40)]
    del buffers[::2]
    del buffers[:]
    assert _resident_mib() - before < 16, "160 MiB of freed pages is given back"
