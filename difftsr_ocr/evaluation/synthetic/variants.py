"""Page sets for geometry that detectors and readers get wrong: arcs, and text upside down.

Each set comes with its control, drawn from the same seed with the same text, sizes,
backdrop and damage, so a benchmark compares like with like:

* :func:`arc_pages`: signage bent into arcs of 20-120 degrees (Latin and CJK), and the
  same lines drawn straight;
* :func:`turned_page`: a page rotated by 180 degrees (its pixels, damage included,
  exactly the upright page's);
* :func:`mixed_page`: a page with some of its lines standing on their heads in place,
  against :func:`~.pages.generate_page` of the same seed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from difftsr_ocr.evaluation.synthetic.degradation import degrade
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage, plan_page
from difftsr_ocr.evaluation.synthetic.phrases import PhrasePicker
from difftsr_ocr.evaluation.synthetic.placement import EDGE
from difftsr_ocr.evaluation.synthetic.render import DEFAULT_SIZE, LineSpec, TruthLine, line_outline, render_lines
from difftsr_ocr.evaluation.synthetic.scene import legible_colour, photo_backdrop

__all__ = ["ARC_DEGREES", "arc_curve", "arc_pages", "mixed_page", "turned_page"]

# The arcs the curved set draws from, in degrees of turning along the line.
ARC_DEGREES = (20.0, 120.0)
_ARC_ROWS = 6
# Share of a mixed page's lines that stand on their heads.
_TURNED_SHARE = 0.4
# Streams of a seed, apart from those the layouts and the damage use.
_ARC_STREAM = 11
_TURN_STREAM = 12


def arc_curve(degrees: float) -> float:
    """The renderer's ``curve`` (sagitta over arc length) of an arc turning by ``degrees``."""
    half = math.radians(degrees) / 2.0
    return (1.0 - math.cos(half)) / (2.0 * half)


def arc_pages(seed: int, size: tuple[int, int] = DEFAULT_SIZE) -> tuple[SyntheticPage, SyntheticPage]:
    """A page of arcs and its straight twin: one line per row, Latin and CJK taking turns.

    Every arc turns by a seeded angle within :data:`ARC_DEGREES`, bulging up or down; the
    twin draws the same text at the same size, centred at the same place, straight.
    Both get the same backdrop, ink colours and damage (``degrade`` with the same seed).
    """
    rng = np.random.default_rng((int(seed), _ARC_STREAM))
    width, height = int(size[0]), int(size[1])
    background = photo_backdrop(rng, width, height)
    texts = PhrasePicker(rng)
    band = (height - 2 * EDGE) / _ARC_ROWS
    curved: list[LineSpec] = []
    straight: list[LineSpec] = []
    for row in range(_ARC_ROWS):
        cjk = row % 2 == 1
        text = texts.cjk(4, 9) if cjk else texts.latin(24)
        size_px = int(rng.integers(36, 49))
        degrees = float(rng.uniform(*ARC_DEGREES))
        bend = arc_curve(degrees) * (1 if rng.random() < 0.5 else -1)
        spec = LineSpec(text, 0.0, 0.0, size=size_px, curve=bend, font="cjk" if cjk else "latin")
        centre = np.array([width / 2.0, EDGE + band * (row + 0.5)])
        pair = [_centred(spec, centre), _centred(dataclasses.replace(spec, curve=0.0), centre)]
        colour = legible_colour(rng, background, np.concatenate([line_outline(s) for s in pair]))
        curved.append(dataclasses.replace(pair[0], color=colour or (0, 0, 0)))
        straight.append(dataclasses.replace(pair[1], color=colour or (0, 0, 0)))
    return (
        _page(f"arcs-{seed:04d}", "arcs", seed, background, curved),
        _page(f"arcs-{seed:04d}-straight", "arcs", seed, background, straight),
    )


def turned_page(page: SyntheticPage) -> SyntheticPage:
    """``page`` rotated by 180 degrees: the same pixels, and its truth polygons turned with them."""
    height, width = page.clean.shape[:2]
    corner = np.array([width, height], dtype=np.float32)
    # Turning keeps each ring clockwise and its first point at the text's top-left as it reads.
    lines = [dataclasses.replace(line, polygon=corner - line.polygon) for line in page.lines]
    return dataclasses.replace(
        page,
        name=f"{page.name}-turned",
        clean=np.ascontiguousarray(page.clean[::-1, ::-1]),
        degraded=np.ascontiguousarray(page.degraded[::-1, ::-1]),
        lines=lines,
    )


def mixed_page(seed: int, layout: str, size: tuple[int, int] = DEFAULT_SIZE) -> SyntheticPage:
    """The page :func:`~.pages.generate_page` draws for (seed, layout), with a seeded share of its lines turned 180 degrees in place."""
    background, specs = plan_page(seed, layout, size)
    rng = np.random.default_rng((int(seed), _TURN_STREAM))
    count = max(1, round(_TURNED_SHARE * len(specs)))
    chosen = {int(i) for i in rng.choice(len(specs), size=min(count, len(specs)), replace=False)}
    turned = [_turned_in_place(spec) if index in chosen else spec for index, spec in enumerate(specs)]
    return _page(f"{layout}-{seed:04d}-mixed", layout, seed, background, turned)


def _centred(spec: LineSpec, centre: np.ndarray) -> LineSpec:
    outline = line_outline(spec)
    middle = (outline.min(axis=0) + outline.max(axis=0)) / 2.0
    x, y = centre - middle
    return dataclasses.replace(spec, x=float(x), y=float(y))


def _turned_in_place(spec: LineSpec) -> LineSpec:
    """The line turned by 180 degrees about the middle of its polygon's box."""
    before = line_outline(spec)
    turned = dataclasses.replace(spec, angle=spec.angle + 180.0)
    after = line_outline(turned)
    shift = (before.min(axis=0) + before.max(axis=0) - after.min(axis=0) - after.max(axis=0)) / 2.0
    return dataclasses.replace(turned, x=spec.x + float(shift[0]), y=spec.y + float(shift[1]))


def _page(name: str, layout: str, seed: int, background: np.ndarray, specs: list[LineSpec]) -> SyntheticPage:
    clean, lines = render_lines(specs, background=background)
    degraded, degradation = degrade(clean, seed)
    return SyntheticPage(
        name=name,
        layout=layout,
        seed=seed,
        clean=clean,
        degraded=degraded,
        lines=_reading_kinds(lines, specs),
        degradation=degradation,
    )


def _reading_kinds(lines: list[TruthLine], specs: list[LineSpec]) -> list[TruthLine]:
    # A line turned on its head is still the kind it was drawn as (its angle is +180).
    return [
        dataclasses.replace(line, kind="upside_down") if abs(abs(spec.angle) - 180.0) <= 90.0 else line
        for line, spec in zip(lines, specs, strict=True)
    ]
