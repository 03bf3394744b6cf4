"""Upstream's test set as pages: its degraded lines stacked on paper, and the official SR as a restorer.

``../shared/upstream_testset`` holds degraded 512x128 lines (``*_lr_*``) and what the
official DiffTSR with its real weights made of them (``*_sr_*``). Stacked on a white
page, the LR lines go through detection, cutting and reading like any page; the
restorer built by :func:`official_sr_restorer` returns, for each line region, the same
region of the page of SR images: what a user who brings the real weights gets.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from difftsr_ocr.evaluation.oracles import OracleRestorer, cut_like
from difftsr_ocr.imageio import load_image
from difftsr_ocr.pipeline import PreparedPage

__all__ = ["GAP", "official_sr_restorer", "stack_on_page", "upstream_pages", "upstream_pairs"]

GAP = 40  # white paper between the stacked line images and around them


def upstream_pairs(folder: str | os.PathLike[str]) -> list[tuple[str, Path, Path]]:
    """(set name, LR file, SR file) for every LR image that has its SR counterpart, in file order."""
    pairs = []
    for lr_dir in sorted(Path(folder).glob("*_lr_*")):
        sr_dir = lr_dir.parent / lr_dir.name.replace("_lr_", "_sr_")
        for lr in sorted(lr_dir.glob("*.png"), key=lambda p: (len(p.stem), p.stem)):
            sr = sr_dir / lr.name
            if sr.exists():
                pairs.append((lr_dir.name.replace("_lr_", "_"), lr, sr))
    return pairs


def stack_on_page(images: list[np.ndarray]) -> np.ndarray:
    """The images one below the other on white paper, ``GAP`` pixels apart and from the edges."""
    width = max(image.shape[1] for image in images) + 2 * GAP
    height = sum(image.shape[0] + GAP for image in images) + GAP
    page = np.full((height, width, 3), 255, np.uint8)
    top = GAP
    for image in images:
        page[top : top + image.shape[0], GAP : GAP + image.shape[1]] = image
        top += image.shape[0] + GAP
    return page


def upstream_pages(pairs: list[tuple[str, Path, Path]]) -> tuple[np.ndarray, np.ndarray]:
    """The page of stacked LR images and the page of their SR images, laid out alike."""
    lr = stack_on_page([load_image(path).pixels for _, path, _ in pairs])
    sr = stack_on_page([load_image(path).pixels for _, _, path in pairs])
    return lr, sr


def official_sr_restorer(prepared: PreparedPage, sr_page: np.ndarray) -> OracleRestorer:
    """A restorer returning, for each line of ``prepared`` (the LR page), its region of ``sr_page``."""
    restorer = OracleRestorer("upstream-sr")
    for line in prepared.lines:
        restorer.add_line(line, cut_like(sr_page, line))
    return restorer
