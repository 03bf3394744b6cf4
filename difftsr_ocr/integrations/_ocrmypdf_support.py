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
from difftsr_ocr.errors import DeviceError, DifftsrError, ServiceError, WeightsError

__all__ = ["ENGINE_NAME", "check_server", "ocrmypdf_errors", "options_to_config", "restore_with_options"]

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


# The options that shape the pipeline: with --difftsr-server the service's config does.
_PIPELINE_OPTIONS = ("config", "restorer", "ckpt", "transocr", "steps", "device", "gate", "scale")


def check_server(options: Any) -> None:
    """A ``--difftsr-server`` that answers, runs at scale 1, and is not given pipeline options it would ignore."""
    from difftsr_ocr.serve.client import ServiceClient

    given = [name for name in _PIPELINE_OPTIONS if getattr(options, name) is not None]
    if given:
        flag = f"--difftsr-{given[0].replace('_', '-')}"
        raise BadArgsError(f"difftsr plug-in: --difftsr-server runs the service's own config; drop {flag}")
    config = ServiceClient(options.server, timeout=30.0).about()["config"]
    if config.get("output_scale", 1) != 1:
        raise BadArgsError(
            f"difftsr plug-in: the service at {options.server} writes pages at output_scale "
            f"{config['output_scale']}; OCRmyPDF places its text on the page's own size: serve at scale 1"
        )


def restore_with_options(image: Any, options: Any, output_scale: int = 1) -> Any:
    """:func:`~difftsr_ocr.preprocess.restore_image` as the options ask: in this process, or by the service."""
    from difftsr_ocr.preprocess import restore_image

    if options.server is not None:
        return restore_image(image, server=options.server)
    return restore_image(image, options_to_config(options, output_scale))


@contextlib.contextmanager
def ocrmypdf_errors() -> Iterator[None]:
    """Our user errors as OCRmyPDF's, so its runner prints one line and exits with its own code."""
    try:
        yield
    except (WeightsError, DeviceError, ServiceError) as error:
        raise MissingDependencyError(f"difftsr plug-in: {error}") from None
    except DifftsrError as error:
        raise BadArgsError(f"difftsr plug-in: {error}") from None
