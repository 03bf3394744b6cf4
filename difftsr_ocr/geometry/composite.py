"""Paste restored line patches back into the page without seams.

Each patch (from :func:`.rectify.unrectify`) is blended with a feathered weight: zero
outside its coverage mask and ramping up to one over a band proportional to the text
height, so the page outside the lines is never touched and a restored line fades into
its surroundings. Where lines overlap their patches are averaged by weight. Blending
runs tile by tile, so no float array the size of the page is ever allocated besides
the uint8 output (pages can be 10k pixels wide, and skewed lines chain their boxes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.geometry.rectify import Patch

__all__ = ["composite", "feather_mask", "match_patch_colors"]

# Accumulators are tile-sized (20 bytes a pixel), bounding memory on huge pages.
_TILE = 1024


def feather_mask(mask: np.ndarray, text_height: float, feather: float = 0.1) -> np.ndarray:
    """Float32 weights in [0, 1]: zero outside ``mask``, one deeper than the band inside.

    The band is ``feather * text_height`` pixels (at least one); the ramp follows the
    Euclidean distance to the mask's edge, i.e. an erosion by the band blurred linearly.
    """
    if feather < 0:
        raise ConfigError(f"feather must be >= 0 (a fraction of the text height), got {feather}")
    band = max(1.0, feather * text_height)
    # A zero border makes the patch's own edge count as the mask's edge.
    padded = np.pad(mask.astype(np.uint8), 1)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    # Distance is 1 on the outermost mask pixel; start the ramp there, not at zero weight.
    return np.clip(distance / band, 0.0, 1.0).astype(np.float32)


def match_patch_colors(image: np.ndarray, mask: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``image`` with each channel's mean and spread inside ``mask`` set to ``reference``'s.

    Restorers drift in brightness and tint; matching the statistics of the page under
    the line keeps a restored line from standing out as a lighter or darker band. The
    spread is matched too, which also pulls a sharpened line's contrast back towards
    the blurred original's: use it against drift, not by default.
    """
    if not mask.any():
        return image
    mask_u8 = mask.astype(np.uint8)
    mean_s, std_s = (values.ravel() for values in cv2.meanStdDev(image, mask=mask_u8))
    mean_t, std_t = (values.ravel() for values in cv2.meanStdDev(reference, mask=mask_u8))
    # A flat channel has no spread to rescale; shifting its mean is all that is defined.
    gain = np.where(std_s > 1.0, std_t / np.maximum(std_s, 1.0), 1.0).astype(np.float32)
    offset = (mean_t - mean_s * gain).astype(np.float32)
    matched = image.astype(np.float32) * gain + offset
    matched[~mask] = 0
    return np.clip(np.rint(matched), 0, 255).astype(np.uint8)


def composite(
    canvas: np.ndarray,
    patches: Sequence[Patch],
    *,
    feather: float = 0.1,
    match_colors: bool = False,
    in_place: bool = False,
) -> np.ndarray:
    """``canvas`` with the patches blended in: a new array, or ``canvas`` itself when ``in_place``.

    ``canvas`` is the page at the resolution the patches were made for (the page itself,
    or the page upscaled by the output scale, see :mod:`difftsr_ocr.restore.background`);
    a caller that owns it blends in place, so that a 4x page does not exist twice.
    """
    if not isinstance(canvas, np.ndarray) or canvas.dtype != np.uint8 or canvas.ndim != 3 or canvas.shape[2] != 3:
        raise InputImageError(
            f"page must be an H x W x 3 uint8 RGB array, got shape {getattr(canvas, 'shape', None)}"
            f" dtype {getattr(canvas, 'dtype', type(canvas).__name__)}"
        )
    for patch in patches:
        _check_patch(patch, canvas.shape[1], canvas.shape[0])
    if not in_place:
        canvas = canvas.copy()
    if not patches:
        return canvas
    layers = []
    for patch in patches:
        x0, y0, x1, y1 = patch.bbox
        image = patch.image
        if match_colors:
            image = match_patch_colors(image, patch.mask, canvas[y0:y1, x0:x1])
        layers.append((image.astype(np.float32), feather_mask(patch.mask, patch.text_height, feather)))
    boxes = np.array([patch.bbox for patch in patches])
    for ty in range(0, canvas.shape[0], _TILE):
        for tx in range(0, canvas.shape[1], _TILE):
            tile = (tx, ty, min(tx + _TILE, canvas.shape[1]), min(ty + _TILE, canvas.shape[0]))
            hits = np.flatnonzero(
                (boxes[:, 0] < tile[2]) & (boxes[:, 2] > tile[0]) & (boxes[:, 1] < tile[3]) & (boxes[:, 3] > tile[1])
            )
            if hits.size:
                _blend_tile(canvas, tile, [(patches[i].bbox, *layers[i]) for i in hits])
    return canvas


def _blend_tile(
    canvas: np.ndarray,
    tile: tuple[int, int, int, int],
    layers: list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]],
) -> None:
    tx0, ty0, tx1, ty1 = tile
    background = canvas[ty0:ty1, tx0:tx1]
    total = np.zeros(background.shape, np.float32)
    weight_sum = np.zeros(background.shape[:2], np.float32)
    weight_max = np.zeros(background.shape[:2], np.float32)
    for (x0, y0, x1, y1), image, weight in layers:
        # The part of the patch inside the tile, in tile and in patch coordinates.
        ix0, iy0, ix1, iy1 = max(x0, tx0), max(y0, ty0), min(x1, tx1), min(y1, ty1)
        tile_part = (slice(iy0 - ty0, iy1 - ty0), slice(ix0 - tx0, ix1 - tx0))
        patch_part = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
        part_weight = weight[patch_part]
        total[tile_part] += image[patch_part] * part_weight[:, :, None]
        weight_sum[tile_part] += part_weight
        np.maximum(weight_max[tile_part], part_weight, out=weight_max[tile_part])
    # The weighted mean of the patches, laid over the page with the strongest patch's
    # weight; where no patch reaches, alpha is 0 and the page comes back bit for bit.
    mean = total / np.maximum(weight_sum, 1e-12)[:, :, None]
    alpha = weight_max[:, :, None]
    blended = background.astype(np.float32) * (1.0 - alpha) + mean * alpha
    background[...] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _check_patch(patch: Patch, width: int, height: int) -> None:
    x0, y0, x1, y1 = patch.bbox
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise ValueError(
            f"patch box ({x0},{y0})-({x1},{y1}) leaves the {width}x{height} canvas; unrectify with the same scale"
        )
    if patch.image.shape != (*patch.mask.shape, 3) or patch.image.dtype != np.uint8:
        raise ValueError(
            f"patch image {patch.image.shape} {patch.image.dtype} does not match its mask {patch.mask.shape}"
        )
    if not math.isfinite(patch.text_height) or patch.text_height <= 0:
        raise ValueError(f"patch text height must be a positive number, got {patch.text_height}")
