"""MoM, DiffTSR's Mixture-of-Multi-modality module, and its BERT-style text encoder.

MoM turns the current text estimate ``c_t`` and the latents into the two
conditions of a diffusion step: an image-shaped condition for the text model
(a small U-Net over the LR and noisy latents, cross-attending to embedded
``c_t``) and a token-sequence condition for the image model (a pre-norm
transformer encoder over ``c_t``).

Attribute names reproduce the official ``MoM_model`` / ``BERTEmbedder`` /
x-transformers ``TransformerWrapper`` nesting (``first_embeder``, ``Unet``,
``Transformer.transformer.attn_layers.layers.<i>.<0|1>``...) so an official
``MoM_module`` state dict loads with ``strict=True``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from difftsr_ocr.models.config import BERTConfig, MoMConfig
from difftsr_ocr.models.layers import CpuFastLinear
from difftsr_ocr.models.unet import UNet

__all__ = ["BERTTextEncoder", "MoM"]

# x-transformers' Encoder defaults, which BERTEmbedder never overrides: the head
# count and width are fixed whatever n_embed is (160 -> 8 x 64 = 512 inner width).
_HEADS = 8
_DIM_HEAD = 64
_FF_MULT = 4


class _SelfAttention(nn.Module):
    """Multi-head self-attention without masks: bias-free q/k/v, biased output projection."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        inner = _HEADS * _DIM_HEAD
        self.to_q = CpuFastLinear(dim, inner, bias=False)
        self.to_k = CpuFastLinear(dim, inner, bias=False)
        self.to_v = CpuFastLinear(dim, inner, bias=False)
        self.to_out = CpuFastLinear(inner, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape

        def heads(t: Tensor) -> Tensor:
            return t.view(b, n, _HEADS, _DIM_HEAD).transpose(1, 2)

        # SDPA's default scale dim_head ** -0.5 is x-transformers' scale.
        out = F.scaled_dot_product_attention(heads(self.to_q(x)), heads(self.to_k(x)), heads(self.to_v(x)))
        return self.to_out(out.transpose(1, 2).reshape(b, n, _HEADS * _DIM_HEAD))


class _FeedForward(nn.Module):
    """Linear(dim, 4 dim) - GELU (erf) - Linear(4 dim, dim)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        inner = dim * _FF_MULT
        # Index 1 held a Dropout upstream; an Identity keeps the second Linear at key ``net.2``.
        self.net = nn.Sequential(
            nn.Sequential(CpuFastLinear(dim, inner), nn.GELU()), nn.Identity(), CpuFastLinear(inner, dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class _EncoderLayers(nn.Module):
    """Pre-norm residual stack: ``depth`` x (attention, feed-forward), each as ``[LayerNorm, block]``."""

    def __init__(self, dim: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(depth):
            # Upstream's third list entry is a parameter-free Residual; the addition happens in forward.
            self.layers.append(nn.ModuleList([nn.LayerNorm(dim), _SelfAttention(dim)]))
            self.layers.append(nn.ModuleList([nn.LayerNorm(dim), _FeedForward(dim)]))

    def forward(self, x: Tensor) -> Tensor:
        for norm, block in self.layers:
            x = block(norm(x)) + x
        return x


class _PositionalEmbedding(nn.Module):
    """Learned absolute positions (key ``pos_emb.emb.weight``)."""

    def __init__(self, dim: int, max_seq_len: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(max_seq_len, dim)

    def forward(self, length: int, device: torch.device) -> Tensor:
        return self.emb(torch.arange(length, device=device))


class _TransformerWrapper(nn.Module):
    """Token + position embedding, encoder layers, final LayerNorm (x-transformers TransformerWrapper)."""

    def __init__(self, config: BERTConfig) -> None:
        super().__init__()
        dim = config.n_embed
        self.token_emb = nn.Embedding(config.vocab_size, dim)
        self.pos_emb = _PositionalEmbedding(dim, config.max_seq_len)
        self.attn_layers = _EncoderLayers(dim, config.n_layer)
        self.norm = nn.LayerNorm(dim)
        # Only used for token logits, which BERTEmbedder never asks for (return_embeddings=True);
        # kept so the official keys load strictly.
        self.to_logits = CpuFastLinear(dim, config.vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.token_emb(tokens) + self.pos_emb(tokens.shape[1], tokens.device)
        return self.norm(self.attn_layers(x))


class BERTTextEncoder(nn.Module):
    """The MoM text branch (official ``BERTEmbedder`` with ``use_tokenizer: false``).

    Token ids [B, L] (L <= max_seq_len) -> embeddings [B, L, n_embed], used as the
    IDM U-Net's cross-attention context.
    """

    def __init__(self, config: BERTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = _TransformerWrapper(config)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.transformer(tokens)


class MoM(nn.Module):
    """Mixture-of-Multi-modality: ``(c_t, z_lr, z_t, t) -> (I_cond, C_cond)``."""

    def __init__(self, config: MoMConfig) -> None:
        super().__init__()
        self.config = config
        # Registration order gives the official key order: first_embeder, Unet, Transformer.
        self.first_embeder = nn.Embedding(config.num_classes, config.context_dim)
        self.Unet = UNet(config.unet)
        self.Transformer = BERTTextEncoder(config.text_encoder)

    def forward(self, c_t: Tensor, z_lr: Tensor, z_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Return I_cond [B, out_channels, h, w] (the TDM's context) and C_cond [B, L, n_embed] (the IDM's).

        ``c_t`` [B, L] int64 text ids; ``z_lr``, ``z_t`` [B, 3, h, w] latents, both UNSCALED as the
        official sampler passes them; ``t`` [B] diffusion steps.
        """
        # The official sampler feeds unscaled latents and MoM applies the latent scale itself,
        # to the concatenation (it scales in place; the arithmetic is the same).
        z_input = torch.cat((z_lr, z_t), dim=1) * self.config.scale_factor
        i_cond = self.Unet(z_input, t, self.first_embeder(c_t))
        c_cond = self.Transformer(c_t)
        return i_cond, c_cond
