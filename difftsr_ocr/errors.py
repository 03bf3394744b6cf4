"""Errors a user can act on.

Every error raised for a user mistake (a bad path, a wrong checkpoint, a broken
config) is a :class:`DifftsrError`: it carries a one-line message that names the
file and the fix, and the process exit code the command line uses for it.
"""

from __future__ import annotations

import enum
import os

__all__ = [
    "ConfigError",
    "DeviceError",
    "DifftsrError",
    "ExitCode",
    "ExportError",
    "InputImageError",
    "ServiceError",
    "WeightsError",
    "printable",
]


def printable(text: str | os.PathLike[str]) -> str:
    """``text`` (or a path) as one line of valid UTF-8: undecodable bytes and line breaks shown escaped.

    File names may hold both; every message, summary and export that quotes one uses this.
    """
    raw = os.fsencode(text) if isinstance(text, os.PathLike) else text.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace").replace("\n", "\\n").replace("\r", "\\r")


class ExitCode(enum.IntEnum):
    ok = 0
    bad_args = 2
    bad_config = 3
    missing_or_bad_weights = 4
    bad_input = 5
    device = 6
    service = 7


class DifftsrError(Exception):
    """Base class: ``str(error)`` is the whole one-line message."""

    exit_code: ExitCode = ExitCode.bad_args

    def __init__(self, message: str) -> None:
        # Messages quote user paths: escaped, a name with a line break stays one line.
        super().__init__(printable(message))


class ConfigError(DifftsrError):
    exit_code = ExitCode.bad_config


class WeightsError(DifftsrError):
    exit_code = ExitCode.missing_or_bad_weights


class InputImageError(DifftsrError):
    exit_code = ExitCode.bad_input


class DeviceError(DifftsrError):
    exit_code = ExitCode.device


class ServiceError(DifftsrError):
    """The difftsr-ocr HTTP service cannot be reached, or failed on a request it took."""

    exit_code = ExitCode.service


class ExportError(DifftsrError):
    """A results file cannot be read, or a document cannot be written in the asked format."""

    exit_code = ExitCode.bad_input
