"""What made an output: the fingerprints a manifest record carries, so resume can trust it.

An earlier result is reused only when it was made from the same input with the same
effective pipeline. The pipeline's fingerprint covers every config value plus the
identity of the weight files it names (size and modification time: hashing a 4 GB
checkpoint on every run would cost more than it protects); the input's covers its
size, modification time and content.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from difftsr_ocr.config import PipelineConfig, config_to_dict
from difftsr_ocr.version import software_version

__all__ = ["input_fingerprint", "pipeline_fingerprint"]

_CHUNK = 1 << 20


def _file_identity(path: str | None) -> list[object] | None:
    if path is None:
        return None
    resolved = Path(path).expanduser()
    try:
        status = resolved.stat()
    except OSError:
        return [str(resolved), "missing"]
    return [str(resolved.resolve()), status.st_size, status.st_mtime_ns]


def pipeline_fingerprint(config: PipelineConfig) -> str:
    """A short hash of ``config``, the weight files it names and the package version."""
    described = {
        "config": config_to_dict(config),
        "weights": [_file_identity(config.restorer.ckpt), _file_identity(config.restorer.transocr)],
        "version": software_version(),
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def input_fingerprint(path: str | os.PathLike[str]) -> str:
    """A short hash of the file's size, modification time and content (a word when it cannot be read)."""
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            return "not a file"  # a pipe would block the read below
        digest = hashlib.sha256(f"{status.st_size}:{status.st_mtime_ns}:".encode())
        with open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return "missing"
    return digest.hexdigest()[:16]
