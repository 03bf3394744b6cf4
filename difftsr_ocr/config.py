"""The pipeline's configuration: frozen plain data, with its defaults in one place.

``configs/pipeline_default.yaml`` is these defaults written out; a YAML file (or dict)
may set any subset. Unknown keys and wrong types are one-line ConfigErrors naming the
file and the key. The DiffTSR *model* config (official YAML shape) is separate:
:mod:`difftsr_ocr.models.config`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from difftsr_ocr.configschema import dataclass_from_mapping
from difftsr_ocr.detect.base import BOX_TYPES
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.gate import GateConfig
from difftsr_ocr.imageio import DEFAULT_MAX_PIXELS
from difftsr_ocr.restore.factory import RESTORER_KINDS as BUILDABLE_RESTORER_KINDS
from difftsr_ocr.samplers import LATENT_SAMPLERS
from difftsr_ocr.yamlfile import read_yaml

__all__ = [
    "OUTPUT_SCALES",
    "VERTICAL_LAYOUTS",
    "DetectorConfig",
    "LinesConfig",
    "OrientationConfig",
    "PipelineConfig",
    "RecognizerConfig",
    "RestorerConfig",
    "config_from_dict",
    "config_to_dict",
    "load_pipeline_config",
]

DETECTOR_BACKENDS = ("ppocr", "paddle")

# "none": the pipeline runs without a restoration stage.
RESTORER_KINDS = (*BUILDABLE_RESTORER_KINDS, "none")
# Whole factors only: every page pixel becomes a block of output pixels, so coordinates
# in the exports are the page's times the factor, exactly.
OUTPUT_SCALES = (1, 2, 3, 4)

# How a vertical line's crop is laid out: its characters upright side by side, or the
# whole column turned 90 degrees counter-clockwise (PP-OCR's way, glyphs on their side).
VERTICAL_LAYOUTS = ("auto", "upright", "rotated")


def _choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ConfigError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
    backend: str = "ppocr"
    # ppocr: an ONNX file (default: the PP-OCR model shipped in the rapidocr wheel);
    # paddle: a PaddleOCR model folder.
    model: str | None = None
    # PP-OCR / rapidocr defaults.
    limit_side_len: int = 736
    thresh: float = 0.3
    box_thresh: float = 0.5
    unclip_ratio: float = 1.6
    # quad | poly (detect/base.py; detect/postprocess.py says how bent lines are told apart).
    box_type: str = "poly"

    def __post_init__(self) -> None:
        _choice(self.backend, DETECTOR_BACKENDS, "detector.backend")
        _choice(self.box_type, BOX_TYPES, "detector.box_type")


@dataclasses.dataclass(frozen=True)
class RecognizerConfig:
    backend: str = "ppocr"
    model: str | None = None
    batch_size: int = 8

    def __post_init__(self) -> None:
        _choice(self.backend, DETECTOR_BACKENDS, "recognizer.backend")


@dataclasses.dataclass(frozen=True)
class OrientationConfig:
    """Lines whose text stands on its head: found, read and restored upright, pasted back as they stand."""

    enabled: bool = True
    # An ONNX file (default: PP-OCR's 0/180 classifier shipped in the rapidocr wheel).
    model: str | None = None
    # rapidocr's cls_thresh: the classifier is sure of a line's direction beyond it.
    threshold: float = 0.9

    def __post_init__(self) -> None:
        if not 0.5 < self.threshold < 1.0:
            raise ConfigError(f"orientation.threshold must lie strictly between 0.5 and 1, not {self.threshold}")


@dataclasses.dataclass(frozen=True)
class RestorerConfig:
    # auto: DiffTSR when both weight files are found, else classical (with a notice).
    kind: str = "auto"
    ckpt: str | None = None
    transocr: str | None = None
    # A DiffTSR model config in the official YAML shape (default: the official model).
    model_config: str | None = None
    # Official defaults: 200 DDIM steps, eta 0.2, no TDM refinement (general=True).
    # dpmpp_2m / unipc: multistep ODE solvers that need about 20 steps (README: what is proven).
    sampler: str = "ddim"
    steps: int = 200
    # DDIM only.
    eta: float = 0.2
    refine_text: bool = False
    posterior: str = "sample"
    precision: str = "fp32"
    batch_size: int | None = None
    # torch.compile the networks (CUDA: CUDA graphs); the first batch of each size compiles.
    compile: bool = False

    def __post_init__(self) -> None:
        _choice(self.kind, RESTORER_KINDS, "restorer.kind")
        _choice(self.sampler, LATENT_SAMPLERS, "restorer.sampler")
        if not 1 <= self.steps <= 999:
            raise ConfigError(f"restorer.steps must be within 1..999, not {self.steps}")
        if self.refine_text and self.sampler != "ddim":
            raise ConfigError(
                f"restorer.refine_text needs restorer.sampler: ddim (the TDM steps in lockstep with DDIM), "
                f"not {self.sampler!r}"
            )


@dataclasses.dataclass(frozen=True)
class LinesConfig:
    """How line crops are cut, split, and pasted back."""

    # Context kept around the strokes, in line heights (peers use 0.15 / 0.05).
    pad_x: float = 0.15
    pad_y: float = 0.05
    # DiffTSR's input is 512x128 with at most 24 characters: longer lines are split.
    max_aspect: float = 8.0
    max_chars: int = 24
    # Overlap between chunks, in line heights.
    chunk_overlap: float = 0.75
    # Match the restored crop's colour and brightness to the page under it. Off by default:
    # it also pulls a sharpened line's contrast back toward the blurry original.
    match_colors: bool = False
    # upright: a vertical CJK column's characters are set side by side, upright, for the
    # restorer and recogniser (both read horizontal lines of upright glyphs); rotated: the
    # column is turned 90 degrees as PP-OCR does, for vertical lines of Latin text (a page
    # scanned sideways); auto: each vertical line is read both ways and keeps the layout
    # the recogniser reads more confidently.
    vertical_layout: str = "auto"

    def __post_init__(self) -> None:
        _choice(self.vertical_layout, VERTICAL_LAYOUTS, "lines.vertical_layout")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    # "cpu", "cuda", "cuda:1", or "auto" (CUDA when available).
    device: str = "auto"
    seed: int = 0
    # 2, 3 or 4: the output page is that many times larger; restored lines carry the
    # restorer's own detail into it, the rest of the page is upscaled (Lanczos).
    output_scale: int = 1
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    # Intra-op threads of every stage (onnxruntime's detector and recogniser, torch's
    # restorer, process-wide); null: each library's default, one per core. Set it when
    # several workers share a machine (Ray actors, the batch prefetch thread).
    threads: int | None = None
    detector: DetectorConfig = dataclasses.field(default_factory=DetectorConfig)
    recognizer: RecognizerConfig = dataclasses.field(default_factory=RecognizerConfig)
    orientation: OrientationConfig = dataclasses.field(default_factory=OrientationConfig)
    restorer: RestorerConfig = dataclasses.field(default_factory=RestorerConfig)
    lines: LinesConfig = dataclasses.field(default_factory=LinesConfig)
    gate: GateConfig = dataclasses.field(default_factory=GateConfig)

    def __post_init__(self) -> None:
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be a positive integer or null, not {self.threads}")
        if self.output_scale not in OUTPUT_SCALES:
            raise ConfigError(
                f"output_scale must be one of {', '.join(map(str, OUTPUT_SCALES))}, not {self.output_scale}"
            )


def config_from_dict(data: Mapping[str, Any] | None, source: str = "<config>") -> PipelineConfig:
    """A PipelineConfig from a (partial) mapping; errors name ``source`` and the key."""
    try:
        return dataclass_from_mapping(PipelineConfig, data or {})
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def config_to_dict(config: PipelineConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def load_pipeline_config(path: str | os.PathLike[str]) -> PipelineConfig:
    document = read_yaml(path, "config file", "configs/pipeline_default.yaml")
    return config_from_dict(document, source=str(path))
