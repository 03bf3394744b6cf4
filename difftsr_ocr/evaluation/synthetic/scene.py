"""The scene layout family: signage on photo-like backdrops."""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from difftsr_ocr.evaluation.synthetic.phrases import PhrasePicker
from difftsr_ocr.evaluation.synthetic.placement import EDGE, Placer
from difftsr_ocr.evaluation.synthetic.render import LineSpec, line_extent, line_outline

__all__ = ["legible_colour", "photo_backdrop", "plan_scene"]


def photo_backdrop(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A photo-like backdrop: smooth colour gradients, soft blobs and a little sensor texture."""
    grid = rng.uniform(20.0, 235.0, (int(rng.integers(2, 4)), int(rng.integers(2, 4)), 3)).astype(np.float32)
    page = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    # Blobs are drawn at quarter resolution, premultiplied, then blurred and upscaled.
    small = (max(1, width // 4), max(1, height // 4))
    paint = np.zeros((small[1], small[0], 3), np.float32)
    cover = np.zeros((small[1], small[0]), np.float32)
    for _ in range(int(rng.integers(6, 15))):
        centre = (int(rng.integers(0, small[0])), int(rng.integers(0, small[1])))
        axes = (
            max(1, int(rng.uniform(0.05, 0.3) * min(small))),
            max(1, int(rng.uniform(0.05, 0.3) * min(small))),
        )
        angle = float(rng.uniform(0.0, 180.0))
        opacity = float(rng.uniform(0.4, 0.9))
        colour = rng.uniform(0.0, 255.0, 3) * opacity
        cv2.ellipse(paint, centre, axes, angle, 0, 360, tuple(float(c) for c in colour), -1)
        cv2.ellipse(cover, centre, axes, angle, 0, 360, opacity, -1)
    sigma = float(rng.uniform(3.0, 10.0))
    paint = cv2.resize(cv2.GaussianBlur(paint, (0, 0), sigma), (width, height), interpolation=cv2.INTER_LINEAR)
    cover = cv2.resize(cv2.GaussianBlur(cover, (0, 0), sigma), (width, height), interpolation=cv2.INTER_LINEAR)
    page = page * (1.0 - cover[:, :, None]) + paint
    texture = rng.normal(0.0, float(rng.uniform(2.0, 5.0)), (height, width)).astype(np.float32)
    page += cv2.GaussianBlur(texture, (0, 0), 0.8)[:, :, None]
    return np.clip(np.rint(page), 0, 255).astype(np.uint8)


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_CONTRAST = 80.0  # grey levels between the text and (almost) all of its background


def legible_colour(
    rng: np.random.Generator, background: np.ndarray, outline: np.ndarray
) -> tuple[int, int, int] | None:
    """A random ink colour legible against the background under the polygon, or None if none is."""
    height, width = background.shape[:2]
    x0, y0 = max(0, math.floor(outline[:, 0].min())), max(0, math.floor(outline[:, 1].min()))
    x1, y1 = min(width, math.ceil(outline[:, 0].max())), min(height, math.ceil(outline[:, 1].max()))
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.rint(outline - (x0, y0)).astype(np.int32)], 1)
    luma = (background[y0:y1, x0:x1].astype(np.float32) @ _LUMA)[mask > 0]
    if luma.size == 0:
        return None
    darkest, brightest = float(np.percentile(luma, 3)), float(np.percentile(luma, 97))
    dark_room, light_room = darkest - _CONTRAST, 255.0 - _CONTRAST - brightest
    if max(dark_room, light_room) < 0:
        return None
    if dark_room >= light_room:
        colour = rng.uniform(0.0, 1.0, 3) * min(dark_room, 110.0)
        return tuple(int(c) for c in np.floor(colour))  # type: ignore[return-value]
    colour = 255.0 - rng.uniform(0.0, 1.0, 3) * min(light_room, 110.0)
    return tuple(int(c) for c in np.ceil(colour))  # type: ignore[return-value]


def plan_scene(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, list[LineSpec]]:
    """Signage on a photo: large, coloured, rotated, curved and vertical text placed at random."""
    background = photo_backdrop(rng, width, height)
    texts = PhrasePicker(rng)
    plan = [
        LineSpec(
            texts.latin(24),
            0.0,
            0.0,
            size=int(rng.integers(36, 57)),
            angle=float(rng.uniform(-8.0, 8.0)),
            curve=float(rng.uniform(0.08, 0.2)) * (1 if rng.random() < 0.5 else -1),
        ),
        LineSpec(texts.cjk(3, 6), 0.0, 0.0, size=int(rng.integers(32, 57)), vertical=True, font="cjk"),
    ]
    for _ in range(int(rng.integers(5, 9)) - 2):
        angle = float(rng.uniform(-30.0, 30.0)) if rng.random() < 0.6 else 0.0
        size = int(rng.integers(28, 65))
        if rng.random() < 0.5:
            plan.append(LineSpec(texts.cjk(2, 8), 0.0, 0.0, size=size, angle=angle, font="cjk"))
        else:
            font = "latin_bold" if rng.random() < 0.4 else "latin"
            plan.append(LineSpec(texts.latin(22), 0.0, 0.0, size=size, angle=angle, font=font))

    placer = Placer(width, height)
    specs: list[LineSpec] = []
    for planned in plan:
        spec = planned
        for attempt in range(60):
            if attempt and attempt % 20 == 0:
                spec = dataclasses.replace(spec, size=max(20, int(spec.size * 0.85)))
            x0, y0, x1, y1 = line_extent(spec)
            if x1 - x0 > width - 2 * EDGE or y1 - y0 > height - 2 * EDGE:
                spec = dataclasses.replace(spec, size=max(20, int(spec.size * 0.85)))
                continue
            x = float(rng.uniform(EDGE - x0, width - EDGE - x1))
            y = float(rng.uniform(EDGE - y0, height - EDGE - y1))
            outline = line_outline(dataclasses.replace(spec, x=x, y=y))
            if not placer.fits(outline):
                continue
            colour = legible_colour(rng, background, outline)
            if colour is None:
                continue
            placer.add(outline)
            specs.append(dataclasses.replace(spec, x=x, y=y, color=colour))
            break
    return background, specs
