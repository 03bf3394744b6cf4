"""Page images in and out: modes, EXIF orientation, and one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr.errors import InputImageError
from difftsr_ocr.imageio import load_image, page_from_array, save_like


def _gradient(width: int = 60, height: int = 40) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float64)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float64)[:, None, None]
    return np.concatenate([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2).astype(np.uint8)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "CMYK"])
def test_modes_load_as_rgb_and_save_back_in_their_mode(tmp_path: Path, mode: str) -> None:
    source = Image.fromarray(_gradient()).convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".png"
    path = tmp_path / f"page{suffix}"
    source.save(path)
    page = load_image(path)
    assert page.pixels.shape == (40, 60, 3) and page.pixels.dtype == np.uint8
    out = tmp_path / f"out{suffix}"
    save_like(page.pixels, page, out)
    with Image.open(out) as written:
        expected = "RGB" if mode == "P" else mode
        assert written.mode == expected and written.size == (60, 40)


def test_sixteen_bit_grayscale_keeps_its_range(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 50 * 20, dtype=np.uint16).reshape(20, 50)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    page = load_image(path)
    assert page.pixels.min() == 0 and page.pixels.max() == 255


def test_exif_orientation_is_applied_and_restored(tmp_path: Path) -> None:
    stored = _gradient(80, 30)
    path = tmp_path / "rotated.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    Image.fromarray(stored).save(path, exif=exif.tobytes())
    page = load_image(path)
    assert page.pixels.shape == (80, 30, 3), "processed upright"
    save_like(page.pixels, page, tmp_path / "back.png")
    with Image.open(tmp_path / "back.png") as written:
        assert written.getexif()[0x0112] == 6
        assert np.array_equal(np.asarray(written.convert("RGB")), stored), "stored orientation kept"


def test_transparent_areas_become_paper_and_alpha_is_kept(tmp_path: Path) -> None:
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[:, 10:, 3] = 255
    page = page_from_array(rgba)
    assert (page.pixels[:, :10] == 255).all() and (page.pixels[:, 10:] == 0).all()
    save_like(page.pixels, page, tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as written:
        assert np.array_equal(np.asarray(written)[:, :, 3], rgba[:, :, 3])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not an image at all", "not an image file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "damaged or truncated"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(InputImageError, match=message) as info:
        load_image(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(_gradient(400, 300)).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:800])
    with pytest.raises(InputImageError, match=r"cut\.jpg: damaged or truncated"):
        load_image(path)


def test_missing_folder_and_too_large(tmp_path: Path) -> None:
    with pytest.raises(InputImageError, match="no such file"):
        load_image(tmp_path / "absent.png")
    with pytest.raises(InputImageError, match="is a folder"):
        load_image(tmp_path)
    path = tmp_path / "big.png"
    Image.fromarray(_gradient(100, 100)).save(path)
    with pytest.raises(InputImageError, match="pixel limit"):
        load_image(path, max_pixels=5000)


def test_arrays_of_other_types() -> None:
    assert page_from_array(np.full((5, 6), 0.5)).pixels[0, 0, 0] == 128
    assert page_from_array(np.full((5, 6, 3), 65535, np.uint16)).pixels.max() == 255
    with pytest.raises(InputImageError, match="expected a non-empty"):
        page_from_array(np.zeros((0, 0)))
