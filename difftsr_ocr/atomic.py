"""Files that appear whole or not at all, and stay written after a power loss.

Every output is written to a temporary name beside its final one, flushed to disk,
renamed into place and its folder flushed too. A killed process leaves no half-written
file under a final name, and a batch manifest that is fsynced after the rename never
says "done" for a file the disk does not hold. A failed write removes its temporary file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["move_into_place", "replacing"]


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; it replaces ``path`` when the block succeeds.

    The temporary name keeps ``path``'s suffix (``scan.png.partial.png``), so writers
    that pick a format from the suffix pick the right one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial{path.suffix}")
    try:
        yield partial
        _fsync(partial, os.O_RDONLY)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # The rename lives in the folder: flush it too, or a power loss can undo it.
    _fsync(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def move_into_place(written: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Rename a file written (and flushed) elsewhere on the same file system to ``path``, durably."""
    path = Path(path)
    _fsync(Path(written), os.O_RDONLY)
    os.replace(written, path)
    _fsync(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
