"""What the OCRmyPDF hooks and engine share: the engine's name, options -> config, error mapping.

Kept apart from the hook module so the engine module can use it without importing the
hooks, and both stay small. Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ocrmypdf.exceptions import BadArgsError, MissingDependencyError

from difftsr_ocr.config import PipelineConfig, config_from_dict, config_to_dict, load_pipeline_config
from difftsr_ocr.errors import DeviceError, DifftsrError, WeightsError

__all__ = ["ENGINE_NAME", "ocrmypdf_errors", "options_to_config"]

# The value of --ocr-engine that selects difftsr-ocr's own reading.
ENGINE_NAME = "difftsr"


def options_to_config(options: Any, output_scale: int = 1) -> PipelineConfig:
    """The pipeline config from a ``DifftsrOptions``: the config file, then the flags given over it.

    ``output_scale`` overrides the file's: the image OCRmyPDF reads must keep its size
    (its text layer is placed by it); only the visible page may grow.
    """
    data: dict[str, Any] = config_to_dict(load_pipeline_config(options.config)) if options.config else {}
    data["output_scale"] = output_scale
    restorer = data.setdefault("restorer", {})
    for key, value in (("kind", options.restorer), ("ckpt", options.ckpt), ("transocr", options.transocr)):
        if value is not None:
            restorer[key] = value
    if options.steps is not None:
        restorer["steps"] = options.steps
    if options.device is not None:
        data["device"] = options.device
    if options.gate is not None:
        data.setdefault("gate", {})["policy"] = options.gate
    return config_from_dict(data, source=options.config or "--difftsr-* options")


@contextlib.contextmanager
def ocrmypdf_errors() -> Iterator[None]:
    """Our user errors as OCRmyPDF's, so its runner prints one line and exits with its own code."""
    try:
        yield
    except (WeightsError, DeviceError) as error:
        raise MissingDependencyError(f"difftsr plug-in: {error}") from None
    except DifftsrError as error:
        raise BadArgsError(f"difftsr plug-in: {error}") from None
