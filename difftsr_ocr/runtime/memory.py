"""Giving large buffers back to the system as soon as they are freed, so a long run's memory stays flat.

glibc serves a freed block from its heap again but rarely returns heap memory; and after
the first large buffer is freed it raises its own threshold for serving buffers with
their own memory maps to that size (up to 32 MiB). Page images and detection feature maps
(1-30 MiB each) then come from a heap that only grows, and the peak of a 500-page run
creeps above a 5-page one's. A fixed threshold keeps every buffer of 1 MiB or more in its
own map, returned when freed. Front-ends that own their process call this once.
"""

from __future__ import annotations

import ctypes
import logging

__all__ = ["return_large_buffers_when_freed"]

logger = logging.getLogger(__name__)

# glibc's malloc.h: M_MMAP_THRESHOLD.
_M_MMAP_THRESHOLD = -3
_THRESHOLD_BYTES = 1 << 20


def return_large_buffers_when_freed() -> bool:
    """Serve buffers of 1 MiB or more from their own memory maps (glibc); False where the C library has no mallopt."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False  # not glibc (macOS, Windows): its allocator is left alone
    done = bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES))
    logger.debug("large buffers from their own memory maps: %s", done)
    return done
