"""Killing a batch job at random moments and resuming it: does it end exactly as an uninterrupted run?

A generated archive (single pages around a multi-page PDF) is run once without
interruption for reference, then again under ``kill -9`` at random moments, some
cycles, and finally to the end. :func:`kill_resume_trial` reports every output that is
missing, unreadable or different from the reference, every temporary file left behind,
every page part that an earlier run had finished and a later one wrote again, and every
resumed input whose record does not name exactly the pages that were waiting for it.
``benchmarks/kill_resume.py`` runs it at full size; the test suite runs a small one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image

from difftsr_ocr.evaluation.synthetic.pages import generate_page

__all__ = ["CycleRecord", "TrialReport", "kill_resume_trial", "make_archive"]

BOOK = "book.pdf"
SINGLES = ("a_first.png", "z_last.png")
_FORMATS = "[json, hocr, alto, txt, preview, report]"


def _job(folder: str, pdf_dpi: float, pages_per_batch: int) -> str:
    return (
        f"inputs: {{paths: [in], pdf_dpi: {pdf_dpi}}}\n"
        f"outputs: {{folder: {folder}, formats: {_FORMATS}}}\n"
        "pipeline: {device: cpu, restorer: {kind: classical}}\n"
        f"executor: {{kind: local, pages_per_batch: {pages_per_batch}}}\n"
        "report: false\n"
    )


def make_archive(
    folder: Path, pages: int, size: tuple[int, int] = (500, 700), seed: int = 0, pages_per_batch: int = 2
) -> None:
    """``folder/in``: two generated single pages and a ``pages``-page PDF; ``job.yaml`` and ``reference.yaml``."""
    (folder / "in").mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(generate_page(seed + number, "document", size=size).degraded) for number in range(pages)]
    # 100 dpi in, rendered at 100 dpi: the pages come back at the generated size.
    images[0].save(folder / "in" / BOOK, save_all=True, append_images=images[1:], resolution=100.0)
    for offset, name in enumerate(SINGLES):
        Image.fromarray(generate_page(seed + pages + offset, "document", size=size).degraded).save(folder / "in" / name)
    (folder / "job.yaml").write_text(_job("out", 100.0, pages_per_batch), encoding="utf-8")
    (folder / "reference.yaml").write_text(_job("reference", 100.0, pages_per_batch), encoding="utf-8")


@dataclasses.dataclass
class CycleRecord:
    """One run of the job: how long it ran, whether it was killed, and what it left."""

    seconds: float
    killed: bool
    # Pages of the PDF whose parts were waiting after this run.
    parts_after: list[int]
    # The PDF's record when this run finished it: the pages it took from earlier runs.
    book_reused: list[int] | None = None


@dataclasses.dataclass
class TrialReport:
    cycles: list[CycleRecord] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    unreadable: list[str] = dataclasses.field(default_factory=list)
    mismatched: list[str] = dataclasses.field(default_factory=list)
    leftovers: list[str] = dataclasses.field(default_factory=list)
    redone: list[str] = dataclasses.field(default_factory=list)
    misreported: list[str] = dataclasses.field(default_factory=list)
    reference_seconds: float = 0.0

    @property
    def clean(self) -> bool:
        problems = (self.missing, self.unreadable, self.mismatched, self.leftovers, self.redone, self.misreported)
        return not any(problems)


def _progress(out: Path) -> tuple[int, int]:
    """Something that changes whenever the job finishes a page part or an input."""
    manifest = out / "manifest.jsonl"
    # Skipped inputs are recorded at the start: only inputs done count.
    done = manifest.read_text(encoding="utf-8").count('"status": "ok"') if manifest.exists() else 0
    return len(list(out.glob(".*.parts/p*.json"))), done


def _run(folder: Path, job: str, out: Path, jitter: float | None, rng: random.Random) -> tuple[bool, float]:
    """Run the job to its end (``jitter`` None), or kill it with SIGKILL a random 0..jitter s after it first progresses.

    Returns whether it was killed and how long it ran.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "difftsr_ocr.batch", job],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    before = _progress(out)
    deadline: float | None = None
    while process.poll() is None:
        now = time.perf_counter()
        if jitter is not None and deadline is None and _progress(out) != before:
            deadline = now + rng.uniform(0.0, jitter)
        if deadline is not None and now >= deadline:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True, time.perf_counter() - started
        time.sleep(0.02)
    if process.returncode != 0:
        raise RuntimeError(f"the job in {folder} exited with {process.returncode}")
    return False, time.perf_counter() - started


def _parts(out: Path) -> dict[int, str]:
    """The PDF's finished page parts (page index -> the part's JSON text)."""
    found: dict[int, str] = {}
    for folder in out.glob(".*.parts"):
        for path in folder.glob("p*.json"):
            text = path.read_text(encoding="utf-8")
            json.loads(text)  # a part under its final name is always whole
            found[int(path.name[1:5]) - 1] = text
    return found


def _book_records(out: Path) -> list[dict]:
    path = out / "manifest.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in records if r["input"].endswith(BOOK) and r["status"] == "ok"]


def _check_readable(path: Path) -> None:
    if path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix in (".hocr", ".xml"):
        ElementTree.parse(path)
    elif path.suffix == ".pdf":
        import pypdfium2

        pypdfium2.PdfDocument(str(path)).close()
    elif path.suffix == ".png":
        with Image.open(path) as image:
            image.load()
    else:
        path.read_text(encoding="utf-8")


def _pdf_pages(path: Path) -> list[np.ndarray]:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        return [np.asarray(document[number].render(scale=1.0).to_pil()) for number in range(len(document))]
    finally:
        document.close()


def _same(ours: Path, theirs: Path) -> bool:
    if ours.suffix == ".pdf":
        # Pillow stamps each PDF with its creation time: compare what the pages show.
        first, second = _pdf_pages(ours), _pdf_pages(theirs)
        return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    return ours.read_bytes() == theirs.read_bytes()


def _compare(report: TrialReport, out: Path, reference: Path) -> None:
    expected = {path.name for path in reference.iterdir() if path.name != "manifest.jsonl"}
    present = {path.name for path in out.iterdir() if path.name != "manifest.jsonl"}
    report.leftovers = sorted(present - expected)
    for name in sorted(expected):
        if name not in present:
            report.missing.append(name)
            continue
        try:
            _check_readable(out / name)
        except Exception as error:
            report.unreadable.append(f"{name}: {error}")
            continue
        if not _same(out / name, reference / name):
            report.mismatched.append(name)


def kill_resume_trial(folder: Path, cycles: int, seed: int = 0, jitter: float = 3.0) -> TrialReport:
    """Run the reference, then ``cycles`` runs each killed at a random moment after it progressed, then one to the end."""
    report = TrialReport()
    out = folder / "out"
    _, report.reference_seconds = _run(folder, "reference.yaml", folder / "reference", None, random.Random(seed))
    rng = random.Random(seed)
    waiting: dict[int, str] = {}
    for cycle in range(cycles + 1):
        last = cycle == cycles
        finished_before = len(_book_records(out))
        killed, seconds = _run(folder, "job.yaml", out, None if last else jitter, rng)
        records = _book_records(out)
        now = _parts(out) if out.exists() else {}
        record = CycleRecord(seconds, killed, sorted(now))
        if len(records) > finished_before:
            record.book_reused = records[-1].get("pages_reused", [])
            if record.book_reused != sorted(waiting):
                report.misreported.append(
                    f"run {cycle + 1}: the PDF's record says pages {record.book_reused} were reused,"
                    f" {sorted(waiting)} were waiting"
                )
        elif not (now == {} and (out / "book.json").exists()):
            # Parts an earlier run finished must still be there, untouched (unless the PDF
            # was assembled and the kill came before its record).
            for index, text in waiting.items():
                if now.get(index) != text:
                    report.redone.append(f"run {cycle + 1}: page {index + 1} was written again or lost")
        report.cycles.append(record)
        waiting = now
    _compare(report, out, folder / "reference")
    for path in out.rglob("*"):
        if ".partial" in path.name or path.parent != out:
            report.leftovers.append(str(path.relative_to(out)))
    report.leftovers.extend(str(path.relative_to(out)) for path in out.glob(".*"))
    report.leftovers = sorted(set(report.leftovers))
    return report
