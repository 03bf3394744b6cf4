"""Process-wide allocator settings that only an application may choose.

Two costs pull the glibc allocator in opposite directions:

- **Memory that creeps.** glibc serves a freed block from its heap again but rarely
  returns heap memory, and after the first large buffer is freed it raises its own
  threshold for serving buffers with their own memory maps (up to 32 MiB). Page images
  and detection feature maps (1-30 MiB each) then come from a heap that only grows, and a
  500-page run peaks far above a 5-page one. A fixed 1 MiB threshold keeps every large
  buffer in its own map, returned when freed.
- **Page faults in the restorer.** That same policy hands every activation tensor of the
  U-Net and the VAE a fresh map, so each network call faults its working set in again,
  4 KiB at a time: about a million faults (4 GB of zeroed pages) per VAE pass at batch 4,
  a quarter of the CPU time. Served from the heap, a freed activation is reused by the
  next call.

:func:`manage_allocator` (called once by the command line, the batch runner, its workers
and the service) takes the first policy for the process; :func:`reusing_freed_memory`
switches to the second around a restorer call and gives the heap back after it. The
library never changes the allocator on its own: without :func:`manage_allocator` the
context manager does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import sys
from collections.abc import Iterator

__all__ = ["manage_allocator", "reusing_freed_memory"]

logger = logging.getLogger(__name__)

# mallopt parameters (malloc.h) and glibc's defaults for the two we switch back.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
_LARGE_BUFFER = 1 << 20
_KEEP_HEAP = 1 << 30

_managed: list[bool] = []


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


def _set(libc: ctypes.CDLL, *settings: tuple[int, int]) -> bool:
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)


def manage_allocator() -> bool:
    """Buffers of 1 MiB or more in their own maps, returned when freed; True where glibc took it."""
    libc = _glibc()
    if libc is None or _managed:
        return bool(_managed)
    if not _set(libc, (_M_MMAP_THRESHOLD, _LARGE_BUFFER)):
        logger.info("glibc refused the allocator settings; its defaults stay")
        return False
    _managed.append(True)
    return True


@contextlib.contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Within the block, large blocks come from the heap and are reused; after it the heap goes back."""
    libc = _glibc()
    if libc is None or not _managed:
        yield
        return
    _set(libc, (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _KEEP_HEAP))
    try:
        yield
    finally:
        _set(libc, (_M_MMAP_MAX, _DEFAULT_MMAP_MAX), (_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD))
        libc.malloc_trim(0)
