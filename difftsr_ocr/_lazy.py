"""Lazy re-exports for package ``__init__`` files.

OCR tools import plug-ins in every worker process, so ``import difftsr_ocr`` (and its
sub-packages) must not pull in torch, onnxruntime or OpenCV until a name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, str], exported: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose names in ``homes`` live in the given modules."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(homes[name]), name)

    def __dir__() -> list[str]:
        return sorted(exported)

    return __getattr__, __dir__
