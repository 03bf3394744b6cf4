"""Reading and writing page images the way users expect: upright, in their own mode.

Pages are processed as upright (EXIF orientation applied) H x W x 3 uint8 RGB arrays.
Whatever came in (grayscale, palette, RGBA, 16-bit, CMYK) is converted once on the way
in, and the restored page is written back in the input's mode and orientation, with
its EXIF and DPI, so it can replace the original in an archive.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import logging
import os
import stat
import threading
import warnings
from collections.abc import Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, TiffImagePlugin, UnidentifiedImageError

from difftsr_ocr.atomic import replacing
from difftsr_ocr.errors import InputImageError, printable

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "PageImage",
    "iter_pages",
    "load_image",
    "load_pages",
    "page_count",
    "page_from_array",
    "page_from_header",
    "page_header",
    "save_like",
    "save_pages",
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


def _render_pdf(
    path: Path, dpi: float, max_pixels: int, wanted: Container[int] | None
) -> Iterator[tuple[int, PageImage]]:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise InputImageError(f"{path}: not a readable PDF ({error}); repair or re-export it") from None
    try:
        if len(document) == 0:
            raise InputImageError(f"{path}: the PDF has no pages")
        for number in range(len(document)):
            if wanted is not None and number not in wanted:
                continue
            yield number, _render_pdf_page(document, path, number, dpi, max_pixels)
    finally:
        document.close()


def _render_pdf_page(document: Any, path: Path, number: int, dpi: float, max_pixels: int) -> PageImage:
    import pypdfium2

    try:
        page = document[number]
    except (pypdfium2.PdfiumError, OSError, ValueError) as error:
        raise InputImageError(f"{path}: page {number + 1} is damaged ({error}); repair or re-export the PDF") from None
    width, height = page.get_size()  # points
    if width * height * (dpi / 72.0) ** 2 > max_pixels:
        raise InputImageError(f"{path}: page {number + 1} at {dpi:g} dpi is over the pixel limit; lower --pdf-dpi")
    try:
        bitmap = page.render(scale=dpi / 72.0).to_pil().convert("RGB")
    except (pypdfium2.PdfiumError, OSError, ValueError) as error:
        raise InputImageError(
            f"{path}: page {number + 1} cannot be rendered ({error}); repair or re-export the PDF"
        ) from None
    finally:
        page.close()
    return PageImage(
        pixels=np.asarray(bitmap), source=f"{printable(path)}#page={number + 1}", dpi=(dpi, dpi), format="PDF"
    )


def page_count(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """How many pages :func:`iter_pages` yields for ``path``, without decoding any (a bad file is one line)."""
    path = Path(path)
    _check_regular_file(path)
    if path.suffix.lower() == ".pdf":
        import pypdfium2

        try:
            document = pypdfium2.PdfDocument(str(path))
        except pypdfium2.PdfiumError as error:
            raise InputImageError(f"{path}: not a readable PDF ({error}); repair or re-export it") from None
        try:
            return len(document)
        finally:
            document.close()
    try:
        with _opened(path, max_pixels) as image:
            return int(getattr(image, "n_frames", 1))
    except UnidentifiedImageError:
        raise InputImageError(f"{path}: not an image file Pillow can read; convert it to PNG, JPEG or TIFF") from None
    except Image.DecompressionBombError:
        raise InputImageError(f"{path}: image too large to decode safely; downscale it first") from None
    except (OSError, SyntaxError, ValueError, TypeError, EOFError) as error:
        raise InputImageError(f"{path}: damaged or truncated image ({error}); re-export the file") from None


def iter_pages(
    path: str | os.PathLike[str],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pdf_dpi: float = 200.0,
    wanted: Container[int] | None = None,
) -> Iterator[tuple[int, PageImage]]:
    """``(index, page)`` for the pages of a file, decoded one at a time (each page of a PDF, each frame of a TIFF).

    ``wanted`` (page indices from 0) limits the pages decoded; the others are skipped
    without being rendered. Every page is checked against ``max_pixels``; a damaged page
    raises one InputImageError line naming it when the iteration reaches it.
    """
    path = Path(path)
    _check_regular_file(path)
    if path.suffix.lower() == ".pdf":
        yield from _render_pdf(path, pdf_dpi, max_pixels, wanted)
        return
    if wanted is None or 0 in wanted:
        yield 0, load_image(path, max_pixels)
    number = 1
    try:
        with _opened(path, max_pixels) as image:
            file_format = image.format
            for number in range(2, getattr(image, "n_frames", 1) + 1):
                if wanted is not None and number - 1 not in wanted:
                    continue
                image.seek(number - 1)
                _check_size(path, image, max_pixels, page=number)
                upright = ImageOps.exif_transpose(image)
                pixels, alpha = _to_rgb(upright)
                yield (
                    number - 1,
                    PageImage(
                        pixels=np.ascontiguousarray(pixels),
                        source=f"{printable(path)}#page={number}",
                        mode=image.mode,
                        alpha=alpha,
                        format=file_format,
                        encoding=_encoding(image),
                    ),
                )
    except Image.DecompressionBombError:
        raise InputImageError(f"{path}: page {number} is too large to decode safely; downscale it first") from None
    except (OSError, SyntaxError, ValueError, TypeError, EOFError) as error:
        raise InputImageError(f"{path}: page {number} is damaged ({error}); re-export the file") from None


def load_pages(
    path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS, pdf_dpi: float = 200.0
) -> list[PageImage]:
    """Every page of a file at once (see :func:`iter_pages`, which holds one page at a time)."""
    return [page for _, page in iter_pages(path, max_pixels, pdf_dpi)]


def save_pages(pages: Iterable[tuple[np.ndarray, PageImage]], path: str | os.PathLike[str]) -> None:
    """Write upright RGB pages, each with the page it restores, as one multi-page TIFF or PDF.

    Pages are taken from ``pages`` one at a time and let go once written, so a lazy
    iterable keeps one page in memory however long the document. A single page in a
    single-page format goes through :func:`save_like`. The first page decides the file's
    DPI and encoding; each TIFF page keeps its own input's mode (a bilevel page stays
    bilevel, with its bilevel codec).
    """
    path = Path(path)
    remaining = iter(pages)
    first = next(remaining)
    second = next(remaining, None)
    if second is None and path.suffix.lower() != ".pdf":
        save_like(first[0], first[1], path)
        return
    following = itertools.chain([first] if second is None else [first, second], remaining)
    dpi = scaled_dpi(first[1], first[0]) or (200.0, 200.0)
    with replacing(path) as partial:
        if path.suffix.lower() != ".pdf":
            file_format = Image.registered_extensions().get(path.suffix.lower())
            _save_tiff_pages(((_in_mode_of(p, like), first[1]) for p, like in following), partial, file_format, dpi)
            return
        # Pillow's PDF writer wants every page as one multi-frame image: a TIFF beside the
        # output is one that it reads a page at a time.
        frames = partial.with_name(f"{partial.name}.frames.tiff")
        try:
            rgb = ((Image.fromarray(np.ascontiguousarray(p), "RGB"), None) for p, _ in following)
            _save_tiff_pages(rgb, frames, "TIFF", dpi)
            with Image.open(frames) as document:
                document.save(partial, format="PDF", save_all=True, resolution=float(dpi[0]))
        finally:
            frames.unlink(missing_ok=True)


def _save_tiff_pages(
    frames: Iterable[tuple[Image.Image, PageImage | None]],
    path: Path,
    file_format: str | None,
    dpi: tuple[float, float],
) -> None:
    """Append each frame to a TIFF at ``path``, encoded like its page (None: losslessly, for reading back)."""
    with TiffImagePlugin.AppendingTiffWriter(path, new=True) as writer:
        for image, like in frames:
            options = _save_options(like, file_format, image.mode) if like is not None else {"compression": "tiff_lzw"}
            image.save(writer, format="TIFF", dpi=dpi, **options)
            writer.newFrame()


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
