"""The plumbing both PaddleOCR 3.x backends share: import, device, engine settings, model folders.

PaddleOCR's ``TextDetection`` and ``TextRecognition`` run ONNX files through its own
onnxruntime engine (``engine="onnxruntime"``; the ``paddle`` framework is never imported).
Each reads a model folder holding ``inference.onnx`` and ``inference.yml`` whose
``Global.model_name`` must be one of PaddleOCR's official names.

paddleocr is imported only when a backend is built (``pip install "difftsr-ocr[paddle]"``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import onnxruntime as ort
import yaml

from difftsr_ocr.errors import ConfigError, DeviceError, WeightsError
from difftsr_ocr.runtime.onnx import parse_device

__all__ = [
    "CONFIG_FILE",
    "MODEL_FILE",
    "PADDLE_INSTALL_HINT",
    "check_paddle_model_dir",
    "import_paddleocr",
    "paddle_device",
    "paddle_engine_config",
    "place_onnx_model",
]

PADDLE_INSTALL_HINT = 'pip install "difftsr-ocr[paddle]"'
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
