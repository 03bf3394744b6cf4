"""Errors a user can act on.

Every error raised for a user mistake (a bad path, a wrong checkpoint, a broken
config) is a :class:`DifftsrError`: it carries a one-line message that names the
file and the fix, and the process exit code the command line uses for it.
"""

from __future__ import annotations

import enum

__all__ = [
    "ConfigError",
    "DeviceError",
    "DifftsrError",
    "ExitCode",
    "InputImageError",
    "WeightsError",
]


class ExitCode(enum.IntEnum):
    ok = 0
    bad_args = 2
    bad_config = 3
    missing_or_bad_weights = 4
    bad_input = 5
    device = 6


class DifftsrError(Exception):
    """Base class: ``str(error)`` is the whole one-line message."""

    exit_code: ExitCode = ExitCode.bad_args

    def __init__(self, message: str) -> None:
        if "\n" in message:
            raise ValueError("DifftsrError messages are one line")
        super().__init__(message)


class ConfigError(DifftsrError):
    exit_code = ExitCode.bad_config


class WeightsError(DifftsrError):
    exit_code = ExitCode.missing_or_bad_weights


class InputImageError(DifftsrError):
    exit_code = ExitCode.bad_input


class DeviceError(DifftsrError):
    exit_code = ExitCode.device


class ExportError(DifftsrError):
    """A results file cannot be read, or a document cannot be written in the asked format."""

    exit_code = ExitCode.bad_input
