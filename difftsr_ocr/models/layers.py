"""Small layers shared by the DiffTSR networks.

GroupNorm32 and timestep_embedding follow ``model/IDM/modules/diffusionmodules/util.py`` of the official code
(DiffTSR @ f983963), which the U-Net (and the KL-VAE's normalisation) rely on.
"""

from __future__ import annotations

import functools
import logging
import math
import time
import weakref
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CpuFastConv2d", "CpuFastLinear", "GroupNorm32", "cpu_kernels", "timestep_embedding"]

logger = logging.getLogger(__name__)


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 and returned in the input's dtype.

    Upstream's ``GroupNorm32`` casts the input to float32 and back, so half-precision
    activations (autocast, or a model cast to fp16/bf16) are normalised in float32.
    For float32 inputs this is exactly :class:`torch.nn.GroupNorm`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 and (self.weight is None or self.weight.dtype == torch.float32):
            return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        weight = None if self.weight is None else self.weight.float()
        bias = None if self.bias is None else self.bias.float()
        return F.group_norm(x.float(), self.num_groups, weight, bias, self.eps).to(x.dtype)


def _cpu_inference(x: torch.Tensor, layer: nn.Module) -> bool:
    """A float32 CPU call outside autograd and outside torch.compile's tracing (which picks its own kernels)."""
    weight = layer.weight
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and not torch.compiler.is_compiling()
        and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
    )


def _best_seconds(first: Callable[[], object], second: Callable[[], object], repeats: int = 5) -> tuple[float, float]:
    """The best of ``repeats`` timings of each, taken in turns so that a load spike hits both."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, spent in zip((first, second), times, strict=True):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


# A kernel replaces PyTorch's default only when a probe finds it this much faster on the CPU at
# hand: near a tie the choice could flip between processes, and with it the last bits of results.
_CLEAR_WIN = 1.25


@functools.cache
def _onednn_available() -> bool:
    # The fused oneDNN ops inductor uses on CPU; absent from builds without oneDNN (some ARM wheels).
    try:
        with torch.inference_mode():
            x, weight = torch.ones(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
            packed = torch._C._nn.mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), [0, 0], [1, 1], [1, 1], 1, None)
            torch.ops.mkldnn._convolution_pointwise(x, packed, None, [0, 0], [1, 1], [1, 1], 1, "none", [], "")
            torch.ops.mkldnn._linear_pointwise(x[0, 0], weight[0, 0], None, "none", [], "")
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    return torch.backends.mkldnn.is_available()


@functools.cache
def _onednn_matmul_wins() -> bool:
    """Whether oneDNN's matmul clearly beats the BLAS behind torch's float32 linear on this CPU.

    Measured on a 2-core AMD EPYC (AVX-512): MKL's sgemm ran 2.5-3x slower than oneDNN at the
    U-Net's shapes (MKL keeps its widest kernels for Intel CPUs); elsewhere the two may be even.
    """
    if not _onednn_available():
        return False
    with torch.inference_mode():
        x, weight = torch.randn(256, 1024), torch.randn(1024, 1024)
        blas, onednn = _best_seconds(
            lambda: F.linear(x, weight), lambda: torch.ops.mkldnn._linear_pointwise(x, weight, None, "none", [], "")
        )
    logger.info("float32 linear on CPU: BLAS %.1f ms, oneDNN %.1f ms", 1e3 * blas, 1e3 * onednn)
    return blas > _CLEAR_WIN * onednn


class CpuFastLinear(nn.Linear):
    """A Linear whose CPU float32 inference calls go to oneDNN where a probe shows its matmul clearly faster.

    Same parameters and state-dict keys as ``nn.Linear``; results agree with it to float32 rounding.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _cpu_inference(x, self) and _onednn_matmul_wins():
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")
        return super().forward(x)


@functools.cache
def _winograd_available() -> bool:
    # NNPACK ships in PyTorch's x86 and ARM CPU builds. _nnpack_available() also initialises
    # it, which its convolution op does not do by itself (it fails until then).
    probe = getattr(torch, "_nnpack_available", None)
    return probe is not None and hasattr(torch, "_nnpack_spatial_convolution") and bool(probe())


def _nnpack(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: list[int]) -> torch.Tensor:
    # One image at a time: NNPACK takes a slower algorithm for batches.
    x = x.contiguous()
    images = [torch._nnpack_spatial_convolution(x[i : i + 1], weight, bias, padding) for i in range(x.shape[0])]
    return images[0] if len(images) == 1 else torch.cat(images)


@functools.cache
def _winograd_wins() -> bool:
    """Whether NNPACK's Winograd clearly beats oneDNN (weights prepacked) on a large map of this CPU.

    On a 2-core AVX2 machine it ran 1.2-3x faster than oneDNN with its per-call weight reorder;
    on a 2-core AVX-512 EPYC it was 1.2-2x slower than oneDNN with prepacked weights.
    """
    if not (_winograd_available() and _onednn_available()):
        return False
    with torch.inference_mode():
        x = torch.randn(1, 320, 32, 64).contiguous(memory_format=torch.channels_last)
        weight = torch.randn(320, 320, 3, 3).contiguous(memory_format=torch.channels_last)
        packed = torch._C._nn.mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), [1, 1], [1, 1], [1, 1], 1, None)
        onednn, winograd = _best_seconds(
            lambda: torch.ops.mkldnn._convolution_pointwise(x, packed, None, [1, 1], [1, 1], [1, 1], 1, "none", [], ""),
            lambda: _nnpack(x, weight.contiguous(), None, [1, 1]).contiguous(memory_format=torch.channels_last),
        )
    logger.info("3x3 convolution on a large CPU map: oneDNN %.1f ms, Winograd %.1f ms", 1e3 * onednn, 1e3 * winograd)
    return onednn > _CLEAR_WIN * winograd


def cpu_kernels() -> dict[str, bool]:
    """Which faster kernels the probes chose on this CPU (each probe runs once per process)."""
    return {"onednn_linear": _onednn_matmul_wins(), "winograd": _winograd_wins()}


class CpuFastConv2d(nn.Conv2d):
    """A Conv2d whose CPU float32 inference calls skip the weight re-layout PyTorch's default does on every call.

    PyTorch runs CPU convolutions through oneDNN, which wants the weights in a blocked layout and
    converts them on every call: for the U-Net's deep levels (up to 59 MB of weights for a 4x16
    map) the conversion costs as much as the convolution. For channels-last maps (the U-Nets')
    the converted weights are kept here (re-made when the weights change or move), at the price
    of a second copy of the convolution weights in memory; the convolution itself is oneDNN's,
    bitwise the same as PyTorch's on the same channels-last map. NCHW maps (the VAE's) keep
    PyTorch's kernel. On large maps NNPACK's Winograd 3x3 convolution (about half the
    multiplications) is used instead where a probe shows it clearly faster on this CPU.

    Everything else (other devices, half precision, training, string padding or other padding
    modes, and code being traced by torch.compile, whose own kernels replace these) takes the
    regular path. Same parameters and state-dict keys as ``nn.Conv2d``; results agree with it to
    float32 rounding (Winograd's error is ~3x that of a direct convolution, far inside the
    reference tolerance).
    """

    winograd_min_positions = 1024
    winograd_min_work = 2**19  # positions x min(in, out) channels: below it the transforms dominate

    _packed: tuple[weakref.ref[torch.Tensor], int, int, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (
            _cpu_inference(x, self)
            and self.padding_mode == "zeros"
            and isinstance(self.padding, tuple)
            and _onednn_available()
        ):
            return super().forward(x)
        channels_last = _channels_last(x)
        if self._takes_winograd(x):
            out = _nnpack(x, self.weight, self.bias, list(self.padding))
            return out.contiguous(memory_format=torch.channels_last) if channels_last else out
        if not channels_last:
            # The prepacked op computes in NHWC whatever it is given, and on NCHW maps that moves
            # results by up to ~7e-4 from PyTorch's NCHW kernel (enough to fail the VAE references).
            return super().forward(x)
        args = (list(self.padding), list(self.stride), list(self.dilation), self.groups)
        return torch.ops.mkldnn._convolution_pointwise(x, self._packed_weight(), self.bias, *args, "none", [], "")

    def _takes_winograd(self, x: torch.Tensor) -> bool:
        _, _, height, width = x.shape
        return (
            self.kernel_size == (3, 3)
            and self.padding == (1, 1)
            and self.stride == (1, 1)
            and self.dilation == (1, 1)
            and self.groups == 1
            and height * width >= self.winograd_min_positions
            and height * width * min(self.in_channels, self.out_channels) >= self.winograd_min_work
            and _winograd_wins()
        )

    def _packed_weight(self) -> torch.Tensor:
        weight = self.weight
        # Weights made under inference_mode have no version counter; they can only change in
        # place under inference_mode again, which nothing here does.
        version = -1 if weight.is_inference() else weight._version
        if self._packed is not None:
            source, pointer, packed_version, packed = self._packed
            # The weakref, not the address alone: a new tensor may take a freed one's address.
            if source() is weight and pointer == weight.data_ptr() and packed_version == version:
                return packed
        with torch.inference_mode():
            dense = weight.detach().contiguous(memory_format=torch.channels_last).to_mkldnn()
            args = (list(self.padding), list(self.stride), list(self.dilation), self.groups, None)
            packed = torch._C._nn.mkldnn_reorder_conv2d_weight(dense, *args)
        self._packed = (weakref.ref(weight), weight.data_ptr(), version, packed)
        return packed

    def __getstate__(self) -> dict[str, object]:
        # oneDNN tensors neither pickle nor deep-copy; the copy re-packs on its first call.
        state = dict(super().__getstate__())
        state.pop("_packed", None)
        return state


def _channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


@functools.lru_cache(maxsize=32)
def _frequencies(half: int, max_period: float, device: torch.device) -> torch.Tensor:
    # Computed on the CPU in float32 with upstream's exact expression, then moved:
    # exp() on another device may differ in the last bit, and t * freq amplifies that.
    with torch.inference_mode(False), torch.no_grad():
        freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
        return freqs.to(device)


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal timestep embedding of openaimodel: ``[cos(t*f), sin(t*f)]``, float32 ``[N, dim]``.

    ``f_i = exp(-ln(max_period) * i / (dim // 2))`` for ``i < dim // 2``; cosines come
    first; an odd ``dim`` gets one trailing zero column.
    """
    half = dim // 2
    args = timesteps[:, None].float() * _frequencies(half, float(max_period), timesteps.device)[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding
