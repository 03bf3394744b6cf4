"""Who wrote a file: the distribution's name and its installed version."""

from __future__ import annotations

import importlib.metadata

__all__ = ["SOFTWARE_NAME", "software_version"]

SOFTWARE_NAME = "difftsr-ocr"


def software_version(not_installed: str = "unknown") -> str:
    """The installed difftsr-ocr version, or ``not_installed`` when running from a bare checkout."""
    try:
        return importlib.metadata.version(SOFTWARE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return not_installed
