"""Synthetic benchmark pages: deterministic, truthful polygons, documented damage, a safe cache."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.evaluation.synthetic import fonts as synthetic_fonts
from difftsr_ocr.evaluation.synthetic import pages as synthetic_pages
from difftsr_ocr.evaluation.synthetic.degradation import Degradation, apply_degradation, degrade
from difftsr_ocr.evaluation.synthetic.pages import (
    GENERATOR_VERSION,
    LAYOUTS,
    SyntheticPage,
    generate_page,
    generate_pages,
)
from difftsr_ocr.evaluation.synthetic.render import LineSpec, TruthLine, line_extent, render_lines

DOCUMENT_SEEDS = (0, 2, 4)
SCENE_SEEDS = (1, 3, 5)
RANGES = {
    "gaussian_blur": (0.6, 2.0),
    "motion_blur": (5, 13),
    "downup": (2.0, 4.0),
    "noise": (2.0, 10.0),
    "jpeg": (20, 60),
}
ORDER = ["gaussian_blur", "motion_blur", "downup", "noise", "jpeg"]


@pytest.fixture(scope="module")
def pages() -> dict[int, SyntheticPage]:
    return {seed: generate_page(seed) for seed in DOCUMENT_SEEDS + SCENE_SEEDS}


def _mask(polygons: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centres lie inside any polygon (pixel-edge convention, 1/16 pixel precision)."""
    mask = np.zeros(shape, np.uint8)
    for polygon in polygons:
        points = np.rint((np.asarray(polygon, np.float64) - 0.5) * 16).astype(np.int32)
        cv2.fillPoly(mask, [points], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def _signed_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0].astype(np.float64), polygon[:, 1].astype(np.float64)
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) / 2.0)


def _features(page: SyntheticPage) -> set[str]:
    found = {line.kind for line in page.lines} | {line.script for line in page.lines}
    if any(len(line.text) > 24 for line in page.lines):
        found.add("long")
    return found


def test_same_seed_same_page_and_other_seed_other_page(pages: dict[int, SyntheticPage]) -> None:
    again = generate_page(4)
    first = pages[4]
    assert np.array_equal(again.clean, first.clean) and np.array_equal(again.degraded, first.degraded)
    assert again.truth_dict() == first.truth_dict()
    assert again == first
    other = pages[2]
    assert not np.array_equal(other.clean, first.clean)
    assert [line.text for line in other.lines] != [line.text for line in first.lines]


def test_seed_parity_picks_the_layout_and_names_the_page(pages: dict[int, SyntheticPage]) -> None:
    assert pages[4].layout == "document" and pages[4].name == "document-0004"
    assert pages[3].layout == "scene" and pages[3].name == "scene-0003"
    forced = generate_page(3, layout="document", size=(500, 700))
    assert forced.layout == "document" and forced.name == "document-0003"
    assert forced.clean.shape == forced.degraded.shape == (700, 500, 3)
    with pytest.raises(ValueError, match="document, scene"):
        generate_page(3, layout="poster")
    assert LAYOUTS == ("document", "scene")


def test_documents_have_every_promised_kind_of_line(pages: dict[int, SyntheticPage]) -> None:
    for seed in DOCUMENT_SEEDS:
        page = pages[seed]
        assert {"horizontal", "rotated", "vertical", "cjk", "latin", "long"} <= _features(page), seed
        assert 9 <= len(page.lines) <= 14
        for line in page.lines:
            if line.kind == "vertical":
                assert 3 <= len(line.text) <= 6 and line.script == "cjk"


def test_scenes_have_curved_and_vertical_lines(pages: dict[int, SyntheticPage]) -> None:
    for seed in SCENE_SEEDS:
        page = pages[seed]
        assert {"curved", "vertical"} <= _features(page), seed
        assert 5 <= len(page.lines) <= 8
        curved = next(line for line in page.lines if line.kind == "curved")
        assert len(curved.polygon) >= 16 and len(curved.polygon) % 2 == 0


def test_polygons_are_clockwise_inside_the_page_and_apart(pages: dict[int, SyntheticPage]) -> None:
    for page in pages.values():
        height, width = page.clean.shape[:2]
        shapes = []
        for line in page.lines:
            polygon = line.polygon
            assert polygon.dtype == np.float32 and polygon.ndim == 2 and polygon.shape[1] == 2
            assert len(polygon) == (len(polygon) if line.kind == "curved" else 4)
            assert polygon[:, 0].min() >= 10 and polygon[:, 0].max() <= width - 10
            assert polygon[:, 1].min() >= 10 and polygon[:, 1].max() <= height - 10
            assert _signed_area(polygon) > 0  # clockwise on screen (y points down)
            shape = Polygon(polygon)
            assert shape.is_valid, (page.name, line.text)
            shapes.append(shape)
        for index, shape in enumerate(shapes):
            for other in shapes[:index]:
                assert not shape.intersects(other), page.name
        texts = [line.text for line in page.lines]
        assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_inked_pixel_lies_inside_a_polygon(pages: dict[int, SyntheticPage], seed: int) -> None:
    page = pages[seed]
    background, specs = synthetic_pages.plan_page(seed, page.layout, (1000, 1400))
    clean, lines = render_lines(specs, background=background)
    assert np.array_equal(clean, page.clean) and lines == page.lines
    inked = np.any(clean != background, axis=2)
    inside = _mask([line.polygon for line in page.lines], inked.shape)
    assert inked.sum() > 5000
    assert inked[inside].sum() / inked.sum() >= 0.99
    for line in page.lines:  # and every polygon holds visible text
        assert inked[_mask([line.polygon], inked.shape)].sum() > 50, line.text


def test_render_lines_fits_polygons_to_the_ink() -> None:
    specs = [
        LineSpec("Invoice 2024-117", 40, 40, size=32),
        LineSpec("Rotated counter-clockwise", 60, 300, size=28, angle=12),
        LineSpec("竖排文字", 620, 60, size=40, vertical=True, font="cjk"),
        LineSpec("Arched over the top", 300, 420, size=36, curve=0.15),
        LineSpec("Sagging in the middle", 300, 600, size=36, curve=-0.15),
        LineSpec("发票 No. 7", 40, 120, size=30, font="cjk", color=(200, 20, 20)),
    ]
    page, lines = render_lines(specs, size=(800, 760))
    assert page.shape == (760, 800, 3) and page.dtype == np.uint8
    assert [line.kind for line in lines] == ["horizontal", "rotated", "vertical", "curved", "curved", "horizontal"]
    assert [line.script for line in lines] == ["latin", "latin", "cjk", "latin", "latin", "cjk"]
    inked = np.any(page != 255, axis=2)
    assert inked[_mask([line.polygon for line in lines], inked.shape)].sum() / inked.sum() >= 0.999
    for spec, line in zip(specs, lines, strict=True):
        assert inked[_mask([line.polygon], inked.shape)].sum() > 100, line.text
        if not spec.curve:  # the box corner (x, y) is the polygon's first point
            assert tuple(line.polygon[0]) == pytest.approx((spec.x, spec.y))
    # Straight line: the box is the ink box plus a margin of size / 8.
    ys, xs = np.nonzero(inked[:100, :500])
    polygon = lines[0].polygon
    assert xs.min() - polygon[0, 0] == pytest.approx(4, abs=1) and polygon[1, 0] - xs.max() - 1 == pytest.approx(
        4, abs=1
    )
    assert ys.min() - polygon[0, 1] == pytest.approx(4, abs=1) and polygon[2, 1] - ys.max() - 1 == pytest.approx(
        4, abs=1
    )
    # Counter-clockwise rotation lifts the right end; vertical boxes stand tall.
    rotated = lines[1].polygon
    assert rotated[1, 1] < rotated[0, 1]
    assert np.degrees(np.arctan2(rotated[0, 1] - rotated[1, 1], rotated[1, 0] - rotated[0, 0])) == pytest.approx(12)
    vertical = lines[2].polygon
    assert vertical[2, 1] - vertical[0, 1] > 3 * (vertical[1, 0] - vertical[0, 0])
    # Positive curve: the middle of the upper edge rises above its ends; negative: it sinks.
    arch, sag = lines[3].polygon, lines[4].polygon
    half = len(arch) // 2
    assert arch[half // 2, 1] < min(arch[0, 1], arch[half - 1, 1]) - 10
    assert sag[half // 2, 1] > max(sag[0, 1], sag[half - 1, 1]) + 10


def test_render_lines_on_a_background_and_bad_input() -> None:
    background = np.full((300, 400, 3), 90, np.uint8)
    page, lines = render_lines([LineSpec("light", 20, 20, color=(250, 250, 250))], size=(10, 10), background=background)
    assert page.shape == (300, 400, 3) and page.max() == 250 and len(lines) == 1
    assert np.array_equal(page[100:], background[100:])
    with pytest.raises(ValueError, match="uint8"):
        render_lines([], background=background.astype(np.float32))
    with pytest.raises(ValueError, match="unknown font"):
        render_lines([LineSpec("x", 0, 0, font="comic")])
    with pytest.raises(ValueError, match="horizontal"):
        render_lines([LineSpec("x", 0, 0, vertical=True, curve=0.1)])


def test_script_detection_counts_fullwidth_as_cjk() -> None:
    _, lines = render_lines(
        [
            LineSpec("ＡＢＣ１２３", 10, 10, font="cjk"),
            LineSpec("plain ASCII", 10, 80),
            LineSpec("地址: 12 Road", 10, 150, font="cjk"),
        ]
    )
    assert [line.script for line in lines] == ["cjk", "latin", "cjk"]


def test_degradation_draws_stay_in_range_and_in_order() -> None:
    image = np.full((24, 24, 3), 200, np.uint8)
    seen = set()
    for seed in range(300):
        _, degradation = degrade(image, seed)
        names = [name for name, _ in degradation.steps]
        assert 2 <= len(names) <= 4 and len(set(names)) == len(names)
        assert names == sorted(names, key=ORDER.index)
        assert {"gaussian_blur", "motion_blur", "downup"} & set(names)
        for name, value in degradation.steps:
            low, high = RANGES[name]
            assert low <= value <= high, (seed, name, value)
            if name in ("motion_blur", "jpeg"):
                assert value == int(value)
        seen.update(names)
    assert seen == set(ORDER)


def test_degradation_is_reproducible_and_scales_with_strength(pages: dict[int, SyntheticPage]) -> None:
    page = pages[0]
    assert not np.array_equal(page.degraded, page.clean)
    assert np.array_equal(apply_degradation(page.clean, page.degradation, page.seed), page.degraded)
    again, degradation = degrade(page.clean, page.seed)
    assert np.array_equal(again, page.degraded) and degradation == page.degradation

    crop = np.ascontiguousarray(page.clean[:400, :600])
    mild = Degradation((("gaussian_blur", 0.6), ("jpeg", 60)))
    strong = Degradation((("motion_blur", 13), ("downup", 4.0), ("noise", 10.0), ("jpeg", 20)))
    assert np.array_equal(apply_degradation(crop, strong, 7), apply_degradation(crop, strong, 7))
    assert not np.array_equal(apply_degradation(crop, strong, 7), apply_degradation(crop, strong, 8))

    def damage(degradation: Degradation) -> float:
        return float(np.abs(apply_degradation(crop, degradation, 7).astype(np.int16) - crop).mean())

    assert 0 < damage(mild) < damage(strong)
    with pytest.raises(ValueError, match="unknown degradation step"):
        Degradation((("sharpen", 1.0),))


def test_truth_and_degradation_round_trip_through_json(pages: dict[int, SyntheticPage]) -> None:
    page = pages[1]
    truth = json.loads(json.dumps(page.truth_dict()))
    assert truth["generator_version"] == GENERATOR_VERSION
    assert truth["size"] == [1000, 1400] and truth["name"] == page.name and truth["seed"] == 1
    assert [TruthLine.from_dict(line) for line in truth["lines"]] == page.lines
    assert Degradation.from_dict(truth["degradation"]) == page.degradation
    line = page.lines[0]
    assert TruthLine.from_dict(line.to_dict()) == line
    moved = TruthLine(line.text, line.polygon + 1, line.kind, line.script)
    assert moved != line


def test_generate_pages_caches_atomically_and_honours_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = generate_pages(2, seed=10, cache_dir=tmp_path)
    assert [page.name for page in first] == ["document-0010", "scene-0011"]
    for page in first:
        assert sorted(path.name for path in (tmp_path / page.name).iterdir()) == [
            "clean.png",
            "degraded.png",
            "truth.json",
        ]

    def refuse(*args: object, **kwargs: object) -> SyntheticPage:
        raise AssertionError("cached pages must not be regenerated")

    monkeypatch.setattr(synthetic_pages, "generate_page", refuse)
    assert generate_pages(2, seed=10, cache_dir=tmp_path) == first

    truth_path = tmp_path / "scene-0011" / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    truth["generator_version"] = GENERATOR_VERSION + 1
    truth_path.write_text(json.dumps(truth), encoding="utf-8")
    (tmp_path / "document-0010" / "degraded.png").unlink()  # as if a run was interrupted
    made: list[int] = []

    def counting(seed: int, *args: object, **kwargs: object) -> SyntheticPage:
        made.append(seed)
        return generate_page(seed)

    monkeypatch.setattr(synthetic_pages, "generate_page", counting)
    assert generate_pages(2, seed=10, cache_dir=tmp_path) == first
    assert made == [10, 11]
    assert json.loads(truth_path.read_text(encoding="utf-8"))["generator_version"] == GENERATOR_VERSION
    leftovers = [
        path.name for path in tmp_path.rglob("*") if path.is_file() and path.name not in synthetic_pages.CACHE_FILES
    ]
    assert leftovers == []


def test_missing_font_is_a_one_line_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "fonts" / "wqy-zenhei.ttc"
    monkeypatch.setitem(synthetic_fonts.FONTS, "cjk", missing)
    with pytest.raises(ConfigError) as caught:
        render_lines([LineSpec("发票", 10, 10, font="cjk")])
    message = str(caught.value)
    assert str(missing) in message and "\n" not in message
    assert "fonts-dejavu-core" in message and "fonts-wqy-zenhei" in message
    with pytest.raises(ConfigError):
        generate_page(0)


def test_line_extent_is_the_box_of_the_drawn_polygon() -> None:
    for spec in (
        LineSpec("Rotated about its corner", 300, 400, size=30, angle=-12),
        LineSpec("Bent line", 200, 500, size=40, curve=0.15),
        LineSpec("竖排文字", 700, 300, size=36, vertical=True, font="cjk"),
    ):
        (line,) = render_lines([spec])[1]
        x0, y0, x1, y1 = line_extent(spec)
        expected = (*(line.polygon.min(axis=0) - (spec.x, spec.y)), *(line.polygon.max(axis=0) - (spec.x, spec.y)))
        np.testing.assert_allclose((x0, y0, x1, y1), expected, atol=1e-3)
