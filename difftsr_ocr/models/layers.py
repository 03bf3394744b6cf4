"""Small layers shared by the DiffTSR networks.

Both follow ``model/IDM/modules/diffusionmodules/util.py`` of the official code
(DiffTSR @ f983963), which the U-Net (and the KL-VAE's normalisation) rely on.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CpuFastConv2d", "GroupNorm32", "timestep_embedding"]


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


@functools.cache
def _winograd_available() -> bool:
    # NNPACK ships in PyTorch's x86 and ARM CPU builds. _nnpack_available() also initialises
    # it, which its convolution op does not do by itself (it fails until then).
    probe = getattr(torch, "_nnpack_available", None)
    return probe is not None and hasattr(torch, "_nnpack_spatial_convolution") and bool(probe())


class CpuFastConv2d(nn.Conv2d):
    """A Conv2d that routes each CPU float32 inference call to the fastest algorithm for its map size.

    Measured on a 2-core AVX2 machine against oneDNN's direct convolution (PyTorch's default):

    - small maps (batch x height x width <= 256, the U-Net's deepest levels): oneDNN re-lays-out
      the weights on every call and runs at a third of the GEMM rate; an unfold + one matrix
      product is 2-3x faster;
    - large maps (>= 1024 positions and >= 2^19 positions x channels: the U-Net's 32x128 level,
      its 16x64 level from 640 channels up, and most of the VAE): NNPACK's Winograd 3x3
      convolution does about half the multiplications and runs 1.2-3x faster. It is used one
      image at a time because NNPACK takes a slower algorithm for batches.

    Everything else (other devices, half precision, training, strided, grouped or size-changing
    convolutions, and code being traced by torch.compile, whose own kernels replace these
    hand-picked ones) takes the regular path. Same parameters and state-dict keys as ``nn.Conv2d``; results agree
    with it to float32 rounding (Winograd's error is ~3x that of a direct convolution, far
    inside the reference tolerance).
    """

    gemm_max_positions = 256
    winograd_min_positions = 1024
    winograd_min_work = 2**19  # positions x min(in, out) channels: below it the transforms dominate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._is_plain_cpu_inference(x):
            return super().forward(x)
        batch, _, height, width = x.shape
        if batch * height * width <= self.gemm_max_positions:
            return self._gemm(x)
        if (
            self.kernel_size == (3, 3)
            and height * width >= self.winograd_min_positions
            and height * width * min(self.in_channels, self.out_channels) >= self.winograd_min_work
            and _winograd_available()
        ):
            return self._winograd(x)
        return super().forward(x)

    def _is_plain_cpu_inference(self, x: torch.Tensor) -> bool:
        return (
            x.device.type == "cpu"
            and not torch.compiler.is_compiling()
            and x.dtype == torch.float32
            and self.weight.dtype == torch.float32
            and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad))
            and self.groups == 1
            and self.stride == (1, 1)
            and self.dilation == (1, 1)
            and self.padding_mode == "zeros"
            and isinstance(self.padding, tuple)
            # Both fast paths assume the output keeps the input's size (odd kernel, "same" padding).
            and all(k % 2 == 1 and p == k // 2 for k, p in zip(self.kernel_size, self.padding, strict=True))
        )

    def _gemm(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        if self.kernel_size == (1, 1) and self.padding == (0, 0):
            columns = x.reshape(batch, self.in_channels, height * width)
        else:
            columns = F.unfold(x, self.kernel_size, padding=self.padding)  # [B, C*kh*kw, H*W]
        out = torch.matmul(self.weight.reshape(self.out_channels, -1), columns)
        if self.bias is not None:
            out = out + self.bias[:, None]
        return out.view(batch, self.out_channels, height, width)

    def _winograd(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        padding = list(self.padding)
        images = [
            torch._nnpack_spatial_convolution(x[i : i + 1], self.weight, self.bias, padding) for i in range(x.shape[0])
        ]
        return images[0] if len(images) == 1 else torch.cat(images)


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
