"""Page geometry: line polygons, page layout, rectification, chunking, compositing.

Framework-free on purpose (numpy and OpenCV only, never torch), so the detector's
post-processing and every test of this package run without torch.
"""

from __future__ import annotations

from difftsr_ocr.geometry.chunks import Chunk, plan_chunks, split_crop, stitch_chunks
from difftsr_ocr.geometry.composite import composite, feather_mask, match_patch_colors
from difftsr_ocr.geometry.layout import PageLayout, arrange_lines
from difftsr_ocr.geometry.polygons import (
    VERTICAL_RATIO,
    centre_line,
    edges,
    is_vertical,
    line_height,
    line_length,
    line_polygon,
    order_quad_by_edge_direction,
    pad_polygon,
    polygon_bbox,
    text_height,
    upright_polygon,
)
from difftsr_ocr.geometry.rectify import LineWarp, Patch, plan_warp, rectify_line, unrectify
from difftsr_ocr.geometry.vertical import StripLayout, character_cells, lay_out_horizontally, stack_back

__all__ = [
    "VERTICAL_RATIO",
    "Chunk",
    "LineWarp",
    "PageLayout",
    "Patch",
    "StripLayout",
    "arrange_lines",
    "centre_line",
    "character_cells",
    "composite",
    "edges",
    "feather_mask",
    "is_vertical",
    "lay_out_horizontally",
    "line_height",
    "line_length",
    "line_polygon",
    "match_patch_colors",
    "order_quad_by_edge_direction",
    "pad_polygon",
    "plan_chunks",
    "plan_warp",
    "polygon_bbox",
    "rectify_line",
    "split_crop",
    "stack_back",
    "stitch_chunks",
    "text_height",
    "unrectify",
    "upright_polygon",
]
