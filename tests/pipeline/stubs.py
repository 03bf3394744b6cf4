"""Restorers for pipeline tests: one that changes nothing, one that changes what a line says."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from difftsr_ocr.evaluation.synthetic.fonts import FONTS
from difftsr_ocr.restore.base import ProgressCallback, RestoredCrop


class IdentityRestorer:
    name = "identity"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]:
        self.calls.append(len(crops))
        return [RestoredCrop(image=crop.copy()) for crop in crops]


class CharacterChangingRestorer:
    """Draws crisp, confident, different text into every crop: a hallucinating restorer."""

    name = "hallucinating"

    def __init__(self, text: str = "WRONG 9731") -> None:
        self.text = text

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]:
        results = []
        for crop in crops:
            height, width = crop.shape[:2]
            canvas = Image.new("RGB", (width, height), "white")
            font = ImageFont.truetype(str(FONTS["latin"]), max(8, int(height * 0.7)))
            ImageDraw.Draw(canvas).text((height // 6, height // 8), self.text, font=font, fill="black")
            results.append(RestoredCrop(image=np.asarray(canvas)))
        return results
