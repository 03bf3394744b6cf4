"""Documents of many pages (PDF, multi-page TIFF), read and written one page at a time.

A page of a document is a :class:`~difftsr_ocr.imageio.PageImage` like any single image:
each is decoded when the iteration reaches it and checked against the pixel limit, and
a damaged page is one line naming it. Writing takes the pages lazily, so however long
the document only one page is in memory.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Container, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, TiffImagePlugin, UnidentifiedImageError

from difftsr_ocr.atomic import replacing
from difftsr_ocr.errors import InputImageError, printable
from difftsr_ocr.imageio import (
    DEFAULT_MAX_PIXELS,
    PageImage,
    _check_regular_file,
    _check_size,
    _encoding,
    _in_mode_of,
    _opened,
    _save_options,
    _to_rgb,
    load_image,
    save_like,
    scaled_dpi,
)

__all__ = ["iter_pages", "load_pages", "page_count", "save_pages"]


def _open_pdf(path: Path) -> Any:
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise InputImageError(f"{path}: not a readable PDF ({error}); repair or re-export it") from None


def _render_pdf(
    path: Path, dpi: float, max_pixels: int, wanted: Container[int] | None
) -> Iterator[tuple[int, PageImage]]:
    document = _open_pdf(path)
    try:
        count = len(document)
    finally:
        document.close()
    if count == 0:
        raise InputImageError(f"{path}: the PDF has no pages")
    for number in range(count):
        if wanted is not None and number not in wanted:
            continue
        # PDFium keeps what it has parsed until its document is closed: one document for the
        # whole file grew by 0.15 MB a scanned A4 page (about the page's compressed size),
        # and stays flat when each page opens its own. Opening a 500-page file takes 0.2 ms.
        document = _open_pdf(path)
        try:
            page = _render_pdf_page(document, path, number, dpi, max_pixels)
        finally:
            document.close()
        yield number, page


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
        document = _open_pdf(path)
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
