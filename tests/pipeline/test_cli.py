"""The command line, run as users run it: a subprocess on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from PIL import Image

from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from tests.layouts import MILD_SCAN


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "difftsr_ocr.run", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _page(text: str) -> np.ndarray:
    page, _ = render_lines([LineSpec(text, 30, 30, size=30), LineSpec("Second line 42", 30, 100)], size=(520, 180))
    return apply_degradation(page, MILD_SCAN, seed=0)


def test_sample_run_writes_every_format(tmp_path: Path) -> None:
    result = _run(
        "--sample", "--device", "cpu", "-o", "out", "--formats", "json,hocr,alto,txt,preview,report", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "looked in $DIFFTSR_CKPT" in result.stderr, "the classical fallback is announced"
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert names >= {
        "degraded_page.restored.png",
        "degraded_page.json",
        "degraded_page.hocr",
        "degraded_page.alto.xml",
        "degraded_page.txt",
        "degraded_page.preview.png",
        "degraded_page.report.html",
    }
    assert not any(name.endswith(".partial") for name in names)
    document = json.loads((out / "degraded_page.json").read_text(encoding="utf-8"))["document"]
    assert "Invoice number 2024-117" in [
        line["text"] for block in document["pages"][0]["blocks"] for line in block["lines"]
    ]
    provenance = document["metadata"]["provenance"]
    assert (provenance["restorer"], provenance["device"], provenance["seed"]) == ("classical", "cpu", 0)
    assert len(provenance["pipeline"]) == 16 and provenance["software"].startswith("difftsr-ocr ")
    with Image.open(out / "degraded_page.restored.png") as restored:
        assert restored.mode == "L", "the restored page keeps the input's mode"
    assert "degraded_page.png" in result.stdout and " ok" in result.stdout


def test_one_bad_input_fails_alone(tmp_path: Path) -> None:
    Image.fromarray(_page("Good page 1")).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = _run(
        "good.png", "broken.png", "missing.jpg", "--restorer", "classical", "--device", "cpu", "-o", "out", cwd=tmp_path
    )
    assert result.returncode != 0
    assert (tmp_path / "out" / "good.restored.png").exists() and (tmp_path / "out" / "good.json").exists()
    assert "2 of 3 input(s) failed" in result.stderr
    assert "broken.png: " in result.stderr and "missing.jpg: " in result.stderr
    assert "Traceback" not in result.stderr


def test_multipage_tiff_and_pdf(tmp_path: Path) -> None:
    pages = [Image.fromarray(_page("Page one text")), Image.fromarray(_page("Page two text"))]
    pages[0].save(tmp_path / "scan.tif", save_all=True, append_images=pages[1:])
    pages[0].save(tmp_path / "print.pdf", save_all=True, append_images=pages[1:], resolution=100)
    result = _run(
        "scan.tif",
        "print.pdf",
        "--restorer",
        "classical",
        "--device",
        "cpu",
        "-o",
        "out",
        "--pdf-dpi",
        "100",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "out" / "scan.restored.tif") as tiff:
        assert tiff.n_frames == 2
    pdf = pypdfium2.PdfDocument(str(tmp_path / "out" / "print.restored.pdf"))
    assert len(pdf) == 2
    pdf.close()
    for stem in ("scan", "print"):
        document = json.loads((tmp_path / "out" / f"{stem}.json").read_text(encoding="utf-8"))["document"]
        texts = [line["text"] for page in document["pages"] for block in page["blocks"] for line in block["lines"]]
        assert "Page two text" in texts, stem


def test_inputs_whose_outputs_would_collide_are_refused_before_any_work(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(_page("Same name")).save(tmp_path / folder / "scan.png")
    result = _run("a/scan.png", "b/scan.png", "--restorer", "classical", "--device", "cpu", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "a/scan.png and b/scan.png would both write" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_odd_inputs_each_get_their_own_outputs_or_one_line(tmp_path: Path) -> None:
    pages = [Image.fromarray(_page("First frame")), Image.fromarray(_page("Second frame"))]
    # A multi-page TIFF under a JPEG name, a line break in a name, a name near the 255-byte
    # limit, a pipe, a name that is not UTF-8.
    pages[0].save(tmp_path / "camera.jpg", format="TIFF", save_all=True, append_images=pages[1:])
    pages[0].save(tmp_path / "line\nbreak.png")
    long_name = "x" * 240 + ".png"
    pages[0].save(tmp_path / long_name)
    os.mkfifo(tmp_path / "pipe.png")
    undecodable = os.fsdecode(b"scan\xff.png")
    pages[1].save(tmp_path / undecodable)
    result = _run(
        "camera.jpg",
        "line\nbreak.png",
        long_name,
        "pipe.png",
        undecodable,
        "--restorer",
        "classical",
        "--device",
        "cpu",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 5, result.stderr
    assert "1 of 5 input(s) failed" in result.stderr and "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    out = tmp_path / "out"
    with Image.open(out / "camera.restored.tiff") as restored:
        assert restored.n_frames == 2
    assert (out / "line_break.json").exists()
    document = json.loads((out / "scan_.json").read_text(encoding="utf-8"))["document"]
    assert document["pages"][0]["source"].endswith("scan\\xff.png"), "the odd byte is shown, escaped"
    long_outputs = [path.name for path in out.iterdir() if path.name.startswith("x" * 100)]
    assert len(long_outputs) == 2 and all(len(name.encode()) <= 255 for name in long_outputs)
    assert not [path for path in out.iterdir() if ".partial" in path.name]


def test_usage_errors(tmp_path: Path) -> None:
    assert _run("--version", cwd=tmp_path).stdout.startswith("difftsr-ocr ")
    help_text = _run("--help", cwd=tmp_path).stdout
    assert all(
        option in help_text
        for option in ("--ckpt", "--sampler", "--steps", "--precision", "--gate", "--formats", "--pdf-dpi")
    )
    nothing = _run(cwd=tmp_path)
    assert nothing.returncode != 0 and "no input" in nothing.stderr
    bad_format = _run("--sample", "--formats", "json,docx", cwd=tmp_path)
    assert bad_format.returncode != 0 and bad_format.stderr.strip().splitlines()[-1].startswith(
        "error: unknown output format"
    )
    bad_config = tmp_path / "c.yaml"
    bad_config.write_text("restorer: {stepz: 3}\n", encoding="utf-8")
    config_run = _run("--sample", "--config", str(bad_config), cwd=tmp_path)
    assert config_run.returncode == 3 and "restorer.stepz" in config_run.stderr


def test_scale_writes_a_larger_page_and_every_export_lines_up_with_it(tmp_path: Path) -> None:
    Image.fromarray(_page("Scaled page 2024")).save(tmp_path / "scan.png", dpi=(150, 150))
    result = _run(
        "scan.png", "--device", "cpu", "--restorer", "classical", "--gate", "always", "--scale", "3",
        "-o", "out", "--formats", "json,hocr,alto,preview", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    with Image.open(out / "scan.restored.png") as restored:
        assert restored.size == (3 * 520, 3 * 180)
        assert restored.info["dpi"] == pytest.approx((450, 450), abs=0.5), "same physical size"
    page = json.loads((out / "scan.json").read_text(encoding="utf-8"))["document"]["pages"][0]
    assert (page["width"], page["height"]) == (1560, 540)
    polygons = np.array([line["polygon"] for block in page["blocks"] for line in block["lines"]])
    x0, y0 = polygons[0].min(axis=0)
    x1, y1 = polygons[0].max(axis=0)
    # The first line is drawn at (30, 30), 30 px high, on the unscaled page.
    assert x0 < 3 * 35 < 3 * 60 < x1 and y0 < 3 * 40 < y1 and y1 - y0 > 3 * 20, "line boxes on the scaled page"
    hocr = (out / "scan.hocr").read_text(encoding="utf-8")
    assert "bbox 0 0 1560 540" in hocr
    alto = (out / "scan.alto.xml").read_text(encoding="utf-8")
    assert 'WIDTH="1560"' in alto and 'HEIGHT="540"' in alto
    with Image.open(out / "scan.preview.png") as preview:
        assert preview.size[0] > 2 * 1560 * 0.6, "the preview shows both pages at the scaled size"
