"""Page images in and out: modes, EXIF orientation, and one-line errors for bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from difftsr_ocr.errors import InputImageError
from difftsr_ocr.imageio import load_image, page_from_array, page_from_header, page_header, save_like
from difftsr_ocr.multipage import iter_pages, load_pages, page_count, save_pages


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


def test_a_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "scan.png"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer comes: the check must not open it.
    with pytest.raises(InputImageError, match="not a regular file"):
        load_image(fifo)
    with pytest.raises(InputImageError, match="not a regular file"):
        load_pages(fifo)


def test_our_pixel_limit_replaces_pillows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "page.png"
    Image.fromarray(_gradient(100, 100)).save(path)
    # Pillow alone refuses this image (over twice its limit); our higher limit admits it.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Image.DecompressionBombError), Image.open(path):
        pass
    assert load_image(path, max_pixels=20_000).pixels.shape == (100, 100, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000, "Pillow's own setting is left as it was"


def _tiff(path: Path, sizes: list[tuple[int, int]]) -> None:
    frames = [Image.fromarray(_gradient(width, height)) for width, height in sizes]
    frames[0].save(path, save_all=True, append_images=frames[1:])


def test_every_page_of_a_tiff_is_checked_against_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "pages.tiff"
    _tiff(path, [(60, 40), (60, 40), (300, 200)])
    assert len(load_pages(path, max_pixels=100_000)) == 3
    with pytest.raises(InputImageError, match=r"page 3: 300x200 px is over the 10,000 pixel limit"):
        load_pages(path, max_pixels=10_000)


def test_pages_are_decoded_one_at_a_time_and_only_those_wanted(tmp_path: Path) -> None:
    tiff = tmp_path / "pages.tiff"
    _tiff(tiff, [(60, 40), (70, 40), (80, 40)])
    pdf = tmp_path / "pages.pdf"
    frames = [Image.fromarray(_gradient(width, 40)) for width in (60, 70, 80)]
    frames[0].save(pdf, save_all=True, append_images=frames[1:], resolution=72.0)
    for path in (tiff, pdf):
        assert page_count(path) == 3
        pages = iter_pages(path, pdf_dpi=72.0, wanted={0, 2})
        assert [(index, page.pixels.shape[1]) for index, page in pages] == [(0, 60), (2, 80)]
        assert [page.source for page in load_pages(path, pdf_dpi=72.0)][1].endswith("#page=2")


def test_a_page_header_writes_back_like_its_page(tmp_path: Path) -> None:
    source = tmp_path / "scan.tif"
    Image.fromarray(_gradient()).save(source, compression="tiff_lzw", dpi=(150, 150), icc_profile=b"fake profile")
    page = load_image(source)
    larger = np.repeat(np.repeat(page.pixels, 2, axis=0), 2, axis=1)
    header = json.loads(json.dumps(page_header(page, larger)))
    again = page_from_header(header, larger, page.alpha)
    for like, target in ((page, tmp_path / "direct.tif"), (again, tmp_path / "header.tif")):
        save_like(larger, like, target)
    assert (tmp_path / "direct.tif").read_bytes() == (tmp_path / "header.tif").read_bytes()


def test_a_damaged_later_page_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "pages.tiff"
    _tiff(path, [(60, 40), (60, 40), (60, 40)])
    data = bytearray(path.read_bytes())
    # Cut the file inside the last page's pixels: the first pages still decode.
    path.write_bytes(bytes(data[: len(data) - 3000]))
    with pytest.raises(InputImageError, match=r"pages\.tiff: page \d is damaged"):
        load_pages(path)


def test_a_mode_the_output_format_cannot_hold_is_converted(tmp_path: Path) -> None:
    source = tmp_path / "scan.tiff"
    Image.fromarray(_gradient()).convert("CMYK").save(source)
    page = load_image(source)
    assert page.mode == "CMYK"
    target = tmp_path / "scan.png"
    save_like(page.pixels, page, target)
    with Image.open(target) as written:
        assert written.mode == "RGB" and written.size == (60, 40)
    assert not list(tmp_path.glob("*.partial*"))


def test_a_jpeg_is_written_as_lossy_as_it_came(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    Image.fromarray(_gradient(64, 48)).save(source, quality=92, subsampling=0)
    page = load_image(source)
    target = tmp_path / "out.jpg"
    save_like(page.pixels, page, target)
    with Image.open(source) as original, Image.open(target) as written:
        assert written.quantization == original.quantization, "the input's quality, not Pillow's default 75"
        assert JpegImagePlugin.get_sampling(written) == JpegImagePlugin.get_sampling(original) == 0


def _bilevel(width: int = 64, height: int = 48) -> Image.Image:
    # Ink on paper with a band of mid-grey that Pillow's default conversion would dither.
    pixels = np.full((height, width), 255, np.uint8)
    pixels[10:20, 5:50] = 0
    pixels[30:40, :] = 120
    return Image.fromarray(pixels).convert("1", dither=Image.Dither.NONE)


def test_a_bilevel_g4_scan_stays_bilevel_g4_and_undithered(tmp_path: Path) -> None:
    source = tmp_path / "scan.tif"
    first, second = _bilevel(), _bilevel().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    first.save(source, compression="group4", save_all=True, append_images=[second], dpi=(300, 300))
    pages = load_pages(source)
    target = tmp_path / "out.tif"
    save_pages(((page.pixels, page) for page in pages), target)
    with Image.open(target) as written:
        assert written.n_frames == 2
        for number in range(2):
            written.seek(number)
            assert written.mode == "1" and written.info["compression"] == "group4"
            band = np.asarray(written.convert("L"))[30:40]
            assert len(np.unique(band)) == 1, "a flat grey band is thresholded, not dithered"
    single = tmp_path / "one.tif"
    save_like(pages[0].pixels, pages[0], single)
    with Image.open(single) as written:
        assert (written.mode, written.info["compression"]) == ("1", "group4")


def test_an_icc_profile_is_carried(tmp_path: Path) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "tagged.png"
    Image.fromarray(_gradient()).save(source, icc_profile=profile)
    page = load_image(source)
    save_like(page.pixels, page, tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as written:
        assert written.info.get("icc_profile") == profile
