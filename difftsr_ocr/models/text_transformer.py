"""The TDM text denoiser of DiffTSR: the official ``DynamicsTransformer``, re-implemented on plain torch.

Upstream (``model/TDM/models/modules.py`` and ``transformer.py``) builds it from three
third-party packages: linear-attention-transformer 0.19.1, local-attention 1.8.6 and
axial-positional-embedding 0.2.1. This file computes the same function with the same
state-dict keys (the 0.2.1 spelling of the axial embedding); :func:`normalize_axial_keys`
accepts checkpoints saved with axial-positional-embedding >= 0.3.0.

Layout of one depth-1 transformer (``transformer.transformer_blocks.<i>.<j>``)::

    x += SelfAttn(LN(x))      layers.layers.0.0  first local heads windowed softmax, the rest linear
    x += FF(LN(x))            layers.layers.0.1  Linear -> GELU(erf) -> Linear
    x += ContextAttn(LN(x))   layers.layers.1.0  q from x, k/v from the image context, all heads linear
    x += FF(LN(x))            layers.layers.1.1
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from difftsr_ocr.errors import ConfigError, WeightsError
from difftsr_ocr.models.config import TDMConfig
from difftsr_ocr.models.layers import CpuFastLinear

__all__ = [
    "AXIAL_SPELLING_LEGACY",
    "AXIAL_SPELLING_LIST",
    "AXIAL_SPELLING_NONE",
    "TextDiffusionTransformer",
    "axial_key_spelling",
    "normalize_axial_keys",
]

# Upstream's SinusoidalPosEmb rescales t from [0, num_steps) to [0, 4000) before the sinusoid.
_TIME_RESCALE = 4000.0
# local-attention 1.8.6 defaults (upstream never overrides them): one window back, one forward.
_LOOK_AROUND = 1

AXIAL_SPELLING_LEGACY = "0.2.1 (weights_0/weights_1)"
AXIAL_SPELLING_LIST = ">=0.3.0 (weights.0/weights.1)"
AXIAL_SPELLING_NONE = "none"

_LEGACY_AXIAL_KEY = re.compile(r"(?:^|\.)axial_pos_emb\.weights_(\d+)$")
_LIST_AXIAL_KEY = re.compile(r"(^|\.)axial_pos_emb\.weights\.(\d+)$")


# --- time embedding -------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _time_frequencies(half: int, device: torch.device) -> torch.Tensor:
    # Computed once on the CPU in float32 and moved: exp() on an accelerator may differ in
    # the last bit, and the rescaled t (up to ~4000) would amplify that into the phase.
    with torch.inference_mode(False), torch.no_grad():
        # Upstream divides by (half - 1), not half: the last frequency is exactly 1/10000.
        step = math.log(10000.0) / (half - 1)
        return torch.exp(torch.arange(half, dtype=torch.float32) * -step).to(device)


def _time_features(t: torch.Tensor, dim: int, num_steps: int) -> torch.Tensor:
    """Upstream's SinusoidalPosEmb: ``[sin(s*f), cos(s*f)]`` with ``s = t / num_steps * 4000``, float32."""
    # Same operation order as upstream (divide, then multiply) so s is bit-identical.
    scaled = t.to(torch.float32) / float(num_steps) * _TIME_RESCALE
    args = scaled[:, None] * _time_frequencies(dim // 2, t.device)[None, :]
    return torch.cat([args.sin(), args.cos()], dim=-1)


# --- attention and feed-forward -------------------------------------------------------


def _linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Global linear attention of linear-attention-transformer 0.19.1 on ``[B, H, N, D]`` tensors."""
    # Softmax of q over features (then scaled) and of k over the sequence: a factorised
    # attention that is NOT softmax(qk^T), so scaled_dot_product_attention cannot compute it.
    q = q.softmax(dim=-1) * q.shape[-1] ** -0.5
    k = k.softmax(dim=-2)
    return q @ (k.transpose(-2, -1) @ v)


class _Projections(nn.Module):
    """q/k/v (no bias) and output projections shared by both attention kinds (upstream SelfAttention)."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.transformer_dim
        self.heads = config.transformer_heads
        self.head_dim = dim // config.transformer_heads
        inner = self.head_dim * self.heads
        self.to_q = CpuFastLinear(dim, inner, bias=False)
        self.to_k = CpuFastLinear(dim, inner, bias=False)
        self.to_v = CpuFastLinear(dim, inner, bias=False)
        self.to_out = CpuFastLinear(inner, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        # Head h owns features [h*head_dim, (h+1)*head_dim), as upstream's reshape/transpose.
        return x.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_out(x.transpose(1, 2).flatten(2))


class _SelfAttention(_Projections):
    """Self-attention: the first ``transformer_local_heads`` heads windowed softmax, the rest linear."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__(config)
        self.local_heads = config.transformer_local_heads

    def forward(self, x: torch.Tensor, local_mask: torch.Tensor) -> torch.Tensor:
        q, k, v = self._heads(self.to_q(x)), self._heads(self.to_k(x)), self._heads(self.to_v(x))
        n = self.local_heads
        parts = []
        if n > 0:
            # local-attention 1.8.6 (window w, one window back and forward, out-of-range keys
            # masked, scale head_dim^-0.5, no rotary since upstream passes no `dim`) equals full
            # softmax attention restricted to |i//w - j//w| <= 1: its padded keys get zero weight.
            parts.append(F.scaled_dot_product_attention(q[:, :n], k[:, :n], v[:, :n], attn_mask=local_mask))
        if n < self.heads:
            parts.append(_linear_attention(q[:, n:], k[:, n:], v[:, n:]))
        return self._merge(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])


class _ContextAttention(_Projections):
    """Cross-attention to the image context, every head global linear attention."""

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        # Upstream builds this layer with n_local_attn_heads=0, so no head is local here.
        q, k, v = self._heads(self.to_q(x)), self._heads(self.to_k(context)), self._heads(self.to_v(context))
        return self._merge(_linear_attention(q, k, v))


class _FeedForward(nn.Module):
    """Linear(dim, 4 dim) -> exact (erf) GELU -> Linear(4 dim, dim)."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.transformer_dim
        self.w1 = CpuFastLinear(dim, 4 * dim)
        self.w2 = CpuFastLinear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # linear-attention-transformer picks nn.GELU() (approximate="none"), not the tanh form.
        return self.w2(F.gelu(self.w1(x)))


class _Unchunked(nn.Module):
    """Upstream's ``Chunk(ff_chunks=1, ...)``: computes nothing, but adds the ``fn.`` key level."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        self.fn = _FeedForward(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class _PreNorm(nn.Module):
    """LayerNorm of the input, then ``fn``; ``fn`` is registered first to keep upstream's key order."""

    def __init__(self, config: TDMConfig, fn: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.fn = fn
        self.norm = nn.LayerNorm(config.transformer_dim)

    def forward(self, x: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x), *extra)


class _ResidualSequence(nn.Module):
    """Upstream's SequentialSequence for depth 1 with context: two (attention, feed-forward) pairs."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList(
            [
                nn.ModuleList([_PreNorm(config, _SelfAttention(config)), _PreNorm(config, _Unchunked(config))]),
                nn.ModuleList([_PreNorm(config, _ContextAttention(config)), _PreNorm(config, _Unchunked(config))]),
            ]
        )

    def forward(self, x: torch.Tensor, context: torch.Tensor, local_mask: torch.Tensor) -> torch.Tensor:
        (self_attn, self_ff), (context_attn, context_ff) = self.layers
        x = x + self_attn(x, local_mask)
        x = x + self_ff(x)
        x = x + context_attn(x, context)
        return x + context_ff(x)


class _DepthOneTransformer(nn.Module):
    """Upstream's ``LinearAttentionTransformer(depth=1, receives_context=True)``."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        # The extra `layers.` level mirrors the package's wrapper around SequentialSequence.
        self.layers = _ResidualSequence(config)

    def forward(self, x: torch.Tensor, context: torch.Tensor, local_mask: torch.Tensor) -> torch.Tensor:
        return self.layers(x, context, local_mask)


# --- embeddings and the whole network -------------------------------------------------


class _AxialPositions(nn.Module):
    """Summed axial positional embedding over (max_seq_len // window, window), 0.2.1 key names."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        window = config.transformer_local_size
        dim = config.transformer_dim
        self.weights_0 = nn.Parameter(torch.randn(1, config.max_seq_len // window, 1, dim))
        self.weights_1 = nn.Parameter(torch.randn(1, 1, window, dim))

    def forward(self, length: int) -> torch.Tensor:
        # Upstream expands both tables to [B, rows, window, dim] and sums them; broadcasting
        # gives the same values without materialising the batch copies.
        table = (self.weights_0 + self.weights_1).flatten(1, 2)
        return table[:, :length]


class _TextTransformer(nn.Module):
    """Upstream's ``LinearAttentionTransformerEmbedding`` (no context-mask branch: DiffTSR never enables it)."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.transformer_dim
        stages = config.transformer_blocks * config.transformer_depth
        self.first = nn.Embedding(config.num_classes, dim)
        self.mlp = nn.Sequential(CpuFastLinear(dim, 4 * dim), nn.Softplus(), CpuFastLinear(4 * dim, dim * stages))
        self.axial_pos_emb = _AxialPositions(config)
        self.transformer_blocks = nn.ModuleList(
            nn.ModuleList(_DepthOneTransformer(config) for _ in range(config.transformer_depth))
            for _ in range(config.transformer_blocks)
        )
        self.norm = nn.LayerNorm(dim)
        self.out = CpuFastLinear(dim, config.num_classes)

    def _local_mask(self, length: int, device: torch.device) -> torch.Tensor:
        window = torch.arange(length, device=device) // self.config.transformer_local_size
        return (window[:, None] - window[None, :]).abs() <= _LOOK_AROUND

    def forward(self, tokens: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        batch, length = tokens.shape
        cfg = self.config
        time = self.mlp(_time_features(t, cfg.transformer_dim, cfg.diffusion_steps).to(self.mlp[0].weight.dtype))
        # Upstream views the mlp output as [B, 1, dim, n_blocks, depth]: feature-major, so the
        # embedding of stage (i, j) is the strided column i * depth + j, not a contiguous chunk.
        time = time.view(batch, cfg.transformer_dim, -1)
        x = self.first(tokens)
        x = x + self.axial_pos_emb(length).to(x.dtype)
        local_mask = self._local_mask(length, tokens.device)
        h = torch.zeros_like(x)
        for i, block in enumerate(self.transformer_blocks):
            h = h + x
            for j, layer in enumerate(block):
                h = layer(h + time[:, None, :, i * cfg.transformer_depth + j], context, local_mask)
        return self.out(self.norm(h))


class _Rezero(nn.Module):
    """A single learned output gain (zero-initialised upstream)."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        self.config = config
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * x


def _check_config(config: TDMConfig) -> None:
    problems = []
    if config.transformer_dim % config.transformer_heads:
        problems.append(f"transformer_dim {config.transformer_dim} is not divisible by transformer_heads")
    if not 0 <= config.transformer_local_heads <= config.transformer_heads:
        problems.append(f"transformer_local_heads {config.transformer_local_heads} is not in [0, transformer_heads]")
    if config.transformer_local_size <= 0 or config.max_seq_len % config.transformer_local_size:
        problems.append(f"max_seq_len {config.max_seq_len} is not a multiple of transformer_local_size")
    if config.transformer_dim < 4 or config.transformer_dim % 2:
        problems.append(f"transformer_dim {config.transformer_dim} must be even and at least 4 (time embedding)")
    if problems:
        raise ConfigError(f"TDM_Decoder_config: {'; '.join(problems)}")


class TextDiffusionTransformer(nn.Module):
    """The official ``DynamicsTransformer``: token ids, timestep and image context -> class logits."""

    def __init__(self, config: TDMConfig) -> None:
        super().__init__()
        _check_config(config)
        self.config = config
        self.transformer = _TextTransformer(config)
        self.rezero = _Rezero(config)

    def forward(self, tokens: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_classes, L]`` (times the Rezero gain) for tokens ``[B, L]`` at steps ``t`` ``[B]``.

        ``context`` is ``[B, N, transformer_dim]`` (DiffTSR passes the MoM image condition viewed
        that way). ``L`` must be at most ``max_seq_len`` and, with local heads, a multiple of
        ``transformer_local_size``, as upstream asserts.
        """
        cfg = self.config
        if tokens.dim() != 2 or t.shape != tokens.shape[:1]:
            raise ValueError(f"tokens must be [B, L] and t [B]; got {tuple(tokens.shape)} and {tuple(t.shape)}")
        length = tokens.shape[1]
        if length > cfg.max_seq_len or (cfg.transformer_local_heads and length % cfg.transformer_local_size):
            raise ValueError(
                f"sequence length {length} must be <= {cfg.max_seq_len} and a multiple of {cfg.transformer_local_size}"
            )
        if context.dim() != 3 or context.shape[0] != tokens.shape[0] or context.shape[2] != cfg.transformer_dim:
            raise ValueError(f"context must be [B, N, {cfg.transformer_dim}]; got {tuple(context.shape)}")
        return self.rezero(self.transformer(tokens, t, context).permute(0, 2, 1))


# --- checkpoint key spellings ---------------------------------------------------------


def axial_key_spelling(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Which axial-positional-embedding key spelling a TDM state dict uses.

    One of :data:`AXIAL_SPELLING_LEGACY` (``weights_0``, the package version the reference
    used and ours), :data:`AXIAL_SPELLING_LIST` (``weights.0``, package >= 0.3.0) or
    :data:`AXIAL_SPELLING_NONE`. A state dict holding both is corrupt: :class:`WeightsError`.
    """
    legacy = any(_LEGACY_AXIAL_KEY.search(key) for key in state_dict)
    listed = any(_LIST_AXIAL_KEY.search(key) for key in state_dict)
    if legacy and listed:
        raise WeightsError(
            "TDM state dict holds both axial_pos_emb.weights_N and axial_pos_emb.weights.N keys; "
            "re-export the checkpoint with one axial-positional-embedding version"
        )
    if legacy:
        return AXIAL_SPELLING_LEGACY
    return AXIAL_SPELLING_LIST if listed else AXIAL_SPELLING_NONE


def normalize_axial_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename ``...axial_pos_emb.weights.N`` (package >= 0.3.0) to our ``...axial_pos_emb.weights_N``.

    The tensors are the same in both versions; only nn.ParameterList changed the names.
    Other keys, the key order and the tensors themselves are kept.
    """
    axial_key_spelling(state_dict)  # raises on a mixed state dict
    return {_LIST_AXIAL_KEY.sub(r"\1axial_pos_emb.weights_\2", key): value for key, value in state_dict.items()}
