"""Multi-page inputs page by page: the same outputs however pages are pooled, and resumed at the first unfinished page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.pageparts import work_folder
from difftsr_ocr.pipeline import Pipeline, PreparedPage, build_pipeline
from difftsr_ocr.streaming import InputTask, StreamSettings, process_inputs
from tests.layouts import MILD_SCAN

FORMATS = ("json", "hocr", "alto", "txt", "preview", "report")
TEXT_OUTPUTS = ("json", "hocr", "alto.xml", "txt", "report.html")


def _page(text: str) -> np.ndarray:
    page, _ = render_lines([LineSpec(text, 30, 30, size=30), LineSpec("Second line 42", 30, 100)], size=(520, 180))
    return apply_degradation(page, MILD_SCAN, seed=0)


def _tiff(path: Path, pages: int) -> Path:
    frames = [Image.fromarray(_page(f"Page {number} of the scan")) for number in range(1, pages + 1)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_lzw", dpi=(150, 150))
    return path


def _outputs(folder: Path, stem: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name.startswith(stem)}


def test_pooling_fewer_or_more_pages_writes_the_same_outputs(tmp_path: Path) -> None:
    _tiff(tmp_path / "scan.tif", 3)
    frames = [Image.fromarray(_page(f"Printed page {number}")) for number in (1, 2)]
    frames[0].save(tmp_path / "print.pdf", save_all=True, append_images=frames[1:], resolution=100)
    runs = {}
    for pages_per_batch in ("1", "3"):
        out = tmp_path / f"out{pages_per_batch}"
        result = subprocess.run(
            [sys.executable, "-m", "difftsr_ocr.run", "scan.tif", "print.pdf", "--restorer", "classical",
             "--device", "cpu", "--pdf-dpi", "100", "--formats", ",".join(FORMATS), "-o", out.name,
             "--pages-per-batch", pages_per_batch],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert not [path.name for path in out.iterdir() if path.name.startswith(".") or ".partial" in path.name]
        runs[pages_per_batch] = _outputs(out, "scan"), _outputs(out, "print")
    (scan_one, print_one), (scan_three, print_three) = runs["1"], runs["3"]
    assert scan_one == scan_three, "every file of the TIFF, its restored pages included, byte for byte"
    assert sorted(scan_one) == sorted(
        ["scan.restored.tif", "scan.p1.preview.png", "scan.p2.preview.png", "scan.p3.preview.png"]
        + [f"scan.{suffix}" for suffix in TEXT_OUTPUTS]
    )
    # Pillow stamps a PDF with the time it was made; everything else is the same.
    assert {k: v for k, v in print_one.items() if k != "print.restored.pdf"} == {
        k: v for k, v in print_three.items() if k != "print.restored.pdf"
    }
    with Image.open(tmp_path / "out1" / "scan.restored.tif") as restored:
        assert restored.n_frames == 3 and restored.info["compression"] == "tiff_lzw"
        assert restored.info["dpi"] == pytest.approx((150, 150), abs=0.5)


class _Crash(RuntimeError):
    pass


def _crashing_at(pipeline: Pipeline, index: int) -> Pipeline:
    """``pipeline``, whose finishing of page ``index`` fails (as a crash or a lost GPU would)."""
    finish = pipeline.finish

    def failing(prepared: PreparedPage) -> object:
        if prepared.index == index:
            raise _Crash(f"page {index + 1}")
        return finish(prepared)

    pipeline.finish = failing  # type: ignore[method-assign]
    return pipeline


def _run(pipeline: Pipeline, source: Path, out: Path, reuse: bool = True) -> object:
    settings = StreamSettings(FORMATS, pages_per_batch=1, reuse_pages=reuse)
    (outcome,) = process_inputs(pipeline, [InputTask(source, out, source.stem)], settings)
    return outcome


def test_a_multi_page_input_resumes_at_its_first_unfinished_page(tmp_path: Path) -> None:
    source = _tiff(tmp_path / "scan.tif", 5)
    config = config_from_dict({"device": "cpu", "restorer": {"kind": "classical"}})
    reference = _run(build_pipeline(config), source, tmp_path / "reference")
    assert reference.error is None and reference.reused == []

    out = tmp_path / "out"
    crashed = _run(_crashing_at(build_pipeline(config), 3), source, out)
    assert isinstance(crashed.error, _Crash)
    parts = work_folder(out, "scan")
    assert sorted(path.name for path in parts.glob("*.json")) == ["p0001.json", "p0002.json", "p0003.json"]
    assert not [path for path in out.iterdir() if path.name.startswith("scan")], "nothing final before the end"
    finished = {path.name: path.stat().st_mtime_ns for path in parts.iterdir()}

    redone_pages: list[int] = []
    pipeline = build_pipeline(config)
    prepare = pipeline.prepare

    def counted(image: object, index: int = 0) -> PreparedPage:
        redone_pages.append(index)
        return prepare(image, index)

    pipeline.prepare = counted  # type: ignore[method-assign]
    resumed = _run(pipeline, source, out)
    assert resumed.error is None and resumed.reused == [0, 1, 2] and redone_pages == [3, 4]
    assert _outputs(out, "scan") == _outputs(tmp_path / "reference", "scan"), "as if never interrupted"
    assert not parts.exists() and finished, "the parts go once the outputs are written"


def test_parts_of_another_pipeline_or_a_forced_run_are_redone(tmp_path: Path) -> None:
    source = _tiff(tmp_path / "scan.tif", 3)
    config = config_from_dict({"device": "cpu", "restorer": {"kind": "classical"}})
    out = tmp_path / "out"
    assert isinstance(_run(_crashing_at(build_pipeline(config), 2), source, out).error, _Crash)
    other = config_from_dict({"device": "cpu", "seed": 7, "restorer": {"kind": "classical"}})
    second = _run(_crashing_at(build_pipeline(other), 2), source, out)
    assert isinstance(second.error, _Crash) and second.reused == []
    forced = _run(build_pipeline(other), source, out, reuse=False)
    assert forced.error is None and forced.reused == []
    assert not work_folder(out, "scan").exists()
    # A cut-short part (a kill between its image and its JSON) is not trusted either.
    assert isinstance(_run(_crashing_at(build_pipeline(config), 2), source, out).error, _Crash)
    (work_folder(out, "scan") / "p0002.json").write_text('{"fingerprint": ', encoding="utf-8")
    assert _run(build_pipeline(config), source, out).reused == [0]


def test_the_command_line_says_when_it_resumed_and_force_redoes_every_page(tmp_path: Path) -> None:
    source = _tiff(tmp_path / "scan.tif", 3)
    config = config_from_dict({"device": "cpu", "restorer": {"kind": "classical"}})
    command = [sys.executable, "-m", "difftsr_ocr.run", "scan.tif", "--restorer", "classical", "--device", "cpu",
               "--formats", ",".join(FORMATS), "-o", "out"]  # fmt: skip
    for extra, expected in (([], "(2 page(s) from an interrupted run)"), (["--force"], " ok")):
        assert isinstance(_run(_crashing_at(build_pipeline(config), 2), source, tmp_path / "out").error, _Crash)
        result = subprocess.run(command + extra, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        row = next(line for line in result.stdout.splitlines() if line.startswith("scan.tif"))
        assert row.endswith(expected) and ("interrupted" in row) == (not extra), row
        assert not work_folder(tmp_path / "out", "scan").exists()
    bad = subprocess.run(
        [*command, "--pages-per-batch", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert bad.returncode == 2 and "--pages-per-batch: must be a positive whole number" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_pages_are_prepared_ahead_only_while_the_restorer_works_on_another_device() -> None:
    from difftsr_ocr.streaming import _restores_off_the_cpu

    pipeline = build_pipeline(config_from_dict({"device": "cpu", "restorer": {"kind": "classical"}}))
    assert not _restores_off_the_cpu(pipeline), "on the CPU both stages share the cores"
    pipeline.restorer = type("OnGpu", (), {"device": "cuda:0", "name": "gpu"})()
    assert _restores_off_the_cpu(pipeline)
    pipeline.restorer = None
    assert not _restores_off_the_cpu(pipeline)


def test_pages_prepared_ahead_in_a_helper_thread_give_the_same_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import difftsr_ocr.streaming

    source = _tiff(tmp_path / "scan.tif", 3)
    pipeline = build_pipeline(config_from_dict({"device": "cpu", "restorer": {"kind": "classical"}}))
    in_line = _run(pipeline, source, tmp_path / "in_line")
    monkeypatch.setattr(difftsr_ocr.streaming, "_restores_off_the_cpu", lambda pipeline: True)
    ahead = _run(pipeline, source, tmp_path / "ahead")
    assert in_line.error is None and ahead.error is None
    assert _outputs(tmp_path / "in_line", "scan") == _outputs(tmp_path / "ahead", "scan")
