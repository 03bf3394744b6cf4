"""OCRmyPDF plug-in: restore text lines before OCR, or be the OCR engine.

Loaded with ``--plugin difftsr_ocr.integrations.ocrmypdf`` (or the ``ocrmypdf`` entry
point), it restores the image the OCR engine reads (``filter_ocr_image``) and, with
``--difftsr-restore-visible-page``, the page image shown in the PDF too. With
``--ocr-engine difftsr`` it is also the OCR engine: the PDF's text layer is
difftsr-ocr's merged line readings.

OCRmyPDF imports plug-ins in every worker process, so this module imports nothing heavy:
the pipeline is built lazily, once per worker process (see
:func:`difftsr_ocr.preprocess.cached_pipeline`). With one GPU, run ``-j 1``, or budget
GPU memory for one model per worker: every worker loads its own copy. With
``--difftsr-server URL`` no worker loads one: all send their pages to that service.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ocrmypdf import hookimpl
from ocrmypdf.builtin_plugins import tesseract_ocr
from ocrmypdf.exceptions import BadArgsError, MissingDependencyError
from PIL import Image
from pydantic import BaseModel

from difftsr_ocr.config import RESTORER_KINDS
from difftsr_ocr.gate import GATE_POLICIES
from difftsr_ocr.integrations._ocrmypdf_support import (
    ENGINE_NAME,
    check_server,
    ocrmypdf_errors,
    options_to_config,
    restore_with_options,
)

if TYPE_CHECKING:
    from ocrmypdf._jobcontext import PageContext
    from ocrmypdf._options import OcrOptions
    from ocrmypdf.pluginspec import OcrEngine

__all__ = [
    "DifftsrOptions",
    "add_options",
    "check_options",
    "filter_ocr_image",
    "filter_page_image",
    "get_ocr_engine",
    "register_options",
]

log = logging.getLogger(__name__)


class DifftsrOptions(BaseModel):
    """The ``--difftsr-*`` options; ``None`` leaves the value to the config file (or its default)."""

    config: str | None = None
    restorer: str | None = None
    ckpt: str | None = None
    transocr: str | None = None
    steps: int | None = None
    device: str | None = None
    gate: str | None = None
    restore_visible_page: bool = False
    scale: int | None = None
    server: str | None = None


def _requested(options: DifftsrOptions) -> bool:
    return any(value not in (None, False) for value in options.model_dump().values())


@hookimpl
def register_options() -> dict[str, type[BaseModel]]:
    return {"difftsr": DifftsrOptions}


@hookimpl
def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("difftsr", "Text line restoration with difftsr-ocr")
    group.add_argument("--difftsr-config", metavar="YAML", help="difftsr-ocr pipeline config file")
    group.add_argument("--difftsr-restorer", choices=RESTORER_KINDS, help="restorer (default: from the config, auto)")
    group.add_argument("--difftsr-ckpt", metavar="FILE", help="DiffTSR weights (DiffTSR.ckpt or .safetensors)")
    group.add_argument("--difftsr-transocr", metavar="FILE", help="TransOCR weights (transocr.pth or .safetensors)")
    group.add_argument("--difftsr-steps", type=int, metavar="N", help="DDIM steps (official: 200; 20 is faster)")
    group.add_argument("--difftsr-device", metavar="DEV", help="cpu, cuda, cuda:1 or auto")
    group.add_argument("--difftsr-gate", choices=GATE_POLICIES, help="when restored pixels may replace the original's")
    group.add_argument(
        "--difftsr-restore-visible-page",
        action="store_true",
        help="also restore the page image shown in the output PDF (needs --force-ocr or a preprocessing option)",
    )
    group.add_argument(
        "--difftsr-scale",
        type=int,
        choices=(1, 2, 3, 4),
        help="with --difftsr-restore-visible-page: that page this many times larger, at the same physical size",
    )
    group.add_argument(
        "--difftsr-server",
        metavar="URL",
        help="send pages to a difftsr-ocr service (python -m difftsr_ocr.serve) instead of loading the models"
        " in every worker; the service runs its own config",
    )
    # OCRmyPDF's --ocr-engine takes a fixed list of choices; let it name this engine too.
    engine_flag = parser._option_string_actions.get("--ocr-engine")
    if engine_flag is not None and engine_flag.choices is not None and ENGINE_NAME not in engine_flag.choices:
        engine_flag.choices = [*engine_flag.choices, ENGINE_NAME]


@hookimpl
def check_options(options: OcrOptions) -> None:
    for module in ("torch", "onnxruntime", "cv2"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(
                f"difftsr plug-in: Python package {module} is missing; pip install difftsr-ocr"
            )
    if options.ocr_engine == ENGINE_NAME and options.pdf_renderer == "sandwich":
        raise BadArgsError("--ocr-engine difftsr builds the text layer with fpdf2; drop --pdf-renderer sandwich")
    with ocrmypdf_errors():
        if options.difftsr.server is not None:
            check_server(options.difftsr)
            return
        config = options_to_config(options.difftsr)
        if config.restorer.kind == "difftsr":
            from difftsr_ocr.weights import DIFFTSR_WEIGHTS, TRANSOCR_WEIGHTS, locate_weights

            locate_weights(DIFFTSR_WEIGHTS, config.restorer.ckpt)
            locate_weights(TRANSOCR_WEIGHTS, config.restorer.transocr)


def _restore_pil(image: Image.Image, options: OcrOptions, output_scale: int = 1) -> Image.Image:
    with ocrmypdf_errors():
        restored = restore_with_options(image, options.difftsr, output_scale)
    log.debug("difftsr restored %d lines", len(restored.page.lines))
    return restored.image


@hookimpl
def filter_ocr_image(page: PageContext, image: Image.Image) -> Image.Image:
    """Runs in worker processes: the image the OCR engine reads, restored at the same size and DPI."""
    if page.options.ocr_engine in (ENGINE_NAME, "none") or not _requested(page.options.difftsr):
        # Our engine restores and reads the page itself (restoring here would do it twice);
        # "none" reads nothing; and installed through the entry point, the plug-in is loaded
        # into every OCRmyPDF run, so it only restores when a --difftsr-* option asks for it.
        return tesseract_ocr.filter_ocr_image(page, image)
    restored = _restore_pil(image, page.options)
    # First-result hooks stop at ours, so hand on to Tesseract's filter (it shrinks pages too big for it).
    return tesseract_ocr.filter_ocr_image(page, restored)


@hookimpl
def filter_page_image(page: PageContext, image_filename: Path) -> Path | None:
    """Runs in worker processes: with --difftsr-restore-visible-page, the page shown in the PDF."""
    if not page.options.difftsr.restore_visible_page:
        return None
    with Image.open(image_filename) as original:
        original.load()
        # A larger page keeps its physical size: restore_image multiplies the DPI by the scale.
        restored = _restore_pil(original, page.options, page.options.difftsr.scale or 1)
        file_format = original.format
    output = image_filename.with_name(f"{image_filename.stem}_difftsr{image_filename.suffix}")
    dpi = restored.info.get("dpi")
    restored.save(output, format=file_format, **({"dpi": dpi} if dpi else {}))
    return output


@hookimpl
def get_ocr_engine(options: OcrOptions | None) -> OcrEngine | None:
    if options is None or options.ocr_engine != ENGINE_NAME:
        return None
    from difftsr_ocr.integrations._ocrmypdf_engine import DifftsrOcrEngine

    return DifftsrOcrEngine()
