"""difftsr-ocr: DiffTSR text super-resolution for whole pages, as a stage in OCR pipelines.

The names below are imported lazily, so ``import difftsr_ocr`` stays cheap (OCR
pipelines import their plug-ins in every worker process).
"""

from __future__ import annotations

from difftsr_ocr._lazy import lazy_exports

__all__ = [
    "ClassicalRestorer",
    "DiffTSRConfig",
    "DiffTSRRestorer",
    "DiffTSRRestorerConfig",
    "DifftsrError",
    "RestoredCrop",
    "RestoredImage",
    "SamplingConfig",
    "build_difftsr_networks",
    "build_restorer",
    "build_transocr",
    "load_difftsr_config",
    "load_difftsr_weights",
    "load_transocr_weights",
    "restore_image",
]

_HOMES = {
    "ClassicalRestorer": "difftsr_ocr.restore.classical",
    "DiffTSRConfig": "difftsr_ocr.models.config",
    "DiffTSRRestorer": "difftsr_ocr.restore.difftsr",
    "DiffTSRRestorerConfig": "difftsr_ocr.restore.difftsr",
    "DifftsrError": "difftsr_ocr.errors",
    "RestoredCrop": "difftsr_ocr.restore.base",
    "RestoredImage": "difftsr_ocr.preprocess",
    "SamplingConfig": "difftsr_ocr.restore.sampling",
    "build_difftsr_networks": "difftsr_ocr.models.difftsr",
    "build_restorer": "difftsr_ocr.restore.factory",
    "build_transocr": "difftsr_ocr.models.difftsr",
    "load_difftsr_config": "difftsr_ocr.models.config",
    "load_difftsr_weights": "difftsr_ocr.weights",
    "load_transocr_weights": "difftsr_ocr.weights",
    "restore_image": "difftsr_ocr.preprocess",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
