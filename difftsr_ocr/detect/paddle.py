"""PaddleOCR 3.x text detection as a :class:`Detector`, fully offline.

PaddleOCR's ``TextDetection`` runs ONNX files through its own onnxruntime engine
(``engine="onnxruntime"``; the ``paddle`` framework is never imported). It reads a
model folder holding ``inference.onnx`` and ``inference.yml``, and the yml's
``Global.model_name`` must be one of its official names. :func:`write_paddle_det_model_dir`
builds such a folder around rapidocr's bundled PP-OCRv6 detector, with rapidocr's
settings (mean/std 0.5, dilation on), so both backends find the same boxes::

    model_dir = write_paddle_det_model_dir("models/paddle_det")
    detector = PaddleDetector(model_dir)

paddleocr is imported only when a backend is built (``pip install "difftsr-ocr[paddle]"``).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnxruntime as ort
import yaml

from difftsr_ocr.detect.base import TextRegion, check_page_image, sort_reading_order
from difftsr_ocr.detect.ppocr import DEFAULT_DET_MODEL
from difftsr_ocr.detect.session import parse_device, resolve_model_path
from difftsr_ocr.errors import ConfigError, DeviceError, WeightsError

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_PADDLE_DET_MODEL_NAME",
    "MODEL_FILE",
    "PADDLE_INSTALL_HINT",
    "PaddleDetector",
    "check_paddle_model_dir",
    "import_paddleocr",
    "paddle_device",
    "paddle_engine_config",
    "place_onnx_model",
    "write_paddle_det_model_dir",
]

logger = logging.getLogger(__name__)

PADDLE_INSTALL_HINT = 'pip install "difftsr-ocr[paddle]"'
# PaddleOCR's official name for the architecture of rapidocr's PP-OCRv6_det_small.onnx.
DEFAULT_PADDLE_DET_MODEL_NAME = "PP-OCRv6_small_det"
MODEL_FILE = "inference.onnx"
CONFIG_FILE = "inference.yml"


def import_paddleocr() -> ModuleType:
    """The ``paddleocr`` module, or a ConfigError saying how to install it."""
    # We only ever load local model folders, so paddlex must not probe the model
    # hosts (a network round trip at import time); a user's explicit setting wins.
    os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
    try:
        import paddleocr
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != "paddleocr":
            raise
        raise ConfigError(
            f"the PaddleOCR backend needs paddleocr, which is not installed: {PADDLE_INSTALL_HINT}"
        ) from error
    return paddleocr


def paddle_device(device: str) -> str:
    """Our device string ("cpu", "cuda", "cuda:N") in PaddleOCR's spelling ("cpu", "gpu:N")."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return "cpu"
    # paddlex would raise a RuntimeError deep inside; say it here, with the fix.
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise DeviceError(
            f"device={device!r} but onnxruntime {ort.__version__} has no CUDA provider:"
            " pip install onnxruntime-gpu, or use device='cpu'"
        )
    return f"gpu:{index}"


def paddle_engine_config(threads: int | None) -> dict[str, Any] | None:
    """paddlex's onnxruntime engine settings for a thread cap (None: its defaults)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads={threads!r} is not a positive integer: pass e.g. threads=2, or None")
    return {"intra_op_num_threads": threads, "inter_op_num_threads": 1}


def check_paddle_model_dir(model_dir: str | os.PathLike[str], model_name: str, writer: str) -> Path:
    """``model_dir`` checked to hold a model PaddleOCR will load under ``model_name``."""
    folder = Path(model_dir).expanduser()
    for needed in (MODEL_FILE, CONFIG_FILE):
        if not (folder / needed).is_file():
            raise WeightsError(
                f"{folder / needed} does not exist: create the folder with difftsr_ocr.{writer}({str(folder)!r})"
            )
    try:
        config = yaml.safe_load((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise WeightsError(
            f"{folder / CONFIG_FILE} is not readable YAML ({type(error).__name__}): rewrite it with difftsr_ocr.{writer}"
        ) from error
    found = config.get("Global", {}).get("model_name") if isinstance(config, dict) else None
    if found != model_name:
        raise ConfigError(
            f"{folder / CONFIG_FILE} names model {found!r} but model_name={model_name!r}: pass model_name={found!r}"
            " or fix Global.model_name in the file"
        )
    return folder


def place_onnx_model(onnx_path: Path, target_dir: Path, link: bool) -> None:
    """Put ``onnx_path`` at ``target_dir/inference.onnx`` (a symlink, or a copy when ``link`` is False)."""
    target = target_dir / MODEL_FILE
    if target.exists() and not target.is_symlink():
        raise ConfigError(f"{target} already holds a model file: write the model folder into an empty directory")
    if target.is_symlink():
        target.unlink()
    if link:
        target.symlink_to(onnx_path.resolve())
    else:
        shutil.copyfile(onnx_path, target)


def write_paddle_det_model_dir(
    target_dir: str | os.PathLike[str],
    onnx_path: str | os.PathLike[str] | None = None,
    model_name: str = DEFAULT_PADDLE_DET_MODEL_NAME,
    thresh: float = 0.3,
    box_thresh: float = 0.5,
    max_candidates: int = 1000,
    unclip_ratio: float = 1.6,
    link: bool = True,
) -> Path:
    """Write a PaddleOCR detection model folder around a PP-OCR ONNX detector; returns the folder.

    ``onnx_path`` defaults to rapidocr's bundled ``PP-OCRv6_det_small.onnx``. The resize
    limits in the yml are ignored by PaddleOCR: :class:`PaddleDetector` passes its own.
    """
    source = resolve_model_path(onnx_path, DEFAULT_DET_MODEL)
    folder = Path(target_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    place_onnx_model(source, folder, link)
    config = {
        "Global": {"model_name": model_name},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetLabelEncode": None},
                {"DetResizeForTest": {"limit_side_len": 736, "limit_type": "min"}},
                # rapidocr's Det.mean/std for the v6 detector (not ImageNet's).
                {
                    "NormalizeImage": {
                        "mean": [0.5, 0.5, 0.5],
                        "std": [0.5, 0.5, 0.5],
                        "scale": "1./255.",
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": thresh,
            "box_thresh": box_thresh,
            "max_candidates": max_candidates,
            "unclip_ratio": unclip_ratio,
            "use_dilation": True,
            "score_mode": "fast",
        },
    }
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    logger.info("wrote PaddleOCR detection model folder %s (model %s)", folder, source)
    return folder


class PaddleDetector:
    """PaddleOCR ``TextDetection`` on a local model folder: page -> quads in reading order."""

    name = "paddle"

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        model_name: str = DEFAULT_PADDLE_DET_MODEL_NAME,
        limit_side_len: int = 736,
        limit_type: str = "min",
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
        max_side_len: int = 2000,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        if limit_type not in ("min", "max"):
            raise ConfigError(f"limit_type={limit_type!r} is not one of min, max")
        self.model_dir = check_paddle_model_dir(model_dir, model_name, "detect.paddle.write_paddle_det_model_dir")
        self.max_side_len = max_side_len
        paddleocr = import_paddleocr()
        self._predictor = paddleocr.TextDetection(
            model_name=model_name,
            model_dir=str(self.model_dir),
            engine="onnxruntime",
            engine_config=paddle_engine_config(threads),
            device=paddle_device(device),
            limit_side_len=limit_side_len,
            limit_type=limit_type,
            thresh=thresh,
            box_thresh=box_thresh,
            unclip_ratio=unclip_ratio,
        )

    def detect(self, image: np.ndarray) -> list[TextRegion]:
        """Text regions on ``image`` (H x W x 3 uint8 RGB), top-to-bottom then left-to-right."""
        page = check_page_image(image, f"{type(self).__name__}.detect")
        # PaddleOCR takes arrays as OpenCV's BGR.
        bgr = np.ascontiguousarray(page[:, :, ::-1])
        (result,) = self._predictor.predict(bgr, max_side_limit=self.max_side_len)
        polygons = np.asarray(result["dt_polys"], dtype=np.float32).reshape(-1, 4, 2)
        scores = np.asarray(result["dt_scores"], dtype=np.float32).reshape(-1)
        regions = [
            TextRegion(polygon=polygon, score=float(score)) for polygon, score in zip(polygons, scores, strict=True)
        ]
        return sort_reading_order(regions)
