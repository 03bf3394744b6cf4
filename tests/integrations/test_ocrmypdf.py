"""The OCRmyPDF plug-in, through the real ``ocrmypdf`` command on a PDF of a degraded rendered page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from PIL import Image

from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.integrations._ocrmypdf_engine import page_element
from difftsr_ocr.results import Block, Line, Page
from tests.layouts import MILD_SCAN

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["Invoice number 2024-117", "Total amount due 1,480.00 EUR"]
# The installed package registers the plug-in through the "ocrmypdf" entry point, so no
# --plugin is passed (OCRmyPDF refuses to register the same module twice).
PLUGIN = ["--difftsr-restorer", "classical", "--difftsr-device", "cpu"]


@pytest.fixture(scope="module")
def scanned_pdf(tmp_path_factory) -> Path:
    image, _ = render_lines([LineSpec(text, 60, 60 + 90 * i, size=32) for i, text in enumerate(TEXTS)], (800, 260))
    path = tmp_path_factory.mktemp("ocrmypdf") / "in.pdf"
    Image.fromarray(apply_degradation(image, MILD_SCAN, seed=0)).save(path, resolution=150.0)
    return path


def _ocrmypdf(*args: str | Path, cwd: Path, options: list[str] = PLUGIN) -> subprocess.CompletedProcess[str]:
    if shutil.which("tesseract") is None:
        pytest.fail(
            "OCRmyPDF checks for tesseract even with other engines: apt-get install tesseract-ocr tesseract-ocr-eng"
        )
    command = [sys.executable, "-m", "ocrmypdf", "-j", "1", "--output-type", "pdf", "--optimize", "0", *options]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=environment, timeout=60, check=False
    )


def _text_and_size(path: Path) -> tuple[str, tuple[float, float]]:
    document = pypdfium2.PdfDocument(str(path))
    try:
        page = document[0]
        return page.get_textpage().get_text_range(), page.get_size()
    finally:
        document.close()


def _squeezed(text: str) -> str:
    return "".join(text.split())


def test_difftsr_engine_writes_our_text_layer(scanned_pdf: Path, tmp_path: Path) -> None:
    result = _ocrmypdf("--ocr-engine", "difftsr", "--force-ocr", scanned_pdf, "out.pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    text, size = _text_and_size(tmp_path / "out.pdf")
    for line in TEXTS:
        assert _squeezed(line) in _squeezed(text), text
    assert size == pytest.approx(_text_and_size(scanned_pdf)[1], abs=0.5), "the page keeps its physical size"
    assert "tesseract" not in text.lower()


def test_a_rotated_page_keeps_its_text_layer(scanned_pdf: Path, tmp_path: Path) -> None:
    # Displayed turned by /Rotate 90, the lines are tall boxes in the raster OCRmyPDF hands
    # us; without their text angle its renderer took them for garbage and dropped them.
    rotated = tmp_path / "rotated.pdf"
    with pikepdf.open(scanned_pdf) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(rotated)
    result = _ocrmypdf("--ocr-engine", "difftsr", "--force-ocr", rotated, "out.pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    text, _ = _text_and_size(tmp_path / "out.pdf")
    for line in TEXTS:
        assert _squeezed(line) in _squeezed(text), text


def test_tesseract_reads_the_restored_image_and_visible_page(scanned_pdf: Path, tmp_path: Path) -> None:
    result = _ocrmypdf("-v", "1", "--difftsr-restore-visible-page", "--force-ocr", scanned_pdf, "out.pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # Once for the image Tesseract reads, once for the page image shown in the PDF.
    assert result.stderr.count("difftsr restored 2 lines") == 2, result.stderr[-3000:]
    text, size = _text_and_size(tmp_path / "out.pdf")
    for line in TEXTS:
        assert _squeezed(line) in _squeezed(text), text
    assert size == pytest.approx(_text_and_size(scanned_pdf)[1], abs=0.5)


def test_installed_plugin_stays_idle_unless_asked(scanned_pdf: Path, tmp_path: Path) -> None:
    result = _ocrmypdf("-v", "1", "--force-ocr", scanned_pdf, "out.pdf", cwd=tmp_path, options=[])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "difftsr restored" not in result.stderr, "the entry point must not restore every OCRmyPDF run"


def test_missing_weights_are_one_line_with_ocrmypdfs_exit_code(scanned_pdf: Path, tmp_path: Path) -> None:
    result = _ocrmypdf(
        "--ocr-engine", "difftsr", "--difftsr-restorer", "difftsr", "--difftsr-ckpt", tmp_path / "nope.ckpt",
        scanned_pdf, "out.pdf", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr  # OCRmyPDF's ExitCode.missing_dependency
    assert f"difftsr plug-in: {tmp_path / 'nope.ckpt'}: DiffTSR weights not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.pdf").exists()


def test_words_share_their_line_box_by_length() -> None:
    page = Page(
        width=400,
        height=300,
        blocks=[
            Block([Line(polygon=[[10, 20], [110, 20], [110, 40], [10, 40]], text="ab cdefg", confidence=0.9)]),
            Block(
                [Line(polygon=[[300, 0], [320, 0], [320, 400], [300, 400]], text="竖排", confidence=0.8, vertical=True)]
            ),
            Block([Line(polygon=[[0, 0], [5, 0], [5, 5], [0, 5]], text="  ")]),
        ],
    )
    tree = page_element(page, dpi=150.0, page_number=2)
    assert (tree.ocr_class, tree.dpi, tree.page_number) == ("ocr_page", 150.0, 2)
    assert len(tree.children) == 2, "a line without text gets no element"
    horizontal, vertical = tree.children
    first, second = horizontal.children
    assert (first.text, second.text) == ("ab", "cdefg")
    assert (first.bbox.left, first.bbox.right, second.bbox.left, second.bbox.right) == pytest.approx(
        (10, 35, 47.5, 110)
    )
    assert first.confidence == pytest.approx(0.9)
    (word,) = vertical.children
    assert (word.bbox.top, word.bbox.bottom) == (0.0, 300.0), "clamped to the page"
    assert horizontal.textangle is None and vertical.textangle is None


def test_lines_that_read_down_or_up_the_page_carry_their_angle() -> None:
    # Polygons start at the line's top-left as read: the first edge runs along the text.
    down = Line(polygon=[[320, 10], [320, 210], [300, 210], [300, 10]], text="reads down", vertical=True)
    up = Line(polygon=[[50, 210], [50, 10], [70, 10], [70, 210]], text="reads up", vertical=True)
    skewed = Line(polygon=[[10, 20], [110, 30], [110, 50], [10, 40]], text="slight skew")
    tree = page_element(Page(width=400, height=300, blocks=[Block([down, up, skewed])]), dpi=150.0, page_number=0)
    assert [line.textangle for line in tree.children] == [270.0, 90.0, None]
