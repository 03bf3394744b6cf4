"""The hidden work folder of a multi-page input: each finished page, until the whole input is written.

A PDF or multi-page TIFF is processed a few pages at a time. Each finished page goes into
``.<stem>.parts/`` beside the outputs at once (its restored image, its results, its
preview and report entries), every file through :func:`difftsr_ocr.atomic.replacing` and
the page's JSON last, so a page counts only when all of it is on disk. After the last
page, the input's outputs are assembled from the parts, one page in memory at a time,
each file atomically, and the folder is removed.

A run killed on page 499 resumes at the first page without a valid part: a part counts
only when it was made from the same input file by the same pipeline, with the same PDF
resolution and formats (:func:`parts_fingerprint`); any other is deleted and redone.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from difftsr_ocr.atomic import move_into_place, replacing
from difftsr_ocr.outputs import atomic_write, output_paths, output_stem, write_documents, write_preview
from difftsr_ocr.provenance import input_fingerprint, pipeline_fingerprint
from difftsr_ocr.results import Page

if TYPE_CHECKING:
    from difftsr_ocr.config import PipelineConfig
    from difftsr_ocr.pipeline import PageResult

__all__ = ["PageParts", "parts_fingerprint", "work_folder"]

logger = logging.getLogger(__name__)

# Bump when a part written by an older version would be misread.
_PARTS_VERSION = 2  # 2: pages hold blocks of lines


def work_folder(output_dir: Path, stem: str) -> Path:
    """The hidden folder beside an input's outputs where its finished pages wait."""
    return output_dir / f".{output_stem(stem)}.parts"


def parts_fingerprint(
    config: PipelineConfig, source: Path, pages: int, pdf_dpi: float, formats: tuple[str, ...]
) -> str:
    """What a page part must have been made with to be reused: pipeline, input file, page count and output settings."""
    described = {
        "pipeline": pipeline_fingerprint(config),
        "input": input_fingerprint(source),
        "pages": pages,
        "pdf_dpi": pdf_dpi,
        "formats": sorted(formats),
        "version": _PARTS_VERSION,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def _write_png(path: Path, pixels: np.ndarray) -> None:
    with replacing(path) as partial:
        # Fast rather than small: a part lives only until its document is assembled.
        Image.fromarray(np.ascontiguousarray(pixels)).save(partial, format="PNG", compress_level=1)


class PageParts:
    """The parts of one input; :meth:`open` it, :meth:`add` pages as they finish, then :meth:`assemble`."""

    def __init__(self, folder: Path, fingerprint: str, pages: int, formats: tuple[str, ...]) -> None:
        self.folder, self.fingerprint, self.pages, self.formats = folder, fingerprint, pages, formats
        # The pages with a valid part; their records stay on disk (a long document's would fill memory).
        self.finished: set[int] = set()

    @classmethod
    def open(
        cls, folder: Path, fingerprint: str, pages: int, formats: tuple[str, ...], reuse: bool = True
    ) -> PageParts:
        """The parts in ``folder`` that can be reused (none when ``reuse`` is false); any other file there goes."""
        parts = cls(folder, fingerprint, pages, formats)
        if not reuse:
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        kept: set[Path] = set()
        for index in range(pages):
            record = parts._valid_record(index)
            if record is not None:
                parts.finished.add(index)
                kept.update(parts._files(index, record))
        for path in folder.iterdir():
            if path not in kept:
                # Parts of another pipeline or input version, and writes a kill cut short.
                path.unlink(missing_ok=True)
        return parts

    def _name(self, index: int, kind: str) -> Path:
        return self.folder / f"p{index + 1:04d}.{kind}"

    def _files(self, index: int, record: Mapping[str, Any]) -> list[Path]:
        files = [self._name(index, "json"), self._name(index, "png")]
        if record.get("alpha"):
            files.append(self._name(index, "alpha.png"))
        if "preview" in self.formats:
            files.append(self._name(index, "preview.png"))
        return files

    def _valid_record(self, index: int) -> dict[str, Any] | None:
        try:
            record = json.loads(self._name(index, "json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(record, dict) or record.get("fingerprint") != self.fingerprint:
            return None
        if not all(path.is_file() for path in self._files(index, record)):
            return None
        return record

    @property
    def todo(self) -> list[int]:
        """The page indices without a valid part, in order."""
        return [index for index in range(self.pages) if index not in self.finished]

    def add(self, result: PageResult, index: int) -> None:
        """Write one finished page; its JSON goes last, so a page counts only once all of it is on disk."""
        from difftsr_ocr.export import report_section
        from difftsr_ocr.imageio import page_header

        _write_png(self._name(index, "png"), result.image)
        if result.original.alpha is not None:
            _write_png(self._name(index, "alpha.png"), result.original.alpha)
        if "preview" in self.formats:
            write_preview(result, self._name(index, "preview.png"))
        record = {
            "fingerprint": self.fingerprint,
            "page": result.page.to_dict(),
            "header": page_header(result.original, result.image),
            "alpha": result.original.alpha is not None,
            "report": [report_section(item) for item in result.report_items] if "report" in self.formats else [],
            "timings": result.timings,
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write(self._name(index, "json"), json.dumps(record, ensure_ascii=False, allow_nan=False))
        self.finished.add(index)

    def _record(self, index: int) -> dict[str, Any]:
        return json.loads(self._name(index, "json").read_text(encoding="utf-8"))

    def results(self) -> list[Page]:
        """Every page's results, in order (all pages must have parts)."""
        return list(self._pages())

    def _pages(self) -> Iterator[Page]:
        for index in range(self.pages):
            yield Page.from_dict(self._record(index)["page"])

    def _sections(self) -> Iterator[str]:
        for index in range(self.pages):
            yield from self._record(index)["report"]

    def _frames(self) -> Iterator[tuple[np.ndarray, Any]]:
        from difftsr_ocr.imageio import page_from_header

        for index in range(self.pages):
            record = self._record(index)
            alpha = _read_png(self._name(index, "alpha.png")) if record["alpha"] else None
            pixels = _read_png(self._name(index, "png"))
            yield pixels, page_from_header(record["header"], pixels, alpha)

    def assemble(
        self, source: Path, output_dir: Path, stem: str | None, provenance: Mapping[str, Any] | None
    ) -> tuple[list[Path], list[Page]]:
        """Write the input's outputs from the parts, each file atomically; returns their paths and every page's results."""
        from difftsr_ocr.multipage import save_pages

        missing = self.todo
        if missing:
            raise ValueError(f"{source}: pages {missing} have no part to assemble")
        paths = output_paths(source, self.pages, output_dir, self.formats, stem)
        save_pages(self._frames(), paths["image"][0])
        # Each file is written a page at a time, every pass reading the parts again.
        write_documents(source, paths, self.formats, self._pages, self._sections, provenance)
        pages = self.results()
        # Last: a kill before this leaves every part whole for the next run.
        for index, path in enumerate(paths.get("preview", [])):
            move_into_place(self._name(index, "preview.png"), path)
        return [path for group in paths.values() for path in group], pages

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
