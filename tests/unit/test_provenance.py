"""Fingerprints that tell resume whether an earlier output was made the same way."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.provenance import input_fingerprint, pipeline_fingerprint, weight_digest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


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


def test_weight_digests_are_sha256_hashed_once_per_file_version(tmp_path: Path, private_cache: Path) -> None:
    weights = tmp_path / "transocr.pth"
    weights.write_bytes(b"first")
    assert weight_digest(weights) == hashlib.sha256(b"first").hexdigest()
    assert (private_cache / "difftsr_ocr" / "weight-sha256.json").is_file()
    # Same size and modification time: the cached digest answers, the file is not read again.
    stamp = weights.stat().st_mtime_ns
    weights.write_bytes(b"other")
    os.utime(weights, ns=(stamp, stamp))
    assert weight_digest(weights) == hashlib.sha256(b"first").hexdigest()
    # A new version of the file (another modification time) is hashed again.
    os.utime(weights, ns=(stamp + 10**9, stamp + 10**9))
    assert weight_digest(weights) == hashlib.sha256(b"other").hexdigest()
