"""Access to ../shared/reference and the comparison rule of its README.

Tests compare our outputs with tensors the official implementation produced:
float tensors within 1e-4 * max(1, absmax(ref)), integer tensors exactly.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REFERENCE_DIR = Path(
    os.environ.get("DIFFTSR_REFERENCE_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "reference")
)
TINY_A_DIR = REFERENCE_DIR / "tiny_A"


def require_reference() -> Path:
    """The reference folder; a missing one is a hard failure, never a silent skip."""
    if not REFERENCE_DIR.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE_DIR}; set DIFFTSR_REFERENCE_DIR")
    return REFERENCE_DIR


@cache
def tiny_a_io() -> dict[str, torch.Tensor]:
    return load_file(require_reference() / "tiny_A" / "tiny_A_io.safetensors")


@cache
def transocr_io() -> dict[str, torch.Tensor]:
    return load_file(require_reference() / "tiny_A" / "transocr_io.safetensors")


@cache
def manifest() -> dict:
    return json.loads((require_reference() / "manifest_full.json").read_text(encoding="utf-8"))


@cache
def readme_transocr() -> dict:
    return json.loads((require_reference() / "tiny_A" / "README_transocr.json").read_text(encoding="utf-8"))


def tolerance(reference: torch.Tensor) -> float:
    return 1e-4 * max(1.0, reference.abs().max().item())


def assert_matches(ours: torch.Tensor, reference: torch.Tensor, name: str = "") -> float:
    """Apply the reference comparison rule; return the max abs error for reporting."""
    assert ours.shape == reference.shape, f"{name}: shape {tuple(ours.shape)} != {tuple(reference.shape)}"
    if not reference.is_floating_point():
        assert torch.equal(ours.to(reference.dtype), reference), f"{name}: integer tensors differ"
        return 0.0
    error = (ours.double() - reference.double()).abs().max().item()
    assert error <= tolerance(reference), f"{name}: max abs error {error:.3g} > {tolerance(reference):.3g}"
    return error
