"""Process-wide allocator settings that only an application may choose.

glibc serves every large allocation (each activation tensor of the U-Net and the VAE)
with a fresh ``mmap`` and hands it back with ``munmap`` when the tensor is freed, so
each network call faults its working set in again, 4 KiB at a time: about a million
page faults (4 GB of zeroed pages) per VAE pass at batch 4. :func:`keep_freed_memory`
serves large blocks from the heap instead, where a freed block is reused by the next
call. A heap that is never given back would let a long run's memory creep up page after
page, so :func:`release_freed_memory` hands the free heap back to the system; the
front-ends call it between pages, where the faults it costs are paid once per page
instead of once per network call. Both are process-wide choices: the library never
makes them; the command line, the batch runner, its workers and the service do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys

__all__ = ["keep_freed_memory", "release_freed_memory"]

logger = logging.getLogger(__name__)

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # Only glibc has gnu_get_libc_version; musl's mallopt accepts and ignores everything.
        libc.gnu_get_libc_version  # noqa: B018
        libc.mallopt  # noqa: B018
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed memory instead of returning it to the system; True if it took.

    No ``mmap`` for large blocks (they come from the heap, and go back to it), no trimming
    of the heap's top below 1 GiB, and 64 MiB of slack per heap growth: memory freed by
    one network call is reused by the next. Pair it with :func:`release_freed_memory`
    between units of work. A no-op elsewhere than Linux with glibc.
    """
    libc = _glibc()
    if libc is None:
        return False
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 64 << 20))
    applied = all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
    if not applied:
        logger.info("glibc refused the allocator settings; freed memory goes back to the system")
    return applied


def release_freed_memory() -> None:
    """Give the heap's free memory back to the system (glibc ``malloc_trim``); a no-op elsewhere."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
