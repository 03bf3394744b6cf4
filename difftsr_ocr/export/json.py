"""The results file: a Document as JSON, tagged with a format name and version.

The envelope is ``{"format": "difftsr-ocr.document", "version": 2, "document": {...}}``
where ``document`` is :meth:`Document.to_dict`. The tag lets a later reader tell our
files from any other JSON and refuse versions it does not understand instead of
misreading them. Geometry stays float page pixels, so a round trip is exact.

Version 2 put each page's lines into blocks (``Page.blocks``). Version 1 files, whose
pages held their lines directly, are still read: each page's lines become one block.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from difftsr_ocr.export.base import ExportError
from difftsr_ocr.results import Document, Page

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "document_from_json", "document_to_json", "json_chunks"]

FORMAT_NAME = "difftsr-ocr.document"
# Bump when a reader of the previous version would misread the new layout; additions
# that old readers reject loudly (unknown keys) do not need a bump.
FORMAT_VERSION = 2
# Version 1 had no blocks; its pages are read as one block each.
_BLOCKLESS_VERSION = 1


def document_to_json(doc: Document) -> str:
    """``doc`` as a JSON results file (UTF-8 text, CJK kept readable rather than escaped).

    ``doc.metadata`` must hold JSON types (str, numbers, bools, None, lists, dicts with
    str keys) for the round trip to be exact. NaN and infinity are refused, because
    they are not JSON and other readers would reject the file.
    """
    return "".join(json_chunks(doc.pages, doc.metadata))


def json_chunks(pages: Iterable[Page], metadata: Mapping[str, Any]) -> Iterator[str]:
    """The results file in pieces, a page at a time; joined, :func:`document_to_json`'s text.

    The envelope is laid out by hand, key for key as :meth:`Document.to_dict` and
    ``json.dumps(..., indent=1)`` lay it out (the round-trip test fails if they part).
    """
    yield '{\n "format": ' + _nested(FORMAT_NAME, 1) + ',\n "version": ' + _nested(FORMAT_VERSION, 1)
    yield ',\n "document": {\n  "pages": ['
    separator = "\n   "
    for page in pages:
        yield separator + _nested(page.to_dict(), 3)
        separator = ",\n   "
    closing = "]" if separator == "\n   " else "\n  ]"
    yield closing + ',\n  "metadata": ' + _nested(dict(metadata), 2) + "\n }\n}\n"


def _nested(value: Any, depth: int) -> str:
    """``value`` as JSON laid out to sit ``depth`` levels deep in an ``indent=1`` file."""
    # Newlines inside strings are escaped, so every newline json.dumps writes is layout.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=1).replace("\n", "\n" + " " * depth)


def document_from_json(text: str | bytes) -> Document:
    """Read a results file written by :func:`document_to_json`; raise :class:`ExportError` if it is not one."""
    try:
        data: Any = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportError(f"results file is not valid JSON: {_one_line(error)}") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ExportError(f'not a difftsr-ocr results file (expected "format": "{FORMAT_NAME}")')
    version = data.get("version")
    if version not in (_BLOCKLESS_VERSION, FORMAT_VERSION) or isinstance(version, bool):
        raise ExportError(
            f"results file version {version!r} is not supported; this difftsr-ocr reads versions "
            f"{_BLOCKLESS_VERSION} and {FORMAT_VERSION}"
        )
    unknown = sorted(set(data) - {"format", "version", "document"})
    if unknown:
        raise ExportError(f"malformed results file: unknown top-level key(s) {', '.join(unknown)}")
    body = data.get("document")
    if not isinstance(body, dict):
        raise ExportError('malformed results file: "document" must be an object')
    if version == _BLOCKLESS_VERSION:
        body = _with_blocks(body)
    try:
        return Document.from_dict(body)
    except KeyError as error:
        raise ExportError(f"malformed results file: missing key {error}") from error
    except (ValueError, TypeError, AttributeError) as error:
        raise ExportError(f"malformed results file: {_one_line(error)}") from error


def _with_blocks(body: dict[str, Any]) -> dict[str, Any]:
    """A version 1 document with each page's ``lines`` moved into one block (anything malformed is left for the reader)."""
    pages = body.get("pages")
    if not isinstance(pages, list):
        return body
    upgraded = []
    for page in pages:
        if isinstance(page, dict) and isinstance(page.get("lines", []), list):
            lines = page.get("lines", [])
            rest = {key: value for key, value in page.items() if key != "lines"}
            upgraded.append({**rest, "blocks": [{"lines": lines}] if lines else []})
        else:
            upgraded.append(page)
    return {**body, "pages": upgraded}


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
