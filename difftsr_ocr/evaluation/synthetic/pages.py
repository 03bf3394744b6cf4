"""Whole synthetic pages: a seed picks the layout family, the lines and the damage; pages can be cached on disk."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from difftsr_ocr.evaluation.synthetic.degradation import Degradation, degrade
from difftsr_ocr.evaluation.synthetic.document import plan_document
from difftsr_ocr.evaluation.synthetic.render import DEFAULT_SIZE, LineSpec, TruthLine, render_lines
from difftsr_ocr.evaluation.synthetic.scene import plan_scene

__all__ = [
    "CACHE_FILES",
    "GENERATOR_VERSION",
    "LAYOUTS",
    "SyntheticPage",
    "generate_page",
    "generate_pages",
    "plan_page",
    "render_clean",
    "rerender_line",
]

# Bump whenever a change makes the same seed draw a different page: cached pages
# written by an older generator are then regenerated instead of silently reused.
GENERATOR_VERSION = 1

LAYOUTS = ("document", "scene")
_PLANNERS = {"document": plan_document, "scene": plan_scene}


def _layout_for(seed: int, layout: str | None) -> str:
    if layout is None:
        return LAYOUTS[seed % 2]
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    return layout


def plan_page(seed: int, layout: str, size: tuple[int, int]) -> tuple[np.ndarray, list[LineSpec]]:
    """The background and the line specs of a page, before any ink is drawn."""
    return _PLANNERS[layout](np.random.default_rng(seed), int(size[0]), int(size[1]))


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticPage:
    """One benchmark page: the clean rendering, its degraded version, and everything true about it."""

    name: str
    layout: str
    seed: int
    clean: np.ndarray
    degraded: np.ndarray
    lines: list[TruthLine]
    degradation: Degradation

    def truth_dict(self) -> dict[str, Any]:
        """JSON-ready ground truth; carries GENERATOR_VERSION so stale caches can be recognised."""
        height, width = self.clean.shape[:2]
        return {
            "generator_version": GENERATOR_VERSION,
            "name": self.name,
            "layout": self.layout,
            "seed": self.seed,
            "size": [int(width), int(height)],
            "degradation": self.degradation.to_dict(),
            "lines": [line.to_dict() for line in self.lines],
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyntheticPage):
            return NotImplemented
        return (
            self.truth_dict() == other.truth_dict()
            and bool(np.array_equal(self.clean, other.clean))
            and bool(np.array_equal(self.degraded, other.degraded))
        )

    __hash__ = None  # type: ignore[assignment]


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def generate_page(seed: int, layout: str | None = None, size: tuple[int, int] = DEFAULT_SIZE) -> SyntheticPage:
    """The page for (seed, layout, size), identical on every call and every machine with the same fonts.

    Without a layout, even seeds give documents and odd seeds scenes, so a run over
    consecutive seeds covers both. ``size`` is (width, height).
    """
    seed = _check_seed(seed)
    layout = _layout_for(seed, layout)
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"page size {size} is too small; use at least 64 x 64")
    background, specs = plan_page(seed, layout, (width, height))
    clean, lines = render_lines(specs, background=background)
    degraded, degradation = degrade(clean, seed)
    return SyntheticPage(
        name=f"{layout}-{seed:04d}",
        layout=layout,
        seed=seed,
        clean=clean,
        degraded=degraded,
        lines=lines,
        degradation=degradation,
    )


def rerender_line(page: SyntheticPage, line: int, text: str) -> np.ndarray:
    """The page's clean image with truth line ``line`` drawn saying ``text``, same font, size, place and colour.

    The page is re-planned from its seed (layout planning is deterministic), so this is
    how a restorer that draws a plausible but different line would look.
    """
    height, width = page.clean.shape[:2]
    background, specs = plan_page(page.seed, page.layout, (width, height))
    if not 0 <= line < len(specs):
        raise ValueError(f"{page.name} has {len(specs)} lines, not a line {line}")
    specs[line] = dataclasses.replace(specs[line], text=text)
    clean, _ = render_lines(specs, background=background)
    return clean


def render_clean(page: SyntheticPage, scale: int) -> np.ndarray:
    """The page's clean image drawn ``scale`` times larger: the ink at that resolution, the background enlarged.

    Re-planned from the seed like :func:`rerender_line`; every line is drawn with its
    font size, position and margin times ``scale``, so its truth polygon times ``scale``
    holds it (to a pixel of rounding at the larger size). This is what a perfect
    super-resolving restorer would put on a page written at that scale.
    """
    if scale == 1:
        return page.clean.copy()
    height, width = page.clean.shape[:2]
    background, specs = plan_page(page.seed, page.layout, (width, height))
    large = cv2.resize(background, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    scaled = [dataclasses.replace(spec, x=spec.x * scale, y=spec.y * scale, size=spec.size * scale) for spec in specs]
    clean, _ = render_lines(scaled, background=large)
    return clean


CACHE_FILES = ("clean.png", "degraded.png", "truth.json")


def _read_png(path: Path) -> np.ndarray | None:
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if pixels is None else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def _load_cached(directory: Path, name: str, seed: int) -> SyntheticPage | None:
    """The cached page, or None when it is incomplete, unreadable or from another generator."""
    if not all((directory / file).is_file() for file in CACHE_FILES):
        return None
    try:
        truth = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected_truth = {"generator_version": GENERATOR_VERSION, "name": name, "seed": seed, "size": list(DEFAULT_SIZE)}
    if not isinstance(truth, dict) or any(truth.get(key) != value for key, value in expected_truth.items()):
        return None
    clean, degraded = _read_png(directory / "clean.png"), _read_png(directory / "degraded.png")
    expected = (DEFAULT_SIZE[1], DEFAULT_SIZE[0], 3)
    if clean is None or degraded is None or clean.shape != expected or degraded.shape != expected:
        return None
    try:
        return SyntheticPage(
            name=name,
            layout=str(truth["layout"]),
            seed=seed,
            clean=clean,
            degraded=degraded,
            lines=[TruthLine.from_dict(line) for line in truth["lines"]],
            degradation=Degradation.from_dict(truth["degradation"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _replace_into(path: Path, write: Any) -> None:
    """Write through a temporary sibling and rename, so readers never see half a file."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_png(path: Path, pixels: np.ndarray) -> None:
    def write(temporary: Path) -> None:
        if not cv2.imwrite(str(temporary), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {temporary}")

    _replace_into(path, write)


def _store(directory: Path, page: SyntheticPage) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # truth.json goes first and comes back last: without it the page does not count as cached.
    (directory / "truth.json").unlink(missing_ok=True)
    _write_png(directory / "clean.png", page.clean)
    _write_png(directory / "degraded.png", page.degraded)
    text = json.dumps(page.truth_dict(), ensure_ascii=False, indent=1)
    _replace_into(directory / "truth.json", lambda temporary: temporary.write_text(text, encoding="utf-8"))


def generate_pages(count: int, seed: int = 0, cache_dir: str | os.PathLike | None = None) -> list[SyntheticPage]:
    """Pages for seeds seed .. seed + count - 1, optionally cached on disk between runs.

    A benchmark over many pages should not pay for drawing them every time; with
    ``cache_dir`` each page lives in ``<cache_dir>/<name>/`` as lossless PNGs plus
    truth.json, and is regenerated only when missing, damaged or written by another
    GENERATOR_VERSION.
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    seed = _check_seed(seed)
    root = None if cache_dir is None else Path(cache_dir)
    pages = []
    for page_seed in range(seed, seed + count):
        name = f"{_layout_for(page_seed, None)}-{page_seed:04d}"
        page = None if root is None else _load_cached(root / name, name, page_seed)
        if page is None:
            page = generate_page(page_seed)
            if root is not None:
                _store(root / name, page)
        pages.append(page)
    return pages
