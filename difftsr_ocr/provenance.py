"""What made an output: the fingerprints and settings every result and manifest record carries.

A batch job reuses an earlier result only when it was made from the same input with the
same effective pipeline. The pipeline's fingerprint covers every config value plus the
sha256 of the weight files it names (hashed once per file version: the digest is cached
under the user's cache folder, keyed by path, size and modification time, because
hashing a 4 GB checkpoint takes seconds); the input's covers its size, modification
time and content. :func:`run_provenance` is what a JSON result says about the run that
made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difftsr_ocr.atomic import replacing
from difftsr_ocr.config import PipelineConfig, config_to_dict
from difftsr_ocr.version import SOFTWARE_NAME, software_version

if TYPE_CHECKING:
    from difftsr_ocr.pipeline import Pipeline

__all__ = ["input_fingerprint", "pipeline_fingerprint", "run_provenance", "weight_digest"]

_CHUNK = 1 << 20


def _digest_cache_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "difftsr_ocr" / "weight-sha256.json"


def _read_digest_cache(path: Path) -> dict[str, Any]:
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}


# This process's answers: a run fingerprints the same weight files for every input, and
# must not re-hash 4 GB each time when the cache folder cannot be written.
_known_digests: dict[str, str] = {}


def weight_digest(path: str | os.PathLike[str]) -> str:
    """The sha256 of a weight file, hashed once per (path, size, modification time)."""
    resolved = Path(path).expanduser().resolve()
    status = resolved.stat()
    key = f"{resolved}:{status.st_size}:{status.st_mtime_ns}"
    if key in _known_digests:
        return _known_digests[key]
    cache_path = _digest_cache_path()
    cached = _read_digest_cache(cache_path)
    if isinstance(cached.get(key), str):
        _known_digests[key] = cached[key]
        return cached[key]
    digest = hashlib.sha256()
    with open(resolved, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    cached[key] = digest.hexdigest()
    try:
        with replacing(cache_path) as partial:
            partial.write_text(json.dumps(cached, indent=1, sort_keys=True), encoding="utf-8")
    except OSError:
        pass  # a read-only cache folder costs a re-hash in the next process, nothing else
    _known_digests[key] = cached[key]
    return cached[key]


def _file_identity(path: str | None) -> list[object] | None:
    if path is None:
        return None
    resolved = Path(path).expanduser()
    try:
        return [str(resolved.resolve()), resolved.stat().st_size, weight_digest(resolved)]
    except OSError:
        return [str(resolved), "missing"]


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


def run_provenance(pipeline: Pipeline) -> dict[str, Any]:
    """The software, pipeline fingerprint, restorer, weight files, device, precision and seed of a run."""
    config = pipeline.config
    restorer = pipeline.restorer
    name = restorer.name if restorer is not None else "none"
    provenance: dict[str, Any] = {
        "software": f"{SOFTWARE_NAME} {software_version()}",
        "pipeline": pipeline_fingerprint(config),
        "restorer": name,
        "seed": config.seed,
    }
    if name == "difftsr":
        provenance["weights"] = {
            "ckpt": _file_identity(config.restorer.ckpt),
            "transocr": _file_identity(config.restorer.transocr),
        }
        provenance["device"] = str(getattr(restorer, "device", config.device))
        provenance["precision"] = config.restorer.precision
    else:
        provenance["device"] = "cpu"
    return provenance
