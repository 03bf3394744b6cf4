"""Reading and writing page images the way users expect: upright, in their own mode.

Pages are processed as upright (EXIF orientation applied) H x W x 3 uint8 RGB arrays.
Whatever came in (grayscale, palette, RGBA, 16-bit, CMYK) is converted once on the way
in, and the restored page is written back in the input's mode and orientation, with
its EXIF and DPI, so it can replace the original in an archive. Documents of many pages
(PDF, multi-page TIFF) are read and written a page at a time by :mod:`.multipage`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import os
import stat
import threading
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from difftsr_ocr.atomic import replacing
from difftsr_ocr.errors import InputImageError, printable

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "PageImage",
    "load_image",
    "page_from_array",
    "page_from_header",
    "page_header",
    "save_like",
    "scaled_dpi",
]

# Larger images are refused before decoding (a decompression bomb would exhaust memory).
DEFAULT_MAX_PIXELS = 250_000_000

# EXIF orientation -> the transpose that undoes ImageOps.exif_transpose.
_UNDO_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
_EXIF_ORIENTATION = 0x0112
# Pillow refuses images over its own global limit (2 x Image.MAX_IMAGE_PIXELS) whatever
# ours says; while a file is opened, the global follows ours (our check runs first).
_PILLOW_LIMIT = threading.Lock()


@dataclasses.dataclass(frozen=True)
class PageImage:
    """An upright RGB page plus what is needed to write a result back like the input."""

    pixels: np.ndarray
    source: str | None = None
    mode: str = "RGB"
    orientation: int = 1
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    dpi: tuple[float, float] | None = None
    format: str | None = None
    # How the input was encoded, to write the output the same way: ICC profile, JPEG
    # quantisation tables and chroma subsampling, TIFF compression (Pillow save options).
    encoding: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _to_rgb(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: keep the full range by scaling the actual maximum to 255.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        gray = np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2), None
    if image.mode == "F":
        gray = np.clip(np.round(np.asarray(image) * (255.0 if np.asarray(image).max() <= 1.0 else 1.0)), 0, 255)
        return np.repeat(gray.astype(np.uint8)[:, :, None], 3, axis=2), None
    alpha = None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba)[:, :, 3].copy()
        # Transparent areas become white paper for detection and restoration.
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB")), alpha
    return np.asarray(image.convert("RGB")), None


def _check_regular_file(path: Path) -> None:
    """Refuse what is not a regular file before opening it: reading a FIFO or a device blocks forever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputImageError(f"{path}: no such file; check the path") from None
    except OSError as error:
        raise InputImageError(f"{path}: cannot be read ({error.strerror}); check its permissions") from None
    if stat.S_ISDIR(mode):
        raise InputImageError(f"{path}: is a folder; pass image files (or use a batch job for folders)")
    if not stat.S_ISREG(mode):
        raise InputImageError(f"{path}: not a regular file (a pipe, socket or device); pass an image file")


@contextlib.contextmanager
def _opened(path: Path, max_pixels: int) -> Iterator[Image.Image]:
    """``Image.open`` under our pixel limit instead of Pillow's (the caller checks each frame against it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _PILLOW_LIMIT:
            pillow_limit = Image.MAX_IMAGE_PIXELS
            # Pillow refuses at twice its setting: half of ours keeps it from firing below ours.
            Image.MAX_IMAGE_PIXELS = max(pillow_limit or 0, max_pixels // 2 + 1)
            try:
                image = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = pillow_limit
        with image:
            yield image


def _check_size(path: Path, image: Image.Image, max_pixels: int, page: int | None = None) -> None:
    width, height = image.size
    if width * height > max_pixels:
        where = f"{path}" if page is None else f"{path}: page {page}"
        raise InputImageError(
            f"{where}: {width}x{height} px is over the {max_pixels:,} pixel limit; "
            "downscale it or raise max_image_pixels in the config"
        )


def load_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> PageImage:
    """Read an image file as an upright RGB page; a bad file is one InputImageError line."""
    path = Path(path)
    _check_regular_file(path)
    try:
        with _opened(path, max_pixels) as image:
            _check_size(path, image, max_pixels)
            image.load()
            orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
            exif = image.info.get("exif")
            dpi = image.info.get("dpi")
            mode, file_format = image.mode, image.format
            encoding = _encoding(image)
            upright = ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise InputImageError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputImageError(f"{path}: is a folder; pass image files (or use a batch job for folders)") from None
    except UnidentifiedImageError:
        raise InputImageError(f"{path}: not an image file Pillow can read; convert it to PNG, JPEG or TIFF") from None
    except Image.DecompressionBombError:
        raise InputImageError(f"{path}: image too large to decode safely; downscale it first") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise InputImageError(f"{path}: damaged or truncated image ({error}); re-export the file") from None
    if upright.width == 0 or upright.height == 0:
        raise InputImageError(f"{path}: empty image (0 pixels)")
    pixels, alpha = _to_rgb(upright)
    return PageImage(
        pixels=np.ascontiguousarray(pixels),
        source=printable(path),
        mode=mode,
        orientation=orientation if orientation in _UNDO_ORIENTATION else 1,
        alpha=alpha,
        exif=exif,
        dpi=tuple(dpi) if dpi else None,
        format=file_format,
        encoding=encoding,
    )


def _encoding(image: Image.Image) -> dict[str, Any]:
    """The save options that reproduce how ``image`` was encoded (what Pillow can tell of it)."""
    encoding: dict[str, Any] = {}
    if image.info.get("icc_profile"):
        encoding["icc_profile"] = image.info["icc_profile"]
    if image.format == "JPEG":
        quantization = getattr(image, "quantization", None)
        if quantization:
            # The input's own tables: the output is as lossy as the input, no more.
            encoding["qtables"] = [quantization[index] for index in sorted(quantization)]
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling >= 0:
            encoding["subsampling"] = sampling
    if image.format == "TIFF" and image.info.get("compression") not in (None, "raw"):
        encoding["compression"] = image.info["compression"]
    return encoding


def page_from_array(array: np.ndarray, source: str | None = None) -> PageImage:
    """Wrap an in-memory image (H x W, H x W x 3 or H x W x 4; uint8, uint16 or float 0..1)."""
    if not isinstance(array, np.ndarray) or array.ndim not in (2, 3) or array.size == 0:
        shape = getattr(array, "shape", type(array).__name__)
        raise InputImageError(f"{source or 'image'}: expected a non-empty H x W (x 3|4) array, got {shape}")
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        array = np.round(np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    mode = {2: "L", 3: "RGB", 4: "RGBA"}.get(array.ndim if array.ndim == 2 else array.shape[2])
    if mode is None:
        raise InputImageError(f"{source or 'image'}: {array.shape[2]} channels; expected 1, 3 or 4")
    pixels, alpha = _to_rgb(Image.fromarray(np.ascontiguousarray(array), mode))
    return PageImage(pixels=np.ascontiguousarray(pixels), source=source, mode=mode, alpha=alpha)


def scaled_dpi(like: PageImage, pixels: np.ndarray) -> tuple[float, float] | None:
    """``like``'s DPI for ``pixels``, a version of it that may be larger: same physical size."""
    if not like.dpi:
        return None
    scale_x, scale_y = pixels.shape[1] / like.pixels.shape[1], pixels.shape[0] / like.pixels.shape[0]
    return (like.dpi[0] * scale_x, like.dpi[1] * scale_y)


def _in_mode_of(pixels: np.ndarray, like: PageImage) -> Image.Image:
    """Upright RGB ``pixels`` as an image in ``like``'s mode, with its alpha (resized to fit)."""
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    if like.alpha is not None:
        alpha = Image.fromarray(like.alpha, "L")
        if alpha.size != image.size:
            alpha = alpha.resize(image.size, Image.Resampling.BICUBIC)
        image.putalpha(alpha)
        if like.mode == "LA":
            image = image.convert("LA")
    elif like.mode == "1":
        # A bilevel scan stays crisp: threshold at mid-grey (Pillow would dither).
        image = image.convert("L").convert("1", dither=Image.Dither.NONE)
    elif like.mode in ("L", "CMYK"):
        image = image.convert(like.mode)
    return image


def save_like(pixels: np.ndarray, like: PageImage, path: str | os.PathLike[str]) -> None:
    """Write an upright RGB result in the original's mode, orientation, alpha, EXIF and DPI.

    When the result is larger than the input (an output scale > 1), the alpha channel is
    resized with it. 16-bit and float inputs are written as 8 bits.
    """
    image = _in_mode_of(pixels, like)
    if like.orientation in _UNDO_ORIENTATION:
        image = image.transpose(_UNDO_ORIENTATION[like.orientation])
    path = Path(path)
    file_format = Image.registered_extensions().get(path.suffix.lower())
    options = _save_options(like, file_format, image.mode)
    if like.exif:
        options["exif"] = like.exif
    if like.dpi:
        options["dpi"] = scaled_dpi(like, pixels)
    with replacing(path) as partial:
        try:
            image.save(partial, format=file_format, **options)
        except OSError as error:
            if image.mode in ("RGB", "RGBA") or "cannot write mode" not in str(error):
                raise
            # The input's mode (CMYK, LA, ...) does not fit the output's format: keep the pixels.
            fallback = "RGBA" if "A" in image.mode else "RGB"
            logger.warning("%s: %s cannot hold mode %s; written as %s", path, file_format, image.mode, fallback)
            image.convert(fallback).save(partial, format=file_format, **options)


def _save_options(like: PageImage, file_format: str | None, mode: str) -> dict[str, Any]:
    """The input's encoding options that apply to writing ``mode`` as ``file_format``."""
    options: dict[str, Any] = {}
    if like.encoding.get("icc_profile") and file_format in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["icc_profile"] = like.encoding["icc_profile"]
    if file_format == like.format == "JPEG":
        options.update({key: like.encoding[key] for key in ("qtables", "subsampling") if key in like.encoding})
    if file_format == like.format == "TIFF" and "compression" in like.encoding:
        # CCITT codecs hold bilevel pixels only; any other mode keeps a lossless codec.
        bilevel_only = like.encoding["compression"].startswith("group") or like.encoding["compression"] == "tiff_ccitt"
        options["compression"] = like.encoding["compression"] if mode == "1" or not bilevel_only else "tiff_lzw"
    return options


def page_header(like: PageImage, pixels: np.ndarray) -> dict[str, Any]:
    """How ``pixels``, a restored version of ``like``, is written, as JSON-ready data (no pixels, bytes as base64).

    With the pixels and ``like.alpha``, :func:`page_from_header` gives back a page that
    :func:`save_like` and :func:`save_pages` write exactly as they would write ``pixels`` like ``like``.
    """
    return {
        "source": like.source,
        "mode": like.mode,
        "orientation": like.orientation,
        "exif": _to_json(like.exif),
        "dpi": list(scaled_dpi(like, pixels) or ()) or None,
        "format": like.format,
        "encoding": {key: _to_json(value) for key, value in like.encoding.items()},
    }


def page_from_header(header: Mapping[str, Any], pixels: np.ndarray, alpha: np.ndarray | None) -> PageImage:
    """The page :func:`page_header` described, holding ``pixels`` (already at its written size)."""
    return PageImage(
        pixels=pixels,
        source=header["source"],
        mode=header["mode"],
        orientation=header["orientation"],
        alpha=alpha,
        exif=_from_json(header["exif"]),
        dpi=tuple(header["dpi"]) if header["dpi"] else None,
        format=header["format"],
        encoding={key: _from_json(value) for key, value in header["encoding"].items()},
    )


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "array":
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        return base64.b64decode(value["base64"])
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value
