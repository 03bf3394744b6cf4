"""Document formats written a page at a time: byte for byte what the whole-document exporters write.

``golden/`` holds what the exporters wrote before they were built on page-level pieces
(the software version replaced by ``<version>``), for the multi-page document of
``test_export`` and two variants: every page from one source under one page index (hOCR
drops ``ppageno``, ALTO names the file), and pages without lines (no ALTO ``Tags``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from difftsr_ocr.export import document_to_alto, document_to_hocr, document_to_json, document_to_text, json_chunks
from difftsr_ocr.export.report import report_from_sections
from difftsr_ocr.outputs import output_paths, results_metadata, write_documents
from difftsr_ocr.results import Document, Page
from difftsr_ocr.version import software_version
from tests.unit.test_export import _document

GOLDEN = Path(__file__).parent / "golden"
EXPORTERS: dict[str, Callable[[Document], str]] = {
    ".json": document_to_json,
    ".hocr": document_to_hocr,
    ".alto.xml": document_to_alto,
    ".txt": document_to_text,
}


def _documents() -> dict[str, Document]:
    three = _document()
    return {
        "three_pages": three,
        "one_source": Document(pages=[dataclasses.replace(p, source="book.pdf", index=0) for p in three.pages]),
        "no_lines": Document(
            pages=[Page(width=100, height=50, index=0), Page(width=120, height=60, index=1)],
            metadata={"empty": {}, "list": [1, 2.5, None, "x"]},
        ),
    }


def _golden(name: str, suffix: str) -> str:
    return (GOLDEN / f"{name}{suffix}").read_text(encoding="utf-8").replace("<version>", software_version())


@pytest.mark.parametrize("suffix", list(EXPORTERS))
@pytest.mark.parametrize("name", ["three_pages", "one_source", "no_lines"])
def test_exporters_write_what_they_wrote_before_pages_were_written_one_at_a_time(name: str, suffix: str) -> None:
    assert EXPORTERS[suffix](_documents()[name]) == _golden(name, suffix)


@pytest.mark.parametrize(
    "doc",
    [Document(), Document(metadata={"nested": {"a": [1, {"b": "line\nbreak"}]}}), _document()],
    ids=["no pages", "nested metadata", "three pages"],
)
def test_json_pieces_are_laid_out_as_json_dumps_lays_out_the_whole(doc: Document) -> None:
    envelope = {"format": "difftsr-ocr.document", "version": 2, "document": doc.to_dict()}
    whole = json.dumps(envelope, ensure_ascii=False, allow_nan=False, indent=1) + "\n"
    assert "".join(json_chunks(doc.pages, doc.metadata)) == whole


def test_files_written_page_by_page_are_the_whole_document_exporters_text(tmp_path: Path) -> None:
    doc = _document()
    served: list[int] = []

    def pages() -> Iterator[Page]:
        # As the parts of a long document: each page read afresh when a writer reaches it.
        for page in doc.pages:
            served.append(page.index)
            yield Page.from_dict(page.to_dict())

    sections = ["<section>first</section>", "<section>second</section>"]
    formats = ("json", "hocr", "alto", "txt", "report")
    paths = output_paths(Path("scan.tif"), len(doc.pages), tmp_path, formats)
    write_documents(Path("scan.tif"), paths, formats, pages, lambda: iter(sections), {"run": 1})

    whole = Document(pages=doc.pages, metadata=results_metadata("scan.tif", {"run": 1}))
    written = {name: paths[name][0].read_bytes().decode("utf-8") for name in formats}
    assert written["json"] == document_to_json(whole)
    assert written["hocr"] == document_to_hocr(whole) == _golden("three_pages", ".hocr")
    assert written["alto"] == document_to_alto(whole) == _golden("three_pages", ".alto.xml")
    assert written["txt"] == document_to_text(whole) == _golden("three_pages", ".txt")
    assert written["report"] == report_from_sections(sections)
    # One pass for the outline of the hOCR and ALTO headers, then one per file.
    assert served == [0, 1, 2] * 5
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(paths[name][0].name for name in formats)
