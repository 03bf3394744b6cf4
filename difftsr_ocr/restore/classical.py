"""The classical restorer: resampling plus mild unsharp masking, no weights needed.

It is the embedded default when no DiffTSR weights are configured, and the baseline
every DiffTSR result is compared against. It never invents strokes, and it has no
reading of its own (empty text, confidence 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

from difftsr_ocr.restore.base import ProgressCallback, RestoredCrop, RestoreProgress, normalize_crop

__all__ = ["ClassicalConfig", "ClassicalRestorer"]


@dataclasses.dataclass(frozen=True)
class ClassicalConfig:
    # Work at this height: small crops are upsampled (Lanczos) before sharpening so the
    # unsharp mask acts on strokes, not on single pixels; the result comes back at it.
    working_height: int = 64
    sharpen_amount: float = 0.6
    sharpen_sigma: float = 1.0


class ClassicalRestorer:
    name = "classical"

    def __init__(self, config: ClassicalConfig | None = None) -> None:
        self.config = config or ClassicalConfig()

    def _restore_one(self, crop: np.ndarray) -> np.ndarray:
        height, width = crop.shape[:2]
        scale = max(1.0, self.config.working_height / height)
        size = (round(width * scale), round(height * scale))
        work = cv2.resize(crop, size, interpolation=cv2.INTER_LANCZOS4) if scale > 1 else crop
        blurred = cv2.GaussianBlur(work, (0, 0), self.config.sharpen_sigma * scale)
        amount = self.config.sharpen_amount
        return cv2.addWeighted(work, 1.0 + amount, blurred, -amount, 0)

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]:
        results = []
        for done, crop in enumerate(crops, start=1):
            normalized = normalize_crop(crop)
            if isinstance(normalized, str):
                results.append(RestoredCrop(image=None, skipped=normalized))
            else:
                results.append(RestoredCrop(image=self._restore_one(normalized)))
            if on_progress is not None:
                on_progress(RestoreProgress(done=done, total=len(crops)))
        return results
