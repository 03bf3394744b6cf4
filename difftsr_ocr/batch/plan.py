"""Listing a job's inputs and naming each one's outputs.

Every input becomes one :class:`WorkItem`: the file, the folder its outputs go to and
the stem they share. Names are decided here, once, so the executors, the resume check
and the report all agree on them.
"""

from __future__ import annotations

import dataclasses
import glob
from pathlib import Path

from difftsr_ocr.batch.job import Job
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.outputs import output_stem

__all__ = ["WorkItem", "manifest_key", "plan_job"]


@dataclasses.dataclass(frozen=True)
class WorkItem:
    """One input: ``key`` identifies it in the manifest (see :func:`manifest_key`)."""

    source: Path
    output_dir: Path
    stem: str
    key: str


def manifest_key(source: Path, job_folder: Path) -> str:
    """``source`` relative to the job file's folder when it lies below it, else absolute.

    A job moved with its archive (folder, inputs and outputs together) still finds its
    earlier records.
    """
    try:
        return source.relative_to(job_folder).as_posix()
    except ValueError:
        return str(source)


def _glob_root(pattern: Path) -> Path:
    # The folder before the first wildcard: the root a mirrored layout keeps paths below.
    parts = []
    for part in pattern.parts:
        if any(char in part for char in "*?["):
            break
        parts.append(part)
    return Path(*parts)


def _expand(job: Job, number: int, entry: str) -> list[tuple[Path, Path]]:
    """(file, root) pairs for one ``inputs.paths`` entry."""
    spec = job.inputs
    path = job.resolve(entry)
    wanted = lambda p: p.is_file() and p.suffix.lower() in spec.extensions  # noqa: E731
    if any(char in entry for char in "*?["):
        matches = [Path(p) for p in glob.glob(str(path), recursive=spec.recursive)]
        files = sorted(p for p in matches if wanted(p))
        if not files:
            raise ConfigError(f"{job.source}: inputs.paths[{number}] {entry!r} matches no input file")
        return [(file, _glob_root(path)) for file in files]
    if path.is_dir():
        found = path.rglob("*") if spec.recursive else path.iterdir()
        return [(file, path) for file in sorted(found) if wanted(file)]
    return [(path, path.parent)]


def plan_job(job: Job) -> list[WorkItem]:
    """Every input of ``job`` once, in a stable order; clashing output names are a ConfigError."""
    items: list[WorkItem] = []
    seen: set[Path] = set()
    claimed: dict[tuple[Path, str], Path] = {}
    out = job.output_folder
    for number, entry in enumerate(job.inputs.paths):
        for file, root in _expand(job, number, entry):
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            relative = file.relative_to(root)
            path_name = "__".join(relative.with_suffix("").parts)
            stem = output_stem(job.outputs.naming.format(stem=file.stem, name=file.name, path=path_name))
            output_dir = out / relative.parent if job.outputs.layout == "mirror" else out
            clash = claimed.get((output_dir, stem))
            if clash is not None:
                raise ConfigError(
                    f"{job.source}: outputs.naming gives {file} and {clash} the same output name {stem!r};"
                    " use naming '{name}' or '{path}'"
                )
            claimed[(output_dir, stem)] = file
            key = manifest_key(resolved, job.source.parent.resolve())
            items.append(WorkItem(source=resolved, output_dir=output_dir, stem=stem, key=key))
    return items
