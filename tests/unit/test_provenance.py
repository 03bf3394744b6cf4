"""Fingerprints that tell resume whether an earlier output was made the same way."""

from __future__ import annotations

import os
from pathlib import Path

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.provenance import input_fingerprint, pipeline_fingerprint


def test_the_pipeline_fingerprint_follows_the_config_and_the_weight_files(tmp_path: Path) -> None:
    weights = tmp_path / "DiffTSR.ckpt"
    weights.write_bytes(b"weights")
    base = config_from_dict({"restorer": {"ckpt": str(weights)}})
    assert pipeline_fingerprint(base) == pipeline_fingerprint(config_from_dict({"restorer": {"ckpt": str(weights)}}))
    assert pipeline_fingerprint(base) != pipeline_fingerprint(
        config_from_dict({"restorer": {"ckpt": str(weights), "steps": 50}})
    )
    before = pipeline_fingerprint(base)
    weights.write_bytes(b"other weights")  # replaced at the same path
    assert pipeline_fingerprint(base) != before


def test_the_input_fingerprint_follows_the_content_and_refuses_to_read_a_pipe(tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"first")
    first = input_fingerprint(scan)
    assert first == input_fingerprint(scan) and len(first) == 16
    before = scan.stat()
    # Same size, same modification time, other bytes: only the content tells.
    scan.write_bytes(b"other")
    os.utime(scan, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert input_fingerprint(scan) != first
    os.mkfifo(tmp_path / "pipe.png")
    assert input_fingerprint(tmp_path / "pipe.png") == "not a file"
    assert input_fingerprint(tmp_path / "absent.png") == "missing"
