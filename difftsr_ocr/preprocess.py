"""One call to restore a page before your own OCR: ``restore_image(image, config)``.

For pipelines that already have an OCR engine (RapidOCR, PaddleOCR, Tesseract through
OCRmyPDF) and want difftsr-ocr only as a pre-processing stage. Building a pipeline loads
weights and opens ONNX sessions, so it happens once per process for each distinct
configuration; later calls with an equal configuration reuse it.
"""

from __future__ import annotations

import dataclasses
import io
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from difftsr_ocr.config import PipelineConfig, config_from_dict, load_pipeline_config
from difftsr_ocr.errors import ConfigError, InputImageError, printable
from difftsr_ocr.imageio import PageImage, load_image, page_from_array, scaled_dpi
from difftsr_ocr.pipeline import Pipeline, build_pipeline
from difftsr_ocr.results import Page

__all__ = ["ConfigLike", "RestoredImage", "cached_pipeline", "clear_pipeline_cache", "resolve_config", "restore_image"]

ConfigLike = PipelineConfig | Mapping[str, Any] | str | os.PathLike[str] | None

# PIL modes that come back in their own mode; any other mode comes back as RGB.
_KEPT_MODES = ("L", "RGB", "RGBA")

# The file suffixes a service takes as they are, and the media type it takes them as.
_MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}

_pipelines: dict[PipelineConfig, Pipeline] = {}
# Threads of one process (a web server, a thread pool) must not build the same pipeline twice.
_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class RestoredImage:
    """A restored page: ``image`` in the caller's type family, ``page`` the line results.

    ``image`` is a PIL image for PIL input (in the input's mode when that is L, RGB or
    RGBA, else RGB), and an upright H x W x 3 uint8 RGB array for arrays and paths.
    """

    image: np.ndarray | Image.Image
    page: Page

    @property
    def text(self) -> str:
        """The merged line texts, one line per text line, in reading order."""
        return self.page.text


def resolve_config(config: ConfigLike) -> PipelineConfig:
    """A PipelineConfig from a config object, a (partial) mapping, a YAML path, or None (defaults)."""
    if config is None:
        return PipelineConfig()
    if isinstance(config, PipelineConfig):
        return config
    if isinstance(config, Mapping):
        return config_from_dict(config, source="restore_image(config=...)")
    if isinstance(config, str | os.PathLike):
        return load_pipeline_config(Path(config))
    raise ConfigError(
        f"config must be a PipelineConfig, a mapping or a YAML path, not {type(config).__name__}; "
        "see configs/pipeline_default.yaml"
    )


def cached_pipeline(config: ConfigLike = None) -> Pipeline:
    """The process's pipeline for this configuration, built on first use."""
    resolved = resolve_config(config)
    with _lock:
        pipeline = _pipelines.get(resolved)
        if pipeline is None:
            pipeline = build_pipeline(resolved)
            _pipelines[resolved] = pipeline
    return pipeline


def clear_pipeline_cache() -> None:
    """Drop the cached pipelines, so their weights can be freed (e.g. before switching devices)."""
    with _lock:
        _pipelines.clear()


def _from_pil(image: Image.Image) -> PageImage:
    if image.mode not in _KEPT_MODES:
        has_alpha = image.mode in ("LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
    page = page_from_array(np.asarray(image))
    dpi = image.info.get("dpi")
    return dataclasses.replace(page, dpi=tuple(dpi) if dpi else None)


def _to_pil(pixels: np.ndarray, like: PageImage) -> Image.Image:
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    if like.alpha is not None:
        alpha = Image.fromarray(like.alpha, "L")
        # An output scale > 1 makes the page larger than its alpha channel.
        image.putalpha(alpha if alpha.size == image.size else alpha.resize(image.size, Image.Resampling.BICUBIC))
    elif like.mode == "L":
        image = image.convert("L")
    dpi = scaled_dpi(like, pixels)
    if dpi:
        image.info["dpi"] = dpi
    return image


def restore_image(
    image: str | os.PathLike[str] | Image.Image | np.ndarray, config: ConfigLike = None, server: str | None = None
) -> RestoredImage:
    """Restore the text lines of one page and read them.

    ``image``: an image file, a PIL image, or an array (H x W, H x W x 3 RGB or H x W x 4
    RGBA; uint8, uint16 or float 0..1). ``config``: see :func:`resolve_config`; with
    ``None`` the device and restorer are chosen automatically. ``server``: the URL of a
    difftsr-ocr service (``python -m difftsr_ocr.serve``) to send the page to instead of
    loading the models in this process; the service runs its own config.
    """
    if server is not None:
        if config is not None:
            raise ConfigError("restore_image: a server runs its own config; pass config or server, not both")
        return _restore_remotely(image, server)
    pipeline = cached_pipeline(config)
    if isinstance(image, Image.Image):
        page_image = _from_pil(image)
    elif isinstance(image, np.ndarray):
        page_image = page_from_array(image)
    elif isinstance(image, str | os.PathLike):
        page_image = load_image(image, max_pixels=pipeline.config.max_image_pixels)
    else:
        raise InputImageError(
            f"restore_image takes a file path, a PIL image or a numpy array, not {type(image).__name__}"
        )
    result = pipeline(page_image)
    restored = _to_pil(result.image, page_image) if isinstance(image, Image.Image) else result.image
    return RestoredImage(image=restored, page=result.page)


def _restore_remotely(image: str | os.PathLike[str] | Image.Image | np.ndarray, server: str) -> RestoredImage:
    """What :func:`restore_image` returns, computed by the service at ``server``."""
    from difftsr_ocr.serve.client import ServiceClient

    client = ServiceClient(server)
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        media_type = _MEDIA_TYPES.get(path.suffix.lower())
        if media_type is None:
            # A format the service does not take by name: decoded here, sent as the pixels.
            page_image = load_image(path)
            remote = client.restore_page(_png_bytes(page_image.pixels), "image/png", printable(path))
        else:
            try:
                data = path.read_bytes()
            except OSError as error:
                raise InputImageError(f"{printable(path)}: cannot be read ({error.strerror})") from None
            remote = client.restore_page(data, media_type, printable(path))
        return RestoredImage(image=remote.image, page=remote.document.pages[0])
    if isinstance(image, Image.Image):
        page_image = _from_pil(image)
    elif isinstance(image, np.ndarray):
        page_image = page_from_array(image)
    else:
        raise InputImageError(
            f"restore_image takes a file path, a PIL image or a numpy array, not {type(image).__name__}"
        )
    # The upright RGB pixels the pipeline would read here: the service reads exactly these.
    remote = client.restore_page(_png_bytes(page_image.pixels), "image/png")
    restored = _to_pil(remote.image, page_image) if isinstance(image, Image.Image) else remote.image
    return RestoredImage(image=restored, page=remote.document.pages[0])


def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # Fast compression: the PNG only carries the pixels to the service and is thrown away.
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
