"""A job killed with SIGKILL resumes: finished inputs are skipped, no half-written file is trusted."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from tests.batch.conftest import manifest, page, run_batch, write_job


def _ok_count(folder: Path) -> int:
    path = folder / "out" / "manifest.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if '"status": "ok"' in line)


def test_kill_then_resume(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for number in range(6):
        Image.fromarray(page(f"Resume page {number}", size=(900, 500))).save(tmp_path / "in" / f"p{number}.png")
    write_job(tmp_path, executor="executor: {kind: local, pages_per_batch: 1}", extra="report: false\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "difftsr_ocr.batch", "job.yaml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _ok_count(tmp_path) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()
    process.wait()
    first = manifest(tmp_path)
    assert 1 <= len(first) < 6, "killed after the first input and before the last"

    out = tmp_path / "out"
    for path in out.iterdir():
        if path.name.endswith(".json") and ".partial" not in path.name:
            json.loads(path.read_text(encoding="utf-8"))  # a final name always holds a whole file
        elif path.name.endswith(".restored.png"):
            with Image.open(path) as image:
                image.load()

    result = run_batch("job.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    done_before = {r["input"] for r in first if r["status"] == "ok"}
    latest = {r["input"]: r for r in manifest(tmp_path)}
    assert len(latest) == 6
    assert all(latest[key]["status"] == "skipped" for key in done_before)
    assert all(r["status"] == "ok" for key, r in latest.items() if key not in done_before)
    assert f"{len(done_before)} skipped" in result.stdout
    assert all((out / f"p{n}.json").is_file() for n in range(6))
    assert not [p for p in out.iterdir() if ".partial" in p.name and not p.name.endswith(".partial")]


def test_missing_output_is_redone(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    Image.fromarray(page("Only page")).save(tmp_path / "in" / "only.png")
    write_job(tmp_path, extra="report: false\n")
    assert run_batch("job.yaml", cwd=tmp_path).returncode == 0
    (tmp_path / "out" / "only.json").write_text("{truncated", encoding="utf-8")
    result = run_batch("job.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "inputs: 1 done, 0 skipped" in result.stdout
    json.loads((tmp_path / "out" / "only.json").read_text(encoding="utf-8"))


def test_resume_redoes_what_another_pipeline_or_input_made(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("kept", "replaced"):
        Image.fromarray(page(f"Page {name}")).save(tmp_path / "in" / f"{name}.png")
    write_job(tmp_path, extra="report: false\n")
    assert run_batch("job.yaml", cwd=tmp_path).returncode == 0
    first = {Path(r["input"]).name: r for r in manifest(tmp_path)}
    assert all(r["pipeline"] and r["input_fingerprint"] for r in first.values())
    assert all(r["provenance"]["pipeline"] == r["pipeline"] for r in first.values())

    # Same pipeline, one input replaced at the same path: only that one is done again.
    Image.fromarray(page("Another text")).save(tmp_path / "in" / "replaced.png")
    result = run_batch("job.yaml", cwd=tmp_path)
    assert "inputs: 1 done, 1 skipped" in result.stdout, result.stdout
    assert "replaced.png: done again (the input file changed)" in result.stderr

    # Another pipeline config: everything is done again, and says why.
    job = tmp_path / "job.yaml"
    job.write_text(job.read_text(encoding="utf-8").replace("device: cpu,", "device: cpu, seed: 7,"), encoding="utf-8")
    result = run_batch("job.yaml", cwd=tmp_path)
    assert "inputs: 2 done, 0 skipped" in result.stdout, result.stdout
    assert result.stderr.count("the pipeline config, weights or version changed") == 2

    # Nothing changed: skipped; --force: done again.
    assert "inputs: 0 done, 2 skipped" in run_batch("job.yaml", cwd=tmp_path).stdout
    assert "inputs: 2 done, 0 skipped" in run_batch("job.yaml", "--force", cwd=tmp_path).stdout


def test_a_job_moved_with_its_archive_finds_its_records(tmp_path: Path) -> None:
    first_home = tmp_path / "first"
    (first_home / "in").mkdir(parents=True)
    Image.fromarray(page("Moving page")).save(first_home / "in" / "moving.png")
    write_job(first_home, extra="report: false\n")
    assert run_batch("job.yaml", cwd=first_home).returncode == 0
    assert [r["input"] for r in manifest(first_home)] == ["in/moving.png"], "keys are relative to the job file"
    second_home = tmp_path / "second"
    first_home.rename(second_home)
    assert "inputs: 0 done, 1 skipped" in run_batch("job.yaml", cwd=second_home).stdout
