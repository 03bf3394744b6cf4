"""The batch job file: what to read, where to write, which pipeline, which executor.

A job is YAML checked in full by :func:`load_job` before any page is read: an unknown
key, a wrong type or a missing input is one :class:`~difftsr_ocr.errors.ConfigError`
line naming the job file and the key. Relative paths are relative to the job file, so a
job and its archive can move together.
"""

from __future__ import annotations

import dataclasses
import os
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from difftsr_ocr.config import PipelineConfig, config_from_dict, load_pipeline_config
from difftsr_ocr.configschema import check_keys, check_value, dataclass_from_mapping, field_names
from difftsr_ocr.errors import ConfigError, DifftsrError
from difftsr_ocr.outputs import check_formats
from difftsr_ocr.yamlfile import read_yaml

__all__ = ["EXECUTORS", "LAYOUTS", "ExecutorSpec", "InputSpec", "Job", "OutputSpec", "job_from_dict", "load_job"]

EXECUTORS = ("local", "ray")
LAYOUTS = ("mirror", "flat")
DEFAULT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".pdf")
# Placeholders an output name may use: the input's stem, its file name, and its path
# below the input root with separators turned into "__" (unique even in a flat layout).
NAMING_FIELDS = ("stem", "name", "path")


@dataclasses.dataclass(frozen=True)
class InputSpec:
    # Folders, glob patterns and files, in any mix.
    paths: tuple[str, ...]
    recursive: bool = True
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    pdf_dpi: float = 200.0


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    folder: str
    # mirror: keep each input's folder below its input root; flat: everything in `folder`.
    layout: str = "mirror"
    formats: tuple[str, ...] = ("json",)
    naming: str = "{stem}"
    # Default: manifest.jsonl in the output folder.
    manifest: str | None = None


@dataclasses.dataclass(frozen=True)
class ExecutorSpec:
    kind: str = "local"
    # Pages whose crops go to the restorer in one call (fuller batches, more memory).
    pages_per_batch: int = 4
    # Ray only: actors, and the CPUs/GPUs each reserves (torch uses num_cpus threads).
    workers: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    # Ray only: an existing cluster ("auto" or "ray://host:port"); none starts a local one.
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class Job:
    source: Path
    inputs: InputSpec
    outputs: OutputSpec
    pipeline: PipelineConfig
    executor: ExecutorSpec
    # False: no report; True: report.html in the output folder; a string: that path.
    report: bool | str = True

    def resolve(self, path: str) -> Path:
        """A path from the job file, relative to the job file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.source.parent / candidate

    @property
    def output_folder(self) -> Path:
        return self.resolve(self.outputs.folder)

    @property
    def manifest_path(self) -> Path:
        return self.resolve(self.outputs.manifest) if self.outputs.manifest else self.output_folder / "manifest.jsonl"

    @property
    def report_path(self) -> Path | None:
        if self.report is False:
            return None
        return self.output_folder / "report.html" if self.report is True else self.resolve(self.report)


def _or_empty(section: Any) -> Any:
    # A section written with nothing under it (`executor:`) is null in YAML: all defaults.
    return {} if section is None else section


def _inputs(data: Any) -> InputSpec:
    section = _or_empty(data)
    if isinstance(section, Mapping) and isinstance(section.get("paths"), str):
        # One folder, glob or file may be written without list brackets.
        section = {**section, "paths": [section["paths"]]}
    spec = dataclass_from_mapping(InputSpec, section, "inputs")
    if not spec.paths:
        raise ConfigError("inputs.paths is empty; list at least one folder, glob or file")
    if spec.pdf_dpi <= 0:
        raise ConfigError(f"inputs.pdf_dpi must be positive, not {spec.pdf_dpi}")
    extensions = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in spec.extensions)
    return dataclasses.replace(spec, extensions=extensions)


def _outputs(data: Any) -> OutputSpec:
    spec = dataclass_from_mapping(OutputSpec, _or_empty(data), "outputs")
    if spec.layout not in LAYOUTS:
        raise ConfigError(f"outputs.layout must be one of {', '.join(LAYOUTS)}, not {spec.layout!r}")
    try:
        formats = check_formats(spec.formats)
    except DifftsrError as error:
        raise ConfigError(f"outputs.formats: {error}") from None
    _check_naming(spec.naming)
    return dataclasses.replace(spec, formats=formats)


def _check_naming(naming: str) -> None:
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(naming) if field is not None}
    except ValueError as error:
        raise ConfigError(f"outputs.naming {naming!r} is not a valid template ({error})") from None
    if not used or used - set(NAMING_FIELDS) or "/" in naming or os.sep in naming:
        raise ConfigError(
            f"outputs.naming {naming!r} must use only {{{'}, {'.join(NAMING_FIELDS)}}} and no path separator"
        )


def _executor(data: Any) -> ExecutorSpec:
    spec = dataclass_from_mapping(ExecutorSpec, _or_empty(data), "executor")
    if spec.kind not in EXECUTORS:
        raise ConfigError(f"executor.kind must be one of {', '.join(EXECUTORS)}, not {spec.kind!r}")
    for key in ("pages_per_batch", "workers"):
        if getattr(spec, key) < 1:
            raise ConfigError(f"executor.{key} must be at least 1, not {getattr(spec, key)}")
    if spec.num_cpus <= 0 or spec.num_gpus < 0:
        raise ConfigError("executor.num_cpus must be positive and executor.num_gpus not negative")
    return spec


def _pipeline(data: Any, source: Path) -> PipelineConfig:
    if isinstance(data, str):
        path = Path(data).expanduser()
        return load_pipeline_config(path if path.is_absolute() else source.parent / path)
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError(f"pipeline must be a mapping or the path of a pipeline YAML, not {type(data).__name__}")
    return config_from_dict(data or {}, source=f"{source} (pipeline)")


def job_from_dict(data: Any, source: Path) -> Job:
    """A validated :class:`Job`; ``source`` is the job file (relative paths start from its folder)."""
    try:
        # `source` is where the job was read from, not a key the job file sets.
        top = check_keys(_or_empty(data), field_names(Job)[1:], "job")
        if "inputs" not in top or "outputs" not in top:
            raise ConfigError("the job needs an inputs and an outputs section")
        report = check_value(top.get("report", True), bool | str, "job.report")
        job = Job(
            source=source.absolute(),
            inputs=_inputs(top["inputs"]),
            outputs=_outputs(top["outputs"]),
            pipeline=_pipeline(top.get("pipeline"), source),
            executor=_executor(top.get("executor")),
            report=report,
        )
    except ConfigError as error:
        message = str(error)
        # Pipeline errors already name their own file.
        raise ConfigError(message if message.startswith(str(source)) else f"{source}: {message}") from None
    _check_inputs_exist(job)
    return job


def _check_inputs_exist(job: Job) -> None:
    for number, entry in enumerate(job.inputs.paths):
        if any(char in entry for char in "*?["):
            continue  # a glob's matches are checked when the inputs are listed
        if not job.resolve(entry).exists():
            raise ConfigError(f"{job.source}: inputs.paths[{number}] {entry!r} does not exist ({job.resolve(entry)})")


def load_job(path: str | os.PathLike[str]) -> Job:
    """Read and validate a job file; nothing is read or written besides the YAML files."""
    return job_from_dict(read_yaml(path, "job file", "pipelines/archive_local.yaml"), Path(path))
