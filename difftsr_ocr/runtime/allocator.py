"""Process-wide allocator settings that only an application may choose.

glibc serves every large allocation (each activation tensor of the U-Net and the VAE)
with a fresh ``mmap`` and hands it back with ``munmap`` when the tensor is freed, so
each network call faults its working set in again, 4 KiB at a time: about a million
page faults (4 GB of zeroed pages) per VAE pass at batch 4. Keeping freed memory in the
heap for the next call removes that churn. It is a process-wide choice, so the library
never makes it; the command line, the batch runner, its workers and the service do, at
start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys

__all__ = ["keep_freed_memory"]

logger = logging.getLogger(__name__)

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed memory instead of returning it to the system; True if it took.

    No ``mmap`` for large blocks (they come from the heap, and go back to it), no trimming
    of the heap's top below 1 GiB, and 64 MiB of slack per heap growth. Peak memory stays
    what the largest call needs; memory freed after a page is reused for the next one.
    A no-op elsewhere than Linux with glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
        # gnu_get_libc_version exists only in glibc: musl's mallopt accepts and ignores.
        libc.gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 64 << 20))
    applied = all(mallopt(parameter, value) == 1 for parameter, value in settings)
    if not applied:
        logger.info("glibc refused the allocator settings; freed memory goes back to the system")
    return applied
