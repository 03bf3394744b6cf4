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

__all__ = ["GroupNorm32", "SmallMapConv2d", "timestep_embedding"]


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


class SmallMapConv2d(nn.Conv2d):
    """A Conv2d that computes small CPU feature maps as one matrix product (im2col).

    oneDNN's direct convolution re-lays-out the weights on every call; on the deepest
    U-Net level (1280 channels over 4x16 positions at batch 1) that costs more than the
    arithmetic, and an unfold + GEMM runs 2-3x faster there (benchmarks/restore_speed.py).
    Larger maps, other devices and other dtypes take the regular path. Same parameters,
    same state-dict keys; results agree to float32 rounding.
    """

    # Positions (batch x height x width) up to which the GEMM path wins on the CPUs we measured.
    gemm_max_positions = 256

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        if (
            x.device.type != "cpu"
            or x.dtype != torch.float32
            or batch * height * width > self.gemm_max_positions
            or self.groups != 1
            or self.stride != (1, 1)
            or self.dilation != (1, 1)
            or not isinstance(self.padding, tuple)
        ):
            return super().forward(x)
        columns = F.unfold(x, self.kernel_size, padding=self.padding)  # [B, C*kh*kw, H*W]
        out = torch.matmul(self.weight.reshape(self.out_channels, -1), columns)
        if self.bias is not None:
            out = out + self.bias[:, None]
        return out.view(batch, self.out_channels, height, width)


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
