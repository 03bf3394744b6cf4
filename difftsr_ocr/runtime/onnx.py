"""ONNX Runtime sessions for the PP-OCR models, on exactly the device asked for.

ONNX Runtime quietly runs on the CPU when the CUDA provider is missing or fails to
load; here that is a :class:`DeviceError` instead, and the providers actually used
are logged. The default models are the ones shipped inside the ``rapidocr`` wheel,
found on disk without importing rapidocr (its import pulls in its whole config stack).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path

import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from difftsr_ocr.errors import ConfigError, DeviceError, WeightsError

__all__ = [
    "RAPIDOCR_VERSION",
    "create_session",
    "ocr_device",
    "parse_device",
    "rapidocr_model_path",
    "resolve_model_path",
]

logger = logging.getLogger(__name__)

# The wheel whose bundled models (PP-OCRv6 det/rec small) the defaults point at.
RAPIDOCR_VERSION = "3.10.0"

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
_DEVICE_PATTERN = re.compile(r"^(cpu|cuda)(?::(\d+))?$")
_LOAD_ERRORS = (
    ort_state.Fail,
    ort_state.InvalidArgument,
    ort_state.InvalidProtobuf,
    ort_state.NoSuchFile,
    ort_state.RuntimeException,
)


def rapidocr_model_path(file_name: str) -> Path:
    """The path of ``file_name`` inside the installed rapidocr wheel's ``models/`` folder."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise WeightsError(
            f"the default PP-OCR model {file_name} ships in the rapidocr wheel, which is not installed:"
            f' pip install "rapidocr=={RAPIDOCR_VERSION}" or pass model_path='
        )
    path = Path(spec.origin).parent / "models" / file_name
    if not path.is_file():
        raise WeightsError(
            f"{path} is missing from the installed rapidocr wheel:"
            f' pip install --force-reinstall "rapidocr=={RAPIDOCR_VERSION}" or pass model_path='
        )
    return path


def resolve_model_path(model_path: str | os.PathLike[str] | None, default_file: str) -> Path:
    """``model_path`` checked to exist, or the rapidocr-shipped ``default_file`` when None."""
    if model_path is None:
        return rapidocr_model_path(default_file)
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise WeightsError(
            f"ONNX model {path} does not exist: pass the path of an existing .onnx file,"
            f" or model_path=None for rapidocr's {default_file}"
        )
    return path


def create_session(
    model_path: str | os.PathLike[str],
    threads: int | None = None,
    device: str = "cpu",
) -> ort.InferenceSession:
    """An InferenceSession for ``model_path`` on ``device`` ("cpu", "cuda" or "cuda:N").

    ``threads`` caps ONNX Runtime's intra-op threads (None: its own default, one per
    core); set it when several workers share a machine.
    """
    kind, index = parse_device(device)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"threads={threads!r} is not a positive integer: pass e.g. threads=2, or None")

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Input shapes change with every page and batch; the arena would keep the
    # largest allocation ever seen for the life of the process.
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    # Idle worker threads sleep instead of spinning for the next operator: the pipeline
    # runs other work between (and beside) its model calls, and on a shared machine the
    # spinning costs about a quarter more CPU for the same outputs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

    providers: list[str | tuple[str, dict[str, str]]] = [_CPU]
    if kind == "cuda":
        available = ort.get_available_providers()
        if _CUDA not in available:
            raise DeviceError(
                f"device={device!r} but onnxruntime {ort.__version__} has no CUDA provider"
                f" (available: {', '.join(available)}): pip install onnxruntime-gpu, or use device='cpu'"
            )
        providers = [(_CUDA, {"device_id": str(index)}), _CPU]

    try:
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
    except _LOAD_ERRORS as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(
            f"onnxruntime cannot load {model_path} ({first_line}): replace it with a valid PP-OCR .onnx file"
        ) from error

    used = session.get_providers()
    logger.info("onnxruntime session for %s runs on %s", Path(model_path).name, ", ".join(used))
    if kind == "cuda" and (not used or used[0] != _CUDA):
        raise DeviceError(
            f"device={device!r} but onnxruntime could not start its CUDA provider for {model_path}"
            f" (running on {', '.join(used)}): check the CUDA/cuDNN libraries onnxruntime-gpu needs, or use device='cpu'"
        )
    return session


def ocr_device(device: str) -> str:
    """Where the OCR models run for a pipeline on ``device`` ("auto", "cpu", "cuda", "cuda:N").

    The restorer needs the GPU; the OCR models only profit from it. With onnxruntime's
    CUDA provider they share the restorer's GPU, without it (the plain ``onnxruntime``
    wheel) they run on the CPU, and the log says so once, with the fix.
    """
    if device == "cpu":
        return "cpu"
    kind, index = ("cuda", 0) if device == "auto" else parse_device(device)
    if kind == "cpu":
        return "cpu"
    if _CUDA in ort.get_available_providers():
        return f"cuda:{index}"
    if device != "auto":
        logger.warning(
            "device=%r: onnxruntime %s has no CUDA provider, so detection and recognition run on the CPU"
            " (pip install onnxruntime-gpu to run them on the GPU too)",
            device,
            ort.__version__,
        )
    return "cpu"


def parse_device(device: str) -> tuple[str, int]:
    """``("cpu", 0)`` or ``("cuda", N)`` for a device string; a ConfigError otherwise."""
    match = _DEVICE_PATTERN.match(device) if isinstance(device, str) else None
    if match is None:
        raise ConfigError(f"device={device!r} is not understood: use 'cpu', 'cuda' or 'cuda:N'")
    kind, index = match.group(1), match.group(2)
    if kind == "cpu" and index is not None:
        raise ConfigError(f"device={device!r}: the CPU takes no index, use 'cpu'")
    return kind, int(index or 0)
