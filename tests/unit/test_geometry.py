"""Geometry on rendered text: polygons, rectify/unrectify round trips, chunks, compositing."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.geometry import (
    Patch,
    composite,
    is_vertical,
    line_height,
    line_length,
    line_polygon,
    order_quad_by_edge_direction,
    pad_polygon,
    plan_chunks,
    rectify_line,
    split_crop,
    stitch_chunks,
    text_height,
    unrectify,
    upright_polygon,
)
from difftsr_ocr.restore.background import LanczosUpscaler
from tests.unit.geometry_helpers import (
    blank_page,
    ink_centroid,
    ink_correlation,
    place_arc,
    place_quad,
    range_error,
    render_line,
    rotated_rect,
)

LINE = render_line("Rectify 0123 geometry", 40)
LINE_H, LINE_W = LINE.shape[:2]


def _scene(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A white page with LINE drawn at a known polygon."""
    page = blank_page(700, 600)
    if kind.startswith("rot"):
        polygon = rotated_rect((350.3, 250.7), LINE_W, LINE_H, float(kind[3:]))
        place_quad(page, LINE, polygon)
    elif kind == "perspective":
        polygon = np.array([[100.0, 100.0], [100 + LINE_W * 1.1, 130.0], [100 + LINE_W * 1.05, 200.0], [110.0, 150.0]])
        place_quad(page, LINE, polygon)
    elif kind == "arc":
        polygon = place_arc(page, LINE, (350.0, 700.0), 500.0, 18.0, 24)
    else:  # vertical: the line turned 90 degrees clockwise, read top to bottom
        x0, y0 = 200.4, 100.6
        polygon = np.array([[x0 + LINE_H, y0], [x0 + LINE_H, y0 + LINE_W], [x0, y0 + LINE_W], [x0, y0]])
        place_quad(page, LINE, polygon)
    return page, polygon


# The vertical scene is a Latin line turned on its side: read as PP-OCR reads it (turned
# back), not cut into characters as a CJK column is (tests/unit/test_vertical.py).
ROTATED_LATIN = False
SCENES = ["rot0", "rot15", "rot40", "rot-30", "perspective", "arc", "vertical"]


# --- polygons -------------------------------------------------------------------------


@pytest.mark.parametrize("degrees", [-40, -15, 0, 15, 40])
def test_order_quad_by_edge_direction_finds_the_corners_of_rotated_lines(degrees: int) -> None:
    rect = rotated_rect((300, 200), 240, 30, degrees)
    rng = np.random.default_rng(degrees + 100)
    for _ in range(6):
        assert np.allclose(order_quad_by_edge_direction(rect[rng.permutation(4)]), rect)


@pytest.mark.parametrize("points", [np.zeros((3, 2)), np.zeros((5, 2)), np.zeros((4, 3)), [[0, 0], [1, np.nan]] * 2])
def test_bad_polygons_raise_one_line_input_errors(points: object) -> None:
    with pytest.raises(InputImageError, match=r"polygon|points"):
        line_polygon(points)


def test_sizes_and_orientation() -> None:
    flat = rotated_rect((300, 200), 300, 40, 25)
    assert line_length(flat) == pytest.approx(300) and line_height(flat) == pytest.approx(40)
    tall = rotated_rect((300, 200), 40, 300, 5)
    assert not is_vertical(flat) and is_vertical(tall)
    assert text_height(flat) == pytest.approx(40) and text_height(tall) == pytest.approx(40)
    arc = place_arc(blank_page(10, 10), LINE, (350.0, 700.0), 500.0, 18.0, 24)
    assert line_height(arc) == pytest.approx(LINE_H)
    assert line_length(arc) == pytest.approx(LINE_W, rel=0.005)  # the arc at mid radius is LINE_W long


@pytest.mark.parametrize("degrees", [0, 30])
def test_pad_adds_context_in_proportion_to_text_height(degrees: int) -> None:
    rect = rotated_rect((400, 300), 300, 40, degrees)
    padded = pad_polygon(rect, (800, 600), along=0.15, across=0.05)
    assert np.allclose(padded, rotated_rect((400, 300), 300 + 2 * 6, 40 + 2 * 2, degrees))
    # A vertical line reads along its long side, so that is where the 'along' pad goes.
    tall = rotated_rect((400, 300), 40, 300, degrees)
    assert np.allclose(pad_polygon(tall, (800, 600)), rotated_rect((400, 300), 40 + 2 * 2, 300 + 2 * 6, degrees))


def test_pad_is_clipped_per_side_and_keeps_edges_straight() -> None:
    rect = np.array([[3.0, 1.0], [303.0, 1.0], [303.0, 41.0], [3.0, 41.0]])
    padded = pad_polygon(rect, (400, 300))
    assert np.allclose(padded, [[0.0, 0.0], [309.0, 0.0], [309.0, 43.0], [0.0, 43.0]])
    near_top = rotated_rect((110, 54), 200, 40, 20)
    unclipped = pad_polygon(near_top + 100, (10**6, 10**6)) - 100
    assert near_top.min() >= 0 and unclipped.min() < 0  # the pad would leave the page
    corner = pad_polygon(near_top, (600, 400))
    assert corner.min() >= 0 and line_length(corner) > 200 and line_height(corner) > 40
    sides = np.roll(corner, -1, axis=0) - corner
    for index in range(4):  # still a rectangle: consecutive sides meet at right angles
        assert abs(np.dot(sides[index], sides[(index + 1) % 4])) < 1e-6 * np.dot(sides[index], sides[index])


def test_upright_polygon_starts_a_vertical_line_at_its_text_top_left() -> None:
    _, polygon = _scene("vertical")
    ordered = line_polygon(polygon)
    assert np.allclose(upright_polygon(ordered), np.roll(ordered, -1, axis=0))
    flat = rotated_rect((300, 200), 300, 40, 10)
    assert np.allclose(upright_polygon(flat), flat)


# --- rectify / unrectify ----------------------------------------------------------------


def test_axis_aligned_integer_lines_rectify_and_return_exactly() -> None:
    page = np.random.default_rng(1).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    polygon = np.array([[40.0, 60.0], [340.0, 60.0], [340.0, 100.0], [40.0, 100.0]])
    crop, warp = rectify_line(page, polygon, upright_columns=ROTATED_LATIN)
    assert np.array_equal(crop, page[60:100, 40:340])
    patch = unrectify(crop, warp)
    assert patch.bbox == (40, 60, 340, 100) and patch.mask.all()
    assert np.array_equal(patch.image, crop)


@pytest.mark.parametrize("kind", SCENES)
def test_rectify_recovers_the_rendered_line(kind: str) -> None:
    page, polygon = _scene(kind)
    crop, warp = rectify_line(page, polygon, upright_columns=ROTATED_LATIN)
    assert warp.rotated == (kind == "vertical")
    if kind != "perspective":  # that one is stretched on the page, so its crop is too
        assert abs(crop.shape[0] - LINE_H) <= 1 and abs(crop.shape[1] - LINE_W) <= 2
    upright = cv2.resize(crop, (LINE_W, LINE_H), interpolation=cv2.INTER_LINEAR)
    threshold = 0.85 if kind == "arc" else 0.95
    assert ink_correlation(upright, LINE) > threshold
    # The measure is sharp: a polygon off by a third of the line height misses.
    shifted, _ = rectify_line(page, polygon + np.array([0.0, LINE_H / 3]), upright_columns=ROTATED_LATIN)
    assert ink_correlation(cv2.resize(shifted, (LINE_W, LINE_H)), LINE) < threshold


@pytest.mark.parametrize("kind", SCENES)
@pytest.mark.parametrize("resize", [1.0, 2.0, 0.7])
def test_unrectify_inverts_rectify(kind: str, resize: float) -> None:
    page, polygon = _scene(kind)
    crop, warp = rectify_line(page, polygon, upright_columns=ROTATED_LATIN)
    if resize != 1.0:  # a restorer may answer at another resolution
        size = (round(crop.shape[1] * resize), round(crop.shape[0] * resize))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)
    patch = unrectify(crop, warp)
    x0, y0, x1, y1 = patch.bbox
    original = page[y0:y1, x0:x1]
    # Patches cover the line's box, never the page.
    assert x1 - x0 <= np.ptp(polygon[:, 0]) + 2 and y1 - y0 <= np.ptp(polygon[:, 1]) + 2
    assert abs(patch.mask.sum() - cv2.contourArea(polygon.astype(np.float32))) < cv2.arcLength(
        polygon.astype(np.float32), True
    )
    # Every pixel is what the page holds within one pixel of it (a few levels of
    # resampling slack), and the ink sits where it was to a fraction of a pixel.
    tolerance = 1 if resize == 1.0 else 8 if resize == 2.0 else 40
    assert range_error(patch.image, original)[patch.mask].max() <= tolerance
    shift = ink_centroid(patch.image, patch.mask) - ink_centroid(original, patch.mask)
    assert np.abs(shift).max() < 0.2


def test_target_height_and_output_scale() -> None:
    page, polygon = _scene("rot15")
    crop, warp = rectify_line(page, polygon, height=64, upright_columns=ROTATED_LATIN)
    assert crop.shape[0] == 64 and crop.shape[1] == pytest.approx(LINE_W * 64 / LINE_H, abs=1)
    assert warp.output_size == (crop.shape[1], crop.shape[0])
    vertical_crop, _ = rectify_line(*_scene("vertical"), height=32, upright_columns=ROTATED_LATIN)
    assert vertical_crop.shape[:2] == (32, round(LINE_W * 32 / LINE_H))
    patch = unrectify(crop, warp, scale=2.0)
    big = LanczosUpscaler().upscale(page, 2)
    x0, y0, x1, y1 = patch.bbox
    assert big.shape[:2] == (1200, 1400) and x1 <= 1400 and y1 <= 1200
    assert range_error(patch.image, big[y0:y1, x0:x1], reach=2)[patch.mask].max() <= 40
    assert patch.text_height == pytest.approx(2 * LINE_H)


def test_shrinking_averages_instead_of_aliasing() -> None:
    page = np.zeros((200, 600, 3), np.uint8)
    page[:, ::2] = 255  # one-pixel stripes: plain bilinear sampling would alias them
    polygon = np.array([[50.0, 50.0], [530.0, 50.0], [530.0, 146.0], [50.0, 146.0]])
    crop, _ = rectify_line(page, polygon, height=24)
    assert crop.shape[:2] == (24, 120)
    assert abs(crop.mean() - 127.5) < 3 and crop.std() < 3


def test_rectify_rejects_bad_input() -> None:
    page = blank_page(200, 100)
    with pytest.raises(InputImageError, match="outside"):
        rectify_line(page, np.array([[300.0, 10], [400, 10], [400, 30], [300, 30]]))
    with pytest.raises(InputImageError, match="degenerate"):
        rectify_line(page, np.array([[10.0, 10], [100, 10], [100, 10.5], [10, 10.5]]))
    with pytest.raises(InputImageError, match="uint8"):
        rectify_line(page.astype(np.float32), np.array([[10.0, 10], [100, 10], [100, 30], [10, 30]]))
    with pytest.raises(ConfigError, match="height"):
        rectify_line(page, np.array([[10.0, 10], [100, 10], [100, 30], [10, 30]]), height=0)


# --- chunks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "text_length"), [(300, 64, None), (2000, 64, None), (5003, 37, None), (2000, 100, 120)]
)
def test_chunks_cover_the_line_within_both_limits(width: int, height: int, text_length: int | None) -> None:
    chunks = plan_chunks(width, height, max_aspect=8.0, max_chars=24, text_length=text_length, overlap=0.75)
    assert chunks[0].x0 == 0 and chunks[-1].x1 == width
    density = text_length / width if text_length else 2.0 / height
    for chunk in chunks:
        assert chunk.width <= 8.0 * height and chunk.width * density <= 24
    for left, right in itertools.pairwise(chunks):
        assert left.x1 - right.x0 >= 0.75 * height - 1  # each character whole in one chunk
    for left, right in zip(chunks, chunks[2:], strict=False):
        assert left.x1 <= right.x0  # never three chunks over one column
    assert max(c.width for c in chunks) - min(c.width for c in chunks) <= 1
    if width <= 8 * height and not text_length:
        assert len(chunks) == 1


def test_known_text_length_sets_the_chunk_count() -> None:
    # Aspect 20 alone needs 3 chunks of <= 8; 120 characters need 24-character chunks.
    assert len(plan_chunks(2000, 100, text_length=10)) == 3
    assert len(plan_chunks(2000, 100, text_length=120)) >= 6


def test_stitching_unmodified_slices_gives_the_crop_back() -> None:
    crop = np.random.default_rng(2).integers(0, 256, (48, 1501, 3), dtype=np.uint8)
    chunks = plan_chunks(1501, 48, overlap=1.0)
    assert len(chunks) > 2
    assert np.array_equal(stitch_chunks(split_crop(crop, chunks), chunks, 1501), crop)


def test_stitching_cross_fades_linearly_without_a_seam() -> None:
    chunks = plan_chunks(1000, 40, overlap=1.0)
    values = [40 + 60 * i for i in range(len(chunks))]
    images = [np.full((40, c.width, 3), v, np.uint8) for c, v in zip(chunks, values, strict=True)]
    profile = stitch_chunks(images, chunks, 1000)[0, :, 0].astype(int)
    assert profile[0] == values[0] and profile[-1] == values[-1]
    assert np.all(np.diff(profile) >= 0)  # monotone between chunks
    assert np.abs(np.diff(profile)).max() <= 60 / (chunks[0].x1 - chunks[1].x0) + 1


def test_stitching_scaled_images() -> None:
    crop = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 256, (32, 700, 3), dtype=np.uint8), (0, 0), 3)
    chunks = plan_chunks(700, 32)
    doubled = [
        cv2.resize(part, (part.shape[1] * 2, 64), interpolation=cv2.INTER_CUBIC) for part in split_crop(crop, chunks)
    ]
    stitched = stitch_chunks(doubled, chunks, 700)
    expected = cv2.resize(crop, (1400, 64), interpolation=cv2.INTER_CUBIC)
    assert stitched.shape == expected.shape
    assert np.abs(stitched.astype(int) - expected).mean() < 1.0


def test_chunk_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        plan_chunks(2000, 40, max_aspect=4, overlap=3.0)
    with pytest.raises(ConfigError, match="max_aspect"):
        plan_chunks(2000, 40, max_aspect=0)


# --- composite ---------------------------------------------------------------------------


def _text_page(count: int, degrees: float) -> tuple[np.ndarray, list[np.ndarray]]:
    page = blank_page(1000, 1400)
    polygons = []
    for index in range(count):
        line = render_line(f"Line {index:02d} of a rendered page of text", 34)
        polygon = rotated_rect((500.0 + index % 3, 60.0 + index * 44.3), line.shape[1], line.shape[0], degrees)
        place_quad(page, line, polygon)
        polygons.append(pad_polygon(polygon, (1000, 1400)))
    return page, polygons


def _identity_patches(page: np.ndarray, polygons: list[np.ndarray], scale: float = 1.0) -> list[Patch]:
    return [unrectify(*rectify_line(page, polygon), scale=scale) for polygon in polygons]


def _union(patches: list[Patch], shape: tuple[int, ...]) -> np.ndarray:
    union = np.zeros(shape[:2], bool)
    for patch in patches:
        x0, y0, x1, y1 = patch.bbox
        union[y0:y1, x0:x1] |= patch.mask
    return union


def test_identity_restorer_leaves_axis_aligned_lines_exact() -> None:
    page, polygons = _text_page(6, 0.0)
    integer = [np.round(p) for p in polygons]
    assert np.array_equal(composite(page, _identity_patches(page, integer)), page)


def test_identity_restorer_changes_nothing_outside_and_leaves_no_seam() -> None:
    page, polygons = _text_page(30, 2.5)
    before = page.copy()
    patches = _identity_patches(page, polygons)
    start = time.perf_counter()
    result = composite(page, patches)
    assert time.perf_counter() - start < 1.0
    assert np.array_equal(page, before)  # the input is not modified
    union = _union(patches, page.shape)
    assert np.array_equal(result[~union], page[~union])
    assert range_error(result, page).max() <= 1


def test_constant_patch_changes_only_its_line() -> None:
    page, polygons = _text_page(3, 10.0)
    crop, warp = rectify_line(page, polygons[1])
    patch = unrectify(np.full_like(crop, (200, 30, 90)), warp)
    result = composite(page, [patch], feather=0.1)
    changed = np.any(result != page, axis=2)
    inside = np.zeros(page.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(polygons[1] - 0.5).astype(np.int32)], 1)
    assert changed.any() and not np.any(changed & ~cv2.dilate(inside, np.ones((3, 3), np.uint8)).astype(bool))
    core = cv2.erode(inside, np.ones((9, 9), np.uint8)).astype(bool)
    assert np.all(result[core] == (200, 30, 90))


def test_overlapping_patches_average() -> None:
    page = blank_page(400, 200)
    first = np.array([[20.0, 50.0], [260.0, 50.0], [260.0, 100.0], [20.0, 100.0]])
    second = first + np.array([120.0, 10.0])
    patches = [
        unrectify(np.full((50, 240, 3), value, np.uint8), rectify_line(page, polygon)[1])
        for value, polygon in ((40, first), (120, second))
    ]
    result = composite(page, patches)
    assert np.all(result[75, 150:250] == 80)  # both at full weight: the mean
    assert np.all(result[75, 40:130] == 40) and np.all(result[85, 270:370] == 120)


def test_colour_matching_undoes_a_brightness_drift() -> None:
    page, polygons = _text_page(2, 5.0)
    crop, warp = rectify_line(page, polygons[0])
    drifted = np.clip(crop.astype(int) * 0.6 + 70, 0, 255).astype(np.uint8)
    patch = unrectify(drifted, warp)
    x0, y0, x1, y1 = patch.bbox

    def error(image: np.ndarray) -> float:
        return float(np.abs(image[y0:y1, x0:x1].astype(int) - page[y0:y1, x0:x1])[patch.mask].mean())

    # Resampling alone (the identity restorer) sets the floor the matched patch must reach.
    floor = error(composite(page, [unrectify(crop, warp)]))
    assert error(composite(page, [patch], match_colors=True)) < floor + 1.5
    assert error(composite(page, [patch])) > floor + 10


def test_output_scale_upscales_the_background_and_places_patches() -> None:
    page, polygons = _text_page(4, 3.0)
    patches = _identity_patches(page, polygons, scale=2.0)
    big = LanczosUpscaler().upscale(page, 2)
    result = composite(big, patches)
    assert result.shape == (2800, 2000, 3) and result.dtype == np.uint8
    union = _union(patches, big.shape)
    assert np.array_equal(result[~union], big[~union])
    assert range_error(result, big, reach=2)[union].max() <= 8
    with pytest.raises(ValueError, match="canvas"):
        composite(page, patches)


def test_composite_copies_unless_told_to_blend_in_place() -> None:
    page, polygons = _text_page(2, 3.0)
    patches = [unrectify(np.full_like(crop, 7), warp) for crop, warp in (rectify_line(page, p) for p in polygons)]
    before = page.copy()
    result = composite(page, patches)
    assert np.array_equal(page, before) and not np.array_equal(result, page)
    assert composite(page, patches, in_place=True) is page and np.array_equal(page, result)


def test_a_restorer_resolution_crop_goes_into_the_page_in_one_resampling() -> None:
    # A crop 4x finer across the line and 2x along it (DiffTSR's 512x128 of a long chunk):
    # at output scale 4 the patch samples it directly, at scale 1 it is area-averaged down.
    page, polygons = _text_page(1, 3.0)
    crop, warp = rectify_line(page, polygons[0])
    fine = cv2.resize(crop, (crop.shape[1] * 2, crop.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    coarse = unrectify(crop, warp, scale=4.0)
    detailed = unrectify(fine, warp, scale=4.0)
    assert detailed.image.shape == coarse.image.shape
    mask = detailed.mask
    assert range_error(detailed.image, coarse.image, reach=2)[mask].max() <= 60
    small = unrectify(fine, warp, scale=1.0)
    assert (
        range_error(
            small.image, page[small.y : small.y + small.mask.shape[0], small.x : small.x + small.mask.shape[1]], reach=1
        )[small.mask].max()
        <= 40
    )


def test_page_pipeline_speed_and_no_torch() -> None:
    page, polygons = _text_page(30, 2.0)
    start = time.perf_counter()
    composite(page, _identity_patches(page, polygons))
    assert time.perf_counter() - start < 1.5  # measured ~0.25 s on 2 cores
    code = "import sys, difftsr_ocr.geometry; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
