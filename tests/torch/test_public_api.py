"""The top-level package: cheap to import, every advertised name resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_does_not_load_torch() -> None:
    code = "import sys, difftsr_ocr; assert 'torch' not in sys.modules, 'torch imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_public_name_resolves() -> None:
    import difftsr_ocr

    assert all(getattr(difftsr_ocr, name) is not None for name in difftsr_ocr.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        difftsr_ocr.Nope  # noqa: B018
