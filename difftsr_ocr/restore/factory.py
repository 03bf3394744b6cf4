"""Pick the restorer: the one place where a restorer kind and weight paths become a restorer."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.restore.base import Restorer

if TYPE_CHECKING:
    import torch

    from difftsr_ocr.models.config import DiffTSRConfig
    from difftsr_ocr.restore.difftsr import DiffTSRRestorerConfig

__all__ = ["RESTORER_KINDS", "build_restorer"]

logger = logging.getLogger(__name__)

# auto: DiffTSR when both weight files are found, else classical (with a notice).
RESTORER_KINDS = ("auto", "difftsr", "classical")


def build_restorer(
    ckpt: str | os.PathLike[str] | None = None,
    transocr: str | os.PathLike[str] | None = None,
    model_config: DiffTSRConfig | None = None,
    config: DiffTSRRestorerConfig | None = None,
    device: torch.device | str = "cpu",
    kind: str = "auto",
) -> Restorer:
    """The restorer of ``kind``; by default DiffTSR if both weight files are found, else classical.

    A path given explicitly (or through its env var) must exist: a typo is an error, not
    a silent fallback. Only when nothing is configured at all does the classical
    restorer take over, with a one-line notice of where the weights were looked for.
    ``kind="difftsr"`` never falls back (missing weights are an error);
    ``kind="classical"`` ignores every other argument.
    """
    if kind not in RESTORER_KINDS:
        raise ConfigError(f"restorer kind must be one of {', '.join(RESTORER_KINDS)}, not {kind!r}")
    # Imported only now: reading a config names restorer kinds without importing OpenCV,
    # and a classical restorer must not cost a torch import.
    from difftsr_ocr.restore.classical import ClassicalRestorer

    if kind == "classical":
        return ClassicalRestorer()
    from difftsr_ocr.restore.difftsr import DiffTSRRestorer
    from difftsr_ocr.weights import DIFFTSR_WEIGHTS, TRANSOCR_WEIGHTS, find_weights, where_looked

    if kind == "difftsr":
        return DiffTSRRestorer.from_weights(ckpt, transocr, model_config=model_config, config=config, device=device)
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
