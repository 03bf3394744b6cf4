"""Reading a YAML file the user wrote, with one-line errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from difftsr_ocr.errors import ConfigError

__all__ = ["read_yaml"]


def read_yaml(path: str | os.PathLike[str], kind: str, template: str) -> Any:
    """The parsed document; ``kind`` names the file in errors ("config", "job file"), ``template`` where to start from."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {kind}; start from {template}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the {kind} ({error}); pass a UTF-8 YAML file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}; fix the syntax or start again from {template}") from None
