"""The job manifest: one JSON line per input and run, appended as each input finishes.

Each record is written with one ``write`` call, flushed and fsync'ed, so a job killed at
any moment keeps every record it wrote; at worst the line being written is cut short,
and reading skips it with a warning. The manifest is also what makes a job resumable:
:func:`is_complete` trusts an earlier result only when its files are all still there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from difftsr_ocr.outputs import output_paths

__all__ = ["STATUSES", "Manifest", "is_complete", "read_manifest"]

logger = logging.getLogger(__name__)

STATUSES = ("ok", "failed", "skipped")


def read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """The latest record of each input, by input key; an absent manifest is empty."""
    latest: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return latest
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A line cut short by a kill: its input is simply done again.
                logger.warning("%s: line %d is incomplete and is ignored", path, number)
                continue
            latest[record["input"]] = record
    return latest


def is_complete(
    record: Mapping[str, Any] | None, source: Path, output_dir: Path, stem: str, formats: tuple[str, ...]
) -> bool:
    """Whether ``record`` says the input succeeded and every output it implies is whole."""
    if record is None or record.get("status") not in ("ok", "skipped"):
        return False
    expected = output_paths(source, int(record.get("pages", 0)), output_dir, formats, stem)
    if not all(path.is_file() for group in expected.values() for path in group):
        return False
    for path in expected.get("json", []):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
    return True


class Manifest:
    """Append-only JSONL writer; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = path.open("a", encoding="utf-8")

    def append(self, record: Mapping[str, Any]) -> None:
        if record.get("status") not in STATUSES:
            raise ValueError(f"manifest status must be one of {STATUSES}, not {record.get('status')!r}")
        self._stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
