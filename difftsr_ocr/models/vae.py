"""The f4 KL autoencoder of DiffTSR: image <-> 3-channel latent at 1/4 resolution.

Module names and nesting follow the official ``AutoencoderKL`` (LDM
``diffusionmodules/model.py`` Encoder/Decoder) so that the ``VAE_model`` entry of an
official ``DiffTSR.ckpt`` loads with ``strict=True``. Nothing here draws random
numbers: :meth:`LatentPosterior.sample` takes the noise from the caller.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from difftsr_ocr.models.config import VAEConfig
from difftsr_ocr.models.layers import CpuFastConv2d

__all__ = ["AutoencoderKL", "Decoder", "Encoder", "LatentPosterior"]

# The official posterior clamps log-variance to this range before exponentiating.
_LOGVAR_MIN = -30.0
_LOGVAR_MAX = 20.0


def _norm(channels: int) -> nn.GroupNorm:
    # The VAE uses eps 1e-6, unlike the U-Net's GroupNorm32 (1e-5).
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return CpuFastConv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)


def _conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return CpuFastConv2d(in_channels, out_channels, kernel_size=1)


class ResnetBlock(nn.Module):
    """GroupNorm-swish-conv twice plus a (1x1-projected when widths differ) shortcut; no time embedding."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = _conv3x3(in_channels, out_channels)
        self.norm2 = _norm(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.nin_shortcut = _conv1x1(in_channels, out_channels) if in_channels != out_channels else None

    def forward(self, x: Tensor) -> Tensor:
        # silu is upstream's swish x*sigmoid(x) as one kernel; in place on the norm's fresh output to spare
        # a full-resolution temporary (the decoder's largest activations are 128 x 512 x 128 per image).
        h = self.conv1(F.silu(self.norm1(x), inplace=True))
        h = self.conv2(F.silu(self.norm2(h), inplace=True))
        shortcut = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return shortcut + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all spatial positions, channels as the feature axis."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _norm(channels)
        self.q = _conv1x1(channels, channels)
        self.k = _conv1x1(channels, channels)
        self.v = _conv1x1(channels, channels)
        self.proj_out = _conv1x1(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        normed = self.norm(x)

        def tokens(conv: nn.Conv2d) -> Tensor:
            return conv(normed).reshape(b, 1, c, h * w).transpose(-1, -2)

        # SDPA's default scale 1/sqrt(c) is the official one (one head of width c).
        out = F.scaled_dot_product_attention(tokens(self.q), tokens(self.k), tokens(self.v))
        out = out.transpose(-1, -2).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Stride-2 3x3 conv after padding one zero row/column at the bottom/right only."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        # Asymmetric padding (0,1,0,1) is what the checkpoint was trained with; padding=1 would shift the grid.
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest-neighbour x2 followed by a 3x3 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = _conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Level(nn.Module):
    """One resolution level: ``block`` (ResnetBlocks), ``attn`` (usually empty), then an optional resampler."""

    def __init__(
        self,
        blocks: list[ResnetBlock],
        attns: list[AttnBlock],
        downsample: Downsample | None = None,
        upsample: Upsample | None = None,
    ) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)
        self.attn = nn.ModuleList(attns)
        # A None attribute registers no parameters, so absent resamplers leave no state-dict keys.
        self.downsample = downsample
        self.upsample = upsample

    def forward(self, h: Tensor) -> Tensor:
        for index, block in enumerate(self.block):
            h = block(h)
            # attn is either empty or holds one AttnBlock per ResnetBlock.
            if len(self.attn) > 0:
                h = self.attn[index](h)
        if self.downsample is not None:
            h = self.downsample(h)
        if self.upsample is not None:
            h = self.upsample(h)
        return h


class _Mid(nn.Module):
    """ResnetBlock - AttnBlock - ResnetBlock at the lowest resolution (attention always present)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels)
        self.attn_1 = AttnBlock(channels)
        self.block_2 = ResnetBlock(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    """Image [B,in_channels,H,W] -> moments [B,2*z_channels,H/f,W/f], f = 2**(len(ch_mult)-1)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        ch, mult = config.ch, config.ch_mult
        self.conv_in = _conv3x3(config.in_channels, ch)
        resolution = config.resolution
        in_mult = (1, *mult)
        self.down = nn.ModuleList()
        block_in = ch
        for level, m in enumerate(mult):
            block_in = ch * in_mult[level]
            block_out = ch * m
            blocks: list[ResnetBlock] = []
            attns: list[AttnBlock] = []
            for _ in range(config.num_res_blocks):
                blocks.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                # Official rule: attention depends on the nominal config resolution, not the input size.
                if resolution in config.attn_resolutions:
                    attns.append(AttnBlock(block_in))
            downsample = None
            if level != len(mult) - 1:
                downsample = Downsample(block_in)
                resolution //= 2
            self.down.append(_Level(blocks, attns, downsample=downsample))
        self.mid = _Mid(block_in)
        self.norm_out = _norm(block_in)
        self.conv_out = _conv3x3(block_in, 2 * config.z_channels)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv_in(x)
        for down in self.down:
            h = down(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h), inplace=True))


class Decoder(nn.Module):
    """Latent [B,z_channels,h,w] -> image [B,out_ch,h*f,w*f] (no clamp, no tanh)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        ch, mult = config.ch, config.ch_mult
        block_in = ch * mult[-1]
        resolution = config.resolution // 2 ** (len(mult) - 1)
        self.conv_in = _conv3x3(config.z_channels, block_in)
        self.mid = _Mid(block_in)
        levels: list[_Level] = []
        for level in reversed(range(len(mult))):
            block_out = ch * mult[level]
            blocks: list[ResnetBlock] = []
            attns: list[AttnBlock] = []
            for _ in range(config.num_res_blocks + 1):
                blocks.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if resolution in config.attn_resolutions:
                    attns.append(AttnBlock(block_in))
            upsample = None
            if level != 0:
                upsample = Upsample(block_in)
                resolution *= 2
            levels.append(_Level(blocks, attns, upsample=upsample))
        # up[0] is the full-resolution level (built last), as in the official key names.
        self.up = nn.ModuleList(reversed(levels))
        self.norm_out = _norm(block_in)
        self.conv_out = _conv3x3(block_in, config.out_ch)

    def forward(self, z: Tensor) -> Tensor:
        h = self.mid(self.conv_in(z))
        for up in reversed(self.up):
            h = up(h)
        return self.conv_out(F.silu(self.norm_out(h), inplace=True))


@dataclasses.dataclass(frozen=True)
class LatentPosterior:
    """Diagonal Gaussian q(z|x); ``logvar`` is already clamped to [-30, 20]."""

    mean: Tensor
    logvar: Tensor

    @classmethod
    def from_moments(cls, moments: Tensor) -> LatentPosterior:
        """Split [B,2C,h,w] moments into mean (first C channels) and log-variance (last C)."""
        mean, logvar = torch.chunk(moments, 2, dim=1)
        return cls(mean=mean, logvar=logvar.clamp(_LOGVAR_MIN, _LOGVAR_MAX))

    @property
    def std(self) -> Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, noise: Tensor) -> Tensor:
        """``mean + std * noise`` for standard-normal ``noise`` shaped like ``mean``."""
        return self.mean + self.std * noise

    def mode(self) -> Tensor:
        return self.mean


class AutoencoderKL(nn.Module):
    """The official KL autoencoder: ``encoder`` + ``quant_conv`` and ``post_quant_conv`` + ``decoder``."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.quant_conv = _conv1x1(2 * config.z_channels, 2 * config.embed_dim)
        self.post_quant_conv = _conv1x1(config.embed_dim, config.z_channels)

    def encode(self, x: Tensor) -> LatentPosterior:
        """Image in [0, 1] (the official pipeline does not rescale to [-1, 1]) -> posterior over latents."""
        # A non-contiguous input (e.g. a permuted HWC view) takes another conv kernel on CPU and moves the
        # result by ~7e-4 from upstream, which fed a contiguous tensor; make it contiguous first.
        moments = self.quant_conv(self.encoder(x.contiguous()))
        return LatentPosterior.from_moments(moments)

    def decode(self, z: Tensor) -> Tensor:
        """Unscaled latent -> image (callers divide by ``scale_factor`` first, as upstream does)."""
        return self.decoder(self.post_quant_conv(z))
