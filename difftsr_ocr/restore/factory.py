"""Pick the restorer: DiffTSR when its weights are found, otherwise the classical one."""

from __future__ import annotations

import logging
import os

import torch

from difftsr_ocr.models.config import DiffTSRConfig
from difftsr_ocr.restore.base import Restorer
from difftsr_ocr.restore.classical import ClassicalRestorer
from difftsr_ocr.restore.difftsr import DiffTSRRestorer, DiffTSRRestorerConfig
from difftsr_ocr.weights import DIFFTSR_WEIGHTS, TRANSOCR_WEIGHTS, find_weights, where_looked

__all__ = ["build_restorer"]

logger = logging.getLogger(__name__)


def build_restorer(
    ckpt: str | os.PathLike[str] | None = None,
    transocr: str | os.PathLike[str] | None = None,
    model_config: DiffTSRConfig | None = None,
    config: DiffTSRRestorerConfig | None = None,
    device: torch.device | str = "cpu",
) -> Restorer:
    """The DiffTSR restorer if both weight files are found, else the classical restorer.

    A path given explicitly (or through its env var) must exist: a typo is an error, not
    a silent fallback. Only when nothing is configured at all does the classical
    restorer take over, with a one-line notice of where the weights were looked for.
    """
    found = {spec: find_weights(spec, given) for spec, given in ((DIFFTSR_WEIGHTS, ckpt), (TRANSOCR_WEIGHTS, transocr))}
    missing = [spec for spec, path in found.items() if path is None]
    if missing:
        logger.warning(
            "DiffTSR weights not configured, restoring with the classical restorer: %s",
            "; ".join(f"{spec.label}: {where_looked(spec)}" for spec in missing),
        )
        return ClassicalRestorer()
    return DiffTSRRestorer.from_weights(
        found[DIFFTSR_WEIGHTS], found[TRANSOCR_WEIGHTS], model_config=model_config, config=config, device=device
    )
