"""Upscaling the page under the lines: the canvas restored lines are pasted onto at ``--scale`` > 1.

A page restored at 4x needs its background, and the lines the gate kept, at 4x too.
That is a stage of its own, so a learned upscaler can replace the default; whatever
it is, it only ever paints the page *under* the lines: a learned image upscaler invents
strokes on text, and what the lines say is the trust gate's business alone.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from difftsr_ocr.config import OUTPUT_SCALES
from difftsr_ocr.errors import ConfigError

__all__ = ["BackgroundUpscaler", "LanczosUpscaler"]


class BackgroundUpscaler(Protocol):
    """Anything that enlarges a whole page (H x W x 3 uint8 RGB) by a whole factor."""

    name: str

    def upscale(self, page: np.ndarray, scale: int) -> np.ndarray:
        """A new ``(H * scale) x (W * scale) x 3`` uint8 array; at scale 1 a copy of ``page``."""
        ...


class LanczosUpscaler:
    """Lanczos (8x8) resampling: sharp on smooth backgrounds and photos, no invented detail."""

    name = "lanczos"

    def upscale(self, page: np.ndarray, scale: int) -> np.ndarray:
        if scale not in OUTPUT_SCALES:
            raise ConfigError(f"output scale must be one of {', '.join(map(str, OUTPUT_SCALES))}, not {scale}")
        if scale == 1:
            return page.copy()
        size = (page.shape[1] * scale, page.shape[0] * scale)
        return cv2.resize(page, size, interpolation=cv2.INTER_LANCZOS4)
