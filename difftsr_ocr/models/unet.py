"""The latent U-Net of DiffTSR: the IDM denoiser and the U-Net inside MoM.

A re-implementation of the official ``openaimodel.UNetModel`` with
``use_spatial_transformer=True`` (DiffTSR @ f983963, ``model/IDM/modules/
diffusionmodules/openaimodel.py`` and ``model/IDM/modules/attention.py``). Module
names, their order and every parameter shape are upstream's, so an official
``IDM_Unet`` state dict (or the ``Unet.`` part of ``MoM_module``) loads strictly.

Differences that do not change the result in float32:

* attention runs through :func:`torch.nn.functional.scaled_dot_product_attention`
  (same scale ``dim_head ** -0.5`` and head layout ``(heads, dim_head)``);
* no gradient checkpointing (``use_checkpoint`` only ever affected gradients);
* the input, context and timestep embedding are cast to the weights' dtype, so a model
  cast to fp16/bf16 runs too, and the output is returned in the input's dtype
  (upstream casts the input to float32 and returns whatever its last conv yields);
* every GroupNorm (also the SpatialTransformer's, a plain GroupNorm upstream) is computed
  in float32 in reduced precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.models.config import UNetConfig
from difftsr_ocr.models.layers import CpuFastConv2d, CpuFastLinear, GroupNorm32, timestep_embedding

__all__ = ["UNet"]

# GroupNorm settings of upstream: openaimodel's normalization() is GroupNorm32(32, ch)
# with torch's default eps; attention.Normalize() (SpatialTransformer) uses eps 1e-6.
_GROUPS = 32
_RESBLOCK_EPS = 1e-5
_TRANSFORMER_EPS = 1e-6


def _zero_(module: nn.Module) -> nn.Module:
    """Upstream's zero_module: the last layer of each residual branch starts at zero."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


class ResBlock(nn.Module):
    """openaimodel.ResBlock without scale-shift norm; optionally resamples by 2 (``up``/``down``)."""

    def __init__(self, channels: int, emb_channels: int, out_channels: int, dropout: float, resample: str = "") -> None:
        super().__init__()
        self.resample = resample
        self.in_layers = nn.Sequential(
            GroupNorm32(_GROUPS, channels, eps=_RESBLOCK_EPS),
            nn.SiLU(),
            CpuFastConv2d(channels, out_channels, 3, padding=1),
        )
        self.emb_layers = nn.Sequential(nn.SiLU(), CpuFastLinear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(
            GroupNorm32(_GROUPS, out_channels, eps=_RESBLOCK_EPS),
            nn.SiLU(),
            nn.Dropout(p=dropout),
            _zero_(CpuFastConv2d(out_channels, out_channels, 3, padding=1)),
        )
        self.skip_connection = nn.Identity() if out_channels == channels else CpuFastConv2d(channels, out_channels, 1)

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "down":
            return F.avg_pool2d(x, kernel_size=2, stride=2)
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        if self.resample:
            # Upstream order: norm + SiLU, then resample both h and x, then the conv.
            norm, act, conv = self.in_layers
            h = conv(self._resample(act(norm(x))))
            x = self._resample(x)
        else:
            h = self.in_layers(x)
        emb_out = self.emb_layers(emb).to(h.dtype)
        h = self.out_layers(h + emb_out[:, :, None, None])
        return self.skip_connection(x) + h


class Attention(nn.Module):
    """attention.CrossAttention: bias-free q/k/v, softmax(q k^T * dim_head^-0.5) v, output Linear."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, dim_head: int, dropout: float) -> None:
        super().__init__()
        inner_dim = heads * dim_head
        self.heads = heads
        self.dim_head = dim_head
        self.to_q = CpuFastLinear(query_dim, inner_dim, bias=False)
        self.to_k = CpuFastLinear(context_dim, inner_dim, bias=False)
        self.to_v = CpuFastLinear(context_dim, inner_dim, bias=False)
        self.to_out = nn.Sequential(CpuFastLinear(inner_dim, query_dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        batch, length, _ = x.shape
        # [B, N, heads*dim_head] -> [B, heads, N, dim_head]: upstream's 'b n (h d) -> (b h) n d'.
        q = self.to_q(x).view(batch, length, self.heads, self.dim_head).transpose(1, 2)
        k = self.to_k(context).view(batch, -1, self.heads, self.dim_head).transpose(1, 2)
        v = self.to_v(context).view(batch, -1, self.heads, self.dim_head).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, scale=self.dim_head**-0.5)
        return self.to_out(out.transpose(1, 2).reshape(batch, length, self.heads * self.dim_head))


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = CpuFastLinear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    """attention.FeedForward with glu=True, mult=4: GEGLU -> Dropout -> Linear."""

    def __init__(self, dim: int, dropout: float, mult: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * mult), nn.Dropout(dropout), CpuFastLinear(dim * mult, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    """Pre-norm self-attention, cross-attention on the context, GEGLU feed-forward."""

    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int, dropout: float) -> None:
        super().__init__()
        # Registration order = upstream's (attn1, ff, attn2, norm1..3): it fixes the state-dict order.
        self.attn1 = Attention(dim, dim, heads, dim_head, dropout)
        self.ff = FeedForward(dim, dropout)
        self.attn2 = Attention(dim, context_dim, heads, dim_head, dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    """GroupNorm -> 1x1 conv -> transformer blocks over the H*W tokens -> 1x1 conv, plus the input."""

    def __init__(self, channels: int, heads: int, dim_head: int, depth: int, context_dim: int, dropout: float) -> None:
        super().__init__()
        inner_dim = heads * dim_head
        self.norm = GroupNorm32(_GROUPS, channels, eps=_TRANSFORMER_EPS)
        self.proj_in = CpuFastConv2d(channels, inner_dim, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner_dim, heads, dim_head, context_dim, dropout) for _ in range(depth)]
        )
        self.proj_out = _zero_(CpuFastConv2d(inner_dim, channels, 1))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        h = self.proj_in(self.norm(x))
        inner = h.shape[1]
        h = h.flatten(2).transpose(1, 2)  # [B, H*W, C]
        for block in self.transformer_blocks:
            h = block(h, context)
        h = h.transpose(1, 2).reshape(batch, inner, height, width)
        return self.proj_out(h) + x


class _Stage(nn.ModuleList):
    """openaimodel.TimestepEmbedSequential: each layer gets what it needs (emb or context)."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            else:
                x = layer(x)
        return x


def _heads(config: UNetConfig, channels: int) -> tuple[int, int]:
    """(heads, dim_head) at a width, as upstream computes them (``legacy`` changes nothing here)."""
    if config.num_head_channels == -1:
        return config.num_heads, channels // config.num_heads
    return channels // config.num_head_channels, config.num_head_channels


class UNet(nn.Module):
    """openaimodel.UNetModel(use_spatial_transformer=True): eps-prediction for the IDM, I_cond for MoM.

    ``forward(x [B,in_channels,H,W], timesteps [B] (DDPM steps), context [B,L,context_dim])``
    returns ``[B,out_channels,H,W]``. H and W must be divisible by ``2 ** (len(channel_mult) - 1)``.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        if not config.resblock_updown:
            raise ConfigError(
                "UNet resblock_updown: false (strided-conv resampling) is not a DiffTSR configuration; set it to true"
            )
        self.config = config
        mc = config.model_channels
        emb_dim = mc * 4
        dropout = config.dropout

        def transformer(ch: int) -> SpatialTransformer:
            heads, dim_head = _heads(config, ch)
            return SpatialTransformer(ch, heads, dim_head, config.transformer_depth, config.context_dim, dropout)

        self.time_embed = nn.Sequential(CpuFastLinear(mc, emb_dim), nn.SiLU(), CpuFastLinear(emb_dim, emb_dim))

        self.input_blocks = nn.ModuleList([_Stage([CpuFastConv2d(config.in_channels, mc, 3, padding=1)])])
        skip_channels = [mc]
        ch, ds = mc, 1
        for level, mult in enumerate(config.channel_mult):
            for _ in range(config.num_res_blocks):
                layers: list[nn.Module] = [ResBlock(ch, emb_dim, mult * mc, dropout)]
                ch = mult * mc
                if ds in config.attention_resolutions:
                    layers.append(transformer(ch))
                self.input_blocks.append(_Stage(layers))
                skip_channels.append(ch)
            if level != len(config.channel_mult) - 1:
                self.input_blocks.append(_Stage([ResBlock(ch, emb_dim, ch, dropout, resample="down")]))
                skip_channels.append(ch)
                ds *= 2

        # The middle block always cross-attends, whatever attention_resolutions says.
        self.middle_block = _Stage(
            [ResBlock(ch, emb_dim, ch, dropout), transformer(ch), ResBlock(ch, emb_dim, ch, dropout)]
        )

        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(config.channel_mult))):
            for i in range(config.num_res_blocks + 1):
                layers = [ResBlock(ch + skip_channels.pop(), emb_dim, mc * mult, dropout)]
                ch = mc * mult
                if ds in config.attention_resolutions:
                    layers.append(transformer(ch))
                if level and i == config.num_res_blocks:
                    layers.append(ResBlock(ch, emb_dim, ch, dropout, resample="up"))
                    ds //= 2
                self.output_blocks.append(_Stage(layers))

        self.out = nn.Sequential(
            GroupNorm32(_GROUPS, ch, eps=_RESBLOCK_EPS),
            nn.SiLU(),
            _zero_(CpuFastConv2d(mc, config.out_channels, 3, padding=1)),
        )
        self._size_multiple = 2 ** (len(config.channel_mult) - 1)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % self._size_multiple or width % self._size_multiple:
            raise ValueError(
                f"UNet input {height}x{width} is not divisible by {self._size_multiple} "
                f"(2 ** number of downsamplings); pad the latent first"
            )
        dtype = self.time_embed[0].weight.dtype
        emb = self.time_embed(timestep_embedding(timesteps, self.config.model_channels).to(dtype))
        context = context.to(dtype)
        h = x.to(dtype)
        if h.device.type == "cpu":
            # Channels-last on CPU: oneDNN convolves NHWC maps without converting them on every
            # call, and the spatial transformers' [B, H*W, C] token view of them needs no copy.
            h = h.contiguous(memory_format=torch.channels_last)
        skips = []
        for stage in self.input_blocks:
            h = stage(h, emb, context)
            skips.append(h)
        h = self.middle_block(h, emb, context)
        for stage in self.output_blocks:
            h = stage(torch.cat([h, skips.pop()], dim=1), emb, context)
        return self.out(h).to(x.dtype).contiguous()
