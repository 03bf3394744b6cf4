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


def _type_name(kind: Any) -> str:
    return {str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "a list"}[kind]


def _value(data: Mapping[str, Any], key: str, kinds: tuple[type, ...], where: str, default: Any) -> Any:
    if key not in data:
        if default is dataclasses.MISSING:
            raise ConfigError(f"{where}.{key} is required")
        return default
    value = data[key]
    if value is None and type(None) in kinds:
        return None
    for kind in kinds:
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind in (str, bool) and isinstance(value, kind):
            return value
        if kind is list and isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
    names = " or ".join("null" if kind is type(None) else _type_name(kind) for kind in kinds)
    names = names.replace("a list", "a list of strings")
    raise ConfigError(f"{where}.{key} must be {names}, not {value!r}")


def _section(data: Any, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping, not {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        names = ", ".join(f"{where}.{key}" for key in unknown)
        raise ConfigError(f"unknown key(s) {names}; allowed: {', '.join(allowed)}")
    return data


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def _default(cls: type, name: str) -> Any:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.default


def _inputs(data: Any) -> InputSpec:
    section = _section(data, "inputs", _fields(InputSpec))
    get = lambda key, *kinds: _value(section, key, kinds, "inputs", _default(InputSpec, key))  # noqa: E731
    paths = _value(section, "paths", (list, str), "inputs", dataclasses.MISSING)
    paths = (paths,) if isinstance(paths, str) else paths
    if not paths:
        raise ConfigError("inputs.paths is empty; list at least one folder, glob or file")
    extensions = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in get("extensions", list))
    dpi = get("pdf_dpi", float)
    if dpi <= 0:
        raise ConfigError(f"inputs.pdf_dpi must be positive, not {dpi}")
    return InputSpec(paths=paths, recursive=get("recursive", bool), extensions=extensions, pdf_dpi=dpi)


def _outputs(data: Any) -> OutputSpec:
    section = _section(data, "outputs", _fields(OutputSpec))
    get = lambda key, *kinds: _value(section, key, kinds, "outputs", _default(OutputSpec, key))  # noqa: E731
    folder = _value(section, "folder", (str,), "outputs", dataclasses.MISSING)
    layout = get("layout", str)
    if layout not in LAYOUTS:
        raise ConfigError(f"outputs.layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    try:
        formats = check_formats(get("formats", list))
    except DifftsrError as error:
        raise ConfigError(f"outputs.formats: {error}") from None
    naming = get("naming", str)
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(naming) if field is not None}
    except ValueError as error:
        raise ConfigError(f"outputs.naming {naming!r} is not a valid template ({error})") from None
    if not used or used - set(NAMING_FIELDS) or "/" in naming or os.sep in naming:
        raise ConfigError(
            f"outputs.naming {naming!r} must use only {{{'}, {'.join(NAMING_FIELDS)}}} and no path separator"
        )
    return OutputSpec(folder, layout, formats, naming, get("manifest", str, type(None)))


def _executor(data: Any) -> ExecutorSpec:
    section = _section(data, "executor", _fields(ExecutorSpec))
    get = lambda key, *kinds: _value(section, key, kinds, "executor", _default(ExecutorSpec, key))  # noqa: E731
    kind = get("kind", str)
    if kind not in EXECUTORS:
        raise ConfigError(f"executor.kind must be one of {', '.join(EXECUTORS)}, not {kind!r}")
    spec = ExecutorSpec(
        kind=kind,
        pages_per_batch=get("pages_per_batch", int),
        workers=get("workers", int),
        num_cpus=get("num_cpus", float),
        num_gpus=get("num_gpus", float),
        address=get("address", str, type(None)),
    )
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
        top = _section(data, "job", _fields(Job)[1:])
        if "inputs" not in top or "outputs" not in top:
            raise ConfigError("the job needs an inputs and an outputs section")
        report = _value(top, "report", (bool, str), "job", True)
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
