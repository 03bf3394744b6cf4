"""The job's HTML report: one row per input, before/after thumbnails, counts and failures.

Built from the manifest and the files on disk, not from the run in memory, so it covers
every input of the job, including those done by earlier (resumed) runs. The page is self
contained: thumbnails are embedded as small PNGs.
"""

from __future__ import annotations

import base64
import logging
from html import escape
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from difftsr_ocr.batch.job import Job
from difftsr_ocr.batch.manifest import read_manifest
from difftsr_ocr.batch.plan import plan_job
from difftsr_ocr.outputs import atomic_write

__all__ = ["THUMBNAIL_WIDTH", "write_report"]

logger = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 220
_STYLE = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}th{background:#eee}"
    ".failed{background:#fdd}.num{text-align:right}img{border:1px solid #999}"
)


def _thumbnail(path: Path, pdf_dpi: float) -> str:
    """An <img> of the first page of ``path``, or a note why there is none."""
    from difftsr_ocr.multipage import iter_pages

    try:
        _, first = next(iter_pages(path, pdf_dpi=min(pdf_dpi, 50.0), wanted={0}))
        pixels = first.pixels
    except Exception as error:  # a thumbnail must never cost the report
        logger.warning("no thumbnail for %s: %s", path, error)
        return "<em>no image</em>"
    scale = THUMBNAIL_WIDTH / pixels.shape[1]
    small = cv2.resize(pixels, (THUMBNAIL_WIDTH, max(1, round(pixels.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(small[:, :, ::-1]))
    if not ok:
        return "<em>no image</em>"
    return f'<img alt="{escape(path.name)}" src="data:image/png;base64,{base64.b64encode(encoded).decode()}">'


def _row(record: dict[str, Any] | None, source: Path, pdf_dpi: float) -> str:
    name = escape(source.name)
    if record is None:
        return f"<tr><td>{name}</td><td colspan='8'>not run yet</td></tr>"
    if record["status"] == "failed":
        return f"<tr class='failed'><td>{name}</td><td colspan='8'>failed: {escape(record['error'])}</td></tr>"
    restored = Path(record["outputs"][0]) if record.get("outputs") else None
    after = _thumbnail(restored, pdf_dpi) if restored is not None else "<em>none</em>"
    cells = [record.get(key, 0) for key in ("pages", "lines", "restored", "kept", "flagged")]
    numbers = "".join(f"<td class='num'>{value}</td>" for value in cells)
    return (
        f"<tr><td>{name}<br><small>{escape(record['status'])}</small></td><td>{_thumbnail(source, pdf_dpi)}</td>"
        f"<td>{after}</td>{numbers}<td class='num'>{record.get('confidence', 0.0):.3f}</td></tr>"
    )


def write_report(job: Job, path: Path) -> Path:
    """Write the report of every input of ``job`` to ``path`` (atomically) and return it."""
    latest = read_manifest(job.manifest_path)
    items = plan_job(job)
    rows = [_row(latest.get(item.key), item.source, job.inputs.pdf_dpi) for item in items]
    failed = sum(1 for item in items if latest.get(item.key, {}).get("status") == "failed")
    head = (
        "<tr><th>input</th><th>before</th><th>after</th><th>pages</th><th>lines</th><th>restored</th>"
        "<th>kept</th><th>flagged</th><th>mean conf</th></tr>"
    )
    title = f"difftsr-ocr batch: {job.source.name}"
    html = (
        f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
        f"<p>{len(items)} input(s), {failed} failed. Manifest: {escape(str(job.manifest_path))}</p>\n"
        f"<table>\n{head}\n" + "\n".join(rows) + "\n</table>\n</body>\n</html>\n"
    )
    atomic_write(path, html)
    return path
