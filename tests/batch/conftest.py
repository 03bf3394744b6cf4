"""Shared helpers for the batch tests: rendered inputs, job files, and running the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from tests.layouts import MILD_SCAN


def page(text: str, size: tuple[int, int] = (520, 160)) -> np.ndarray:
    rendered, _ = render_lines([LineSpec(text, 30, 30, size=30), LineSpec("Second line 42", 30, 95)], size=size)
    return apply_degradation(rendered, MILD_SCAN, seed=0)


def run_batch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "difftsr_ocr.batch", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def write_job(folder: Path, executor: str = "executor: {kind: local, pages_per_batch: 2}", extra: str = "") -> Path:
    job = folder / "job.yaml"
    job.write_text(
        "inputs: {paths: [in]}\n"
        "outputs: {folder: out, formats: [json, txt]}\n"
        "pipeline: {device: cpu, restorer: {kind: classical}}\n"
        f"{executor}\n{extra}",
        encoding="utf-8",
    )
    return job


def manifest(folder: Path) -> list[dict]:
    path = folder / "out" / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """in/: two pages, one in a sub-folder, a two-page TIFF and a corrupt PNG."""
    (tmp_path / "in" / "sub").mkdir(parents=True)
    Image.fromarray(page("Alpha page 1")).save(tmp_path / "in" / "alpha.png")
    Image.fromarray(page("Beta page 2")).save(tmp_path / "in" / "sub" / "beta.png")
    frames = [Image.fromarray(page("Tiff one")), Image.fromarray(page("Tiff two"))]
    frames[0].save(tmp_path / "in" / "scan.tif", save_all=True, append_images=frames[1:])
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return tmp_path
