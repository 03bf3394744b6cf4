"""Writing one input's outputs: the restored image plus the asked-for result formats.

Shared by the command line and the batch executors so that both name files the same
way. Every file is written through :func:`difftsr_ocr.atomic.replacing`, so a killed
process never leaves a half-written file under a final name: a later run can trust any
file it finds.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difftsr_ocr.atomic import replacing
from difftsr_ocr.errors import DifftsrError, printable
from difftsr_ocr.version import SOFTWARE_NAME, software_version

if TYPE_CHECKING:
    from difftsr_ocr.pipeline import PageResult
    from difftsr_ocr.results import Document, Page

__all__ = [
    "FORMATS",
    "IMAGE_SUFFIXES",
    "atomic_write",
    "atomic_write_chunks",
    "check_formats",
    "output_paths",
    "output_stem",
    "results_document",
    "results_metadata",
    "write_documents",
    "write_outputs",
    "write_preview",
]

FORMATS = ("json", "hocr", "alto", "txt", "preview", "report")
# Inputs in these formats come back in the same format; anything else as PNG.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".pdf")
_SUFFIXES = {"json": ".json", "hocr": ".hocr", "alto": ".alto.xml", "txt": ".txt", "report": ".report.html"}
# Formats that hold several pages in one file; a multi-page input in any other is written as TIFF.
_MULTI_PAGE_SUFFIXES = (".tif", ".tiff", ".pdf")
# File names are at most 255 bytes on common file systems; the longest name written from
# a stem adds ".p9999.preview.png.partial.png" (29 bytes) or ".restored.jpeg.partial.jpeg".
_MAX_STEM_BYTES = 255 - 32


def check_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise DifftsrError(f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    return formats


def output_paths(
    source: Path, pages: int, output_dir: Path, formats: tuple[str, ...], stem: str | None = None
) -> dict[str, list[Path]]:
    """The files :func:`write_outputs` writes for an input of ``pages`` pages, by kind ("image" first)."""
    stem = output_stem(stem or source.stem)
    suffix = source.suffix.lower() if source.suffix.lower() in IMAGE_SUFFIXES else ".png"
    if pages > 1 and suffix not in _MULTI_PAGE_SUFFIXES:
        # A camera MPO or a misnamed TIFF: its pages need a format that holds pages.
        suffix = ".tiff"
    paths = {"image": [output_dir / f"{stem}.restored{suffix}"]}
    for name in check_formats(formats):
        if name == "preview":
            tags = [""] if pages == 1 else [f".p{number + 1}" for number in range(pages)]
            paths[name] = [output_dir / f"{stem}{tag}.preview.png" for tag in tags]
        else:
            paths[name] = [output_dir / f"{stem}{_SUFFIXES[name]}"]
    return paths


def output_stem(stem: str) -> str:
    """``stem`` as a file name every file system takes.

    Control characters and undecodable bytes become "_"; a name too long for the suffixes
    is shortened and tagged with a hash of the whole name, so two long names stay apart.
    """
    cleaned = "".join("_" if unicodedata.category(char) in ("Cc", "Cs") or char in "/\\" else char for char in stem)
    if len(cleaned.encode("utf-8")) <= _MAX_STEM_BYTES:
        return cleaned
    tag = "~" + hashlib.sha256(stem.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    kept = cleaned.encode("utf-8")[: _MAX_STEM_BYTES - len(tag)].decode("utf-8", "ignore")
    return kept + tag


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` holds either nothing or the whole text, durably."""
    atomic_write_chunks(path, [text])


def atomic_write_chunks(path: Path, chunks: Iterable[str]) -> None:
    """Write the pieces of a text one after the other, so that ``path`` holds either nothing or all of them."""
    with replacing(path) as partial, partial.open("w", encoding="utf-8") as file:
        for chunk in chunks:
            file.write(chunk)


def results_metadata(source: str | Path, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metadata of the document the JSON, hOCR and ALTO files are written from."""
    return {
        "source": printable(source),
        "software": f"{SOFTWARE_NAME} {software_version()}",
        **({"provenance": dict(provenance)} if provenance is not None else {}),
    }


def results_document(source: str | Path, pages: list[Page], provenance: Mapping[str, Any] | None = None) -> Document:
    """The document the JSON, hOCR and ALTO files are written from (the service answers with the same)."""
    from difftsr_ocr.results import Document

    return Document(pages=pages, metadata=results_metadata(source, provenance))


def write_outputs(
    source: Path,
    results: list[PageResult],
    output_dir: Path,
    formats: tuple[str, ...],
    stem: str | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the restored image and each format for one input whose pages are all in memory; returns the paths.

    ``provenance`` (:func:`difftsr_ocr.provenance.run_provenance`) goes into the results' metadata.
    Long documents are written page by page instead (:mod:`difftsr_ocr.pageparts`).
    """
    from difftsr_ocr.export import report_section
    from difftsr_ocr.multipage import save_pages

    paths = output_paths(source, len(results), output_dir, formats, stem)
    save_pages(((r.image, r.original) for r in results), paths["image"][0])
    if "preview" in formats:
        for result, path in zip(results, paths["preview"], strict=True):
            write_preview(result, path)
    sections = [report_section(item) for r in results for item in r.report_items] if "report" in formats else []
    pages = [r.page for r in results]
    write_documents(source, paths, formats, lambda: pages, lambda: sections, provenance)
    return [path for group in paths.values() for path in group]


def write_preview(result: PageResult, path: Path) -> None:
    """The before/after picture of one page."""
    from difftsr_ocr.export import before_after_preview
    from difftsr_ocr.imageio import page_from_array, save_like

    preview = before_after_preview(result.original.pixels, result.image, result.page)
    save_like(preview, page_from_array(preview), path)


def write_documents(
    source: Path,
    paths: Mapping[str, list[Path]],
    formats: tuple[str, ...],
    pages: Callable[[], Iterable[Page]],
    report_sections: Callable[[], Iterable[str]],
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """The results formats (JSON, hOCR, ALTO, text, report) of one input, each file written a page at a time.

    ``pages`` and ``report_sections`` give the input's pages' results and report cards
    afresh on each call: each file takes one pass, so a long document's pages can be read
    from disk one at a time instead of being held (:mod:`difftsr_ocr.pageparts`).
    """
    from difftsr_ocr import export

    metadata = results_metadata(source, provenance)
    # Made once, and only when hOCR or ALTO is asked for: it takes a pass over the pages.
    shape = functools.cache(lambda: export.outline(pages()))
    writers: dict[str, Callable[[], Iterator[str]]] = {
        "json": lambda: export.json_chunks(pages(), metadata),
        "hocr": lambda: export.hocr_chunks(pages(), shape()),
        "alto": lambda: export.alto_chunks(pages(), shape()),
        "txt": lambda: export.text_chunks(pages()),
        "report": lambda: export.report_chunks(report_sections(), sum(1 for _ in report_sections())),
    }
    for name in formats:
        if name != "preview":
            atomic_write_chunks(paths[name][0], writers[name]())
