"""``python -m difftsr_ocr.batch`` as users run it: a subprocess over a folder of real files."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.batch.conftest import manifest, run_batch, write_job


def test_job_writes_outputs_manifest_and_report(archive: Path) -> None:
    write_job(archive)
    result = run_batch("job.yaml", cwd=archive)
    assert result.returncode == 1, "the corrupt input fails the run"
    assert "Traceback" not in result.stderr
    assert "broken.png" in result.stderr and "1 input(s) failed" in result.stderr
    assert "inputs: 3 done, 0 skipped, 1 failed; pages 4" in result.stdout
    assert "pages/minute" in result.stdout
    out = archive / "out"
    assert (out / "sub" / "beta.json").is_file(), "the mirror layout keeps sub-folders"
    with Image.open(out / "scan.restored.tif") as tiff:
        assert tiff.n_frames == 2
    texts = [
        line["text"]
        for p in json.loads((out / "scan.json").read_text())["document"]["pages"]
        for block in p["blocks"]
        for line in block["lines"]
    ]
    assert "Tiff two" in texts
    records = {Path(r["input"]).name: r for r in manifest(archive)}
    assert records["broken.png"]["status"] == "failed" and "broken.png" in records["broken.png"]["error"]
    assert records["scan.tif"]["status"] == "ok" and records["scan.tif"]["pages"] == 2
    assert all(Path(path).is_file() for path in records["alpha.png"]["outputs"])
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64") == 6, "before and after thumbnails of the three good inputs"
    assert "failed: " in report
    assert not list(out.rglob("*.partial*"))


def test_dry_run_lists_and_writes_nothing(archive: Path) -> None:
    write_job(archive)
    result = run_batch("job.yaml", "--dry-run", cwd=archive)
    assert result.returncode == 0, result.stderr
    assert "4 input(s), 4 to do, 0 already done" in result.stdout
    assert "beta.png" in result.stdout and "scan.tif" in result.stdout
    assert not (archive / "out").exists()


def test_validation_errors_are_one_line(archive: Path) -> None:
    cases = {
        "executor: {kind: local, pages_per_batchh: 2}": "executor.pages_per_batchh",
        "executor: {kind: local, workers: two}": "executor.workers",
        "executor: {kind: local}\npipeline: {restorer: {kind: classical, stepz: 3}}": "restorer.stepz",
    }
    for executor, key in cases.items():
        job = write_job(archive, executor=executor)
        if "pipeline:" in executor:
            job.write_text(job.read_text().replace("pipeline: {device: cpu, restorer: {kind: classical}}\n", ""))
        result = run_batch("job.yaml", cwd=archive)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 3 and len(lines) == 1, result.stderr
        assert key in lines[0] and "job.yaml" in lines[0]
    write_job(archive).write_text(write_job(archive).read_text().replace("paths: [in]", "paths: [missing]"))
    result = run_batch("job.yaml", cwd=archive)
    assert result.returncode == 3 and "inputs.paths[0] 'missing' does not exist" in result.stderr
    assert "job.yaml" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (archive / "out").exists(), "validation happens before any work"
