"""Where DiffTSR's weight files are looked for, how they are read, and how they load.

Two files come from the DiffTSR authors: ``DiffTSR.ckpt`` (a ``torch.save`` dict of four
state dicts: IDM_Unet, TDM_Decoder, MoM_module, VAE_model) and ``transocr.pth`` (the
TransOCR recogniser). We never download them and never execute code from them: pickles
are read with ``torch.load(weights_only=True)``, and both convert to safetensors.

Tensors are memory-mapped from disk and attached to networks built on the ``meta``
device (``load_state_dict(assign=True)``), so loading needs about the size of the
weights once, not twice as the official loader (random init, then a copy) does.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from difftsr_ocr.atomic import replacing
from difftsr_ocr.errors import WeightsError
from difftsr_ocr.models.difftsr import CHECKPOINT_COMPONENTS, DiffTSRNetworks
from difftsr_ocr.models.text_transformer import axial_key_spelling, normalize_axial_keys

__all__ = [
    "DIFFTSR_WEIGHTS",
    "TRANSOCR_WEIGHTS",
    "DiffTSRStateDicts",
    "KeyMismatch",
    "TransOCRStateDict",
    "WeightSpec",
    "compare_state_dict",
    "convert_difftsr_weights",
    "convert_transocr_weights",
    "default_weight_dirs",
    "find_weights",
    "load_difftsr_weights",
    "load_transocr_weights",
    "locate_weights",
    "read_difftsr_weights",
    "read_transocr_weights",
]

_PUBLISHED = "the DiffTSR authors publish it (Google Drive / Baidu links in github.com/YuzheZhang-1999/DiffTSR)"


@dataclasses.dataclass(frozen=True)
class WeightSpec:
    """What we know about one weight file: its names, its env var, where it comes from."""

    label: str
    env_var: str
    filenames: tuple[str, ...]
    published: str = _PUBLISHED


DIFFTSR_WEIGHTS = WeightSpec("DiffTSR weights", "DIFFTSR_CKPT", ("DiffTSR.safetensors", "DiffTSR.ckpt"))
TRANSOCR_WEIGHTS = WeightSpec("TransOCR weights", "DIFFTSR_TRANSOCR", ("transocr.safetensors", "transocr.pth"))


def default_weight_dirs() -> list[Path]:
    """Folders searched after the explicit path and the env var, in order."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    # ./ckpt is where the official repository keeps both files.
    return [cache / "difftsr_ocr", Path.cwd() / "ckpt"]


def _candidates(spec: WeightSpec) -> list[Path]:
    return [folder / name for folder in default_weight_dirs() for name in spec.filenames]


def find_weights(spec: WeightSpec, explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The weight file to use, or None when none is configured anywhere.

    An explicit path or env var that points nowhere is an error, not a fall-through:
    the user asked for that file.
    """
    for given, origin in ((explicit, "the given path"), (os.environ.get(spec.env_var), f"${spec.env_var}")):
        if given:
            path = Path(given).expanduser()
            if not path.exists():
                raise WeightsError(f"{path}: {spec.label} not found ({origin}); fix the path — {spec.published}")
            return path
    return next((path for path in _candidates(spec) if path.exists()), None)


def locate_weights(spec: WeightSpec, explicit: str | os.PathLike[str] | None = None) -> Path:
    path = find_weights(spec, explicit)
    if path is None:
        raise WeightsError(f"{spec.label} not found; {where_looked(spec)}")
    return path


def where_looked(spec: WeightSpec) -> str:
    places = ", ".join(str(p) for p in _candidates(spec))
    return f"looked in ${spec.env_var} and {places}; put {spec.filenames[-1]} there — {spec.published}"


# --- reading ----------------------------------------------------------------------------


def _reason(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else 'no detail'}"


def _torch_load(path: Path) -> object:
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as error:
            # Files from torch.save before 1.6 are not zip archives and cannot be mapped.
            if "mmap" not in str(error):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" in str(error):
            raise WeightsError(
                f"{path}: this pickle holds Python objects beyond tensors, and we never run code from checkpoints; "
                "re-save its state dict with torch.save(model.state_dict(), ...) or use the official file"
            ) from None
        raise WeightsError(
            f"{path}: not a PyTorch checkpoint ({_reason(error)}); check the file you downloaded"
        ) from None
    except Exception as error:
        # The unpickler fails on damaged bytes with whatever error it meets first
        # (IndexError, EOFError, RuntimeError, ...): all mean the file is damaged.
        raise WeightsError(
            f"{path}: unreadable or truncated checkpoint ({_reason(error)}); download it again"
        ) from None


def _safetensors_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(
            f"{path}: unreadable or truncated safetensors file ({_reason(error)}); convert it again"
        ) from None


def _is_tensor_dict(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(v, torch.Tensor) for v in value.values())


@dataclasses.dataclass(frozen=True)
class DiffTSRStateDicts:
    """The four official state dicts (keys already in our spelling) and how the file held them."""

    path: Path
    layout: str
    axial_spelling: str
    components: dict[str, dict[str, torch.Tensor]]


def read_difftsr_weights(path: str | os.PathLike[str]) -> DiffTSRStateDicts:
    """Read ``DiffTSR.ckpt``, a single safetensors file, or a folder of per-component files."""
    path = Path(path)
    if path.is_dir():
        components = {}
        for key in CHECKPOINT_COMPONENTS:
            matches = sorted(path.glob(f"*{key}.safetensors"))
            if len(matches) != 1:
                found = ", ".join(m.name for m in matches) or "none"
                raise WeightsError(f"{path}: expected one *{key}.safetensors in this folder, found {found}")
            components[key] = _safetensors_load(matches[0])
        layout = "folder of per-component safetensors files"
    elif path.suffix == ".safetensors":
        flat = _safetensors_load(path)
        components = {key: {} for key in CHECKPOINT_COMPONENTS}
        for name, tensor in flat.items():
            key, _, rest = name.partition(".")
            if key not in components:
                raise WeightsError(f"{path}: key {name!r} belongs to no DiffTSR component; is this a DiffTSR file?")
            components[key][rest] = tensor
        layout = "single safetensors file (component-prefixed keys)"
    else:
        loaded = _torch_load(path)
        if not isinstance(loaded, Mapping) or set(loaded) != set(CHECKPOINT_COMPONENTS):
            top = sorted(loaded)[:6] if isinstance(loaded, Mapping) else type(loaded).__name__
            raise WeightsError(
                f"{path}: not a DiffTSR.ckpt (top level should be {sorted(CHECKPOINT_COMPONENTS)}, found {top}); "
                "pass the DiffTSR.ckpt released by the authors"
            )
        if not all(_is_tensor_dict(v) for v in loaded.values()):
            raise WeightsError(f"{path}: a component of this checkpoint is not a state dict of tensors")
        components = {key: dict(value) for key, value in loaded.items()}
        layout = "official DiffTSR.ckpt (torch.save dict of 4 state dicts)"
    spelling = axial_key_spelling(components["TDM_Decoder"])
    components["TDM_Decoder"] = normalize_axial_keys(components["TDM_Decoder"])
    return DiffTSRStateDicts(path=path, layout=layout, axial_spelling=spelling, components=components)


@dataclasses.dataclass(frozen=True)
class TransOCRStateDict:
    path: Path
    layout: str
    state_dict: dict[str, torch.Tensor]


def _strip_transocr_prefixes(weights: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    """Apply the official loader's key rules, then drop the DataParallel prefix it loads into."""
    if "state_dict" in weights:
        # The official loader loads the wrapped dict into the bare model, keys untouched.
        inner = weights["state_dict"]
        if not _is_tensor_dict(inner):
            raise WeightsError("'state_dict' entry is not a dict of tensors")
        return dict(inner), "'state_dict' wrapper around bare keys"
    if not _is_tensor_dict(weights):
        raise WeightsError("not a dict of tensors")
    renamed = {key.replace("module.module.", "module."): value for key, value in weights.items()}
    if renamed and all(key.startswith("module.") for key in renamed):
        doubled = any(key.startswith("module.module.") for key in weights)
        prefix = "'module.module.'" if doubled else "'module.'"
        return {
            key.removeprefix("module."): value for key, value in renamed.items()
        }, f"state dict with {prefix} prefixes"
    return dict(weights), "state dict with bare keys"


def read_transocr_weights(path: str | os.PathLike[str]) -> TransOCRStateDict:
    path = Path(path)
    loaded = _safetensors_load(path) if path.suffix == ".safetensors" else _torch_load(path)
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"{path}: not a TransOCR state dict (found {type(loaded).__name__}); pass transocr.pth")
    try:
        state_dict, layout = _strip_transocr_prefixes(loaded)
    except WeightsError as error:
        raise WeightsError(f"{path}: {error}; pass the transocr.pth released by the DiffTSR authors") from None
    return TransOCRStateDict(path=path, layout=layout, state_dict=state_dict)


# --- checking and loading ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeyMismatch:
    missing: list[str]
    unexpected: list[str]
    misshaped: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # key, expected, found

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misshaped)

    def summary(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing (e.g. {self.missing[0]})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected (e.g. {self.unexpected[0]})")
        if self.misshaped:
            key, want, got = self.misshaped[0]
            parts.append(f"{len(self.misshaped)} mis-shaped (e.g. {key}: {list(got)} instead of {list(want)})")
        return "; ".join(parts)


def compare_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> KeyMismatch:
    """What a strict ``load_state_dict`` would reject, found without touching any weights."""
    expected = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    return KeyMismatch(
        missing=[key for key in expected if key not in state_dict],
        unexpected=[key for key in state_dict if key not in expected],
        misshaped=[
            (key, shape, tuple(state_dict[key].shape))
            for key, shape in expected.items()
            if key in state_dict and tuple(state_dict[key].shape) != shape
        ],
    )


def _attach(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str, path: Path) -> None:
    mismatch = compare_state_dict(module, state_dict)
    if not mismatch.ok:
        raise WeightsError(
            f"{path}: {what} does not fit this model config: {mismatch.summary()}; "
            "check that the config matches the checkpoint (python -m difftsr_ocr.weights_cli check)"
        )
    module.load_state_dict(state_dict, strict=True, assign=True)
    leftover = [name for name, tensor in [*module.named_parameters(), *module.named_buffers()] if tensor.is_meta]
    if leftover:
        raise RuntimeError(f"{what}: tensors not covered by the state dict: {leftover[:3]}")


def load_difftsr_weights(
    networks: DiffTSRNetworks, weights: str | os.PathLike[str] | DiffTSRStateDicts
) -> DiffTSRStateDicts:
    """Attach DiffTSR weights (strictly) to networks, typically built on ``meta``."""
    read = weights if isinstance(weights, DiffTSRStateDicts) else read_difftsr_weights(weights)
    for key, state_dict in read.components.items():
        _attach(networks.component(key), state_dict, key, read.path)
    return read


def load_transocr_weights(model: nn.Module, weights: str | os.PathLike[str] | TransOCRStateDict) -> TransOCRStateDict:
    read = weights if isinstance(weights, TransOCRStateDict) else read_transocr_weights(weights)
    _attach(model, read.state_dict, "TransOCR", read.path)
    return read


# --- conversion --------------------------------------------------------------------------


def _save_safetensors(tensors: Mapping[str, torch.Tensor], destination: Path, source: Path) -> None:
    contiguous = {key: value.contiguous() for key, value in tensors.items()}
    with replacing(destination) as partial:
        save_file(contiguous, partial, metadata={"format": "pt", "converted_from": source.name})
        # safetensors creates the file owner-only; give it the permissions of any new file.
        umask = os.umask(0)
        os.umask(umask)
        partial.chmod(0o666 & ~umask)


def convert_difftsr_weights(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], per_component: bool = False
) -> list[Path]:
    """Write DiffTSR weights as one safetensors file, or as a folder with one file per component."""
    read = read_difftsr_weights(source)
    destination = Path(destination)
    if not per_component:
        flat = {f"{key}.{name}": tensor for key, sd in read.components.items() for name, tensor in sd.items()}
        _save_safetensors(flat, destination, read.path)
        return [destination]
    written = []
    for key, state_dict in read.components.items():
        target = destination / f"{key}.safetensors"
        _save_safetensors(state_dict, target, read.path)
        written.append(target)
    return written


def convert_transocr_weights(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Write TransOCR weights as safetensors with bare keys."""
    read = read_transocr_weights(source)
    destination = Path(destination)
    _save_safetensors(read.state_dict, destination, read.path)
    return destination
