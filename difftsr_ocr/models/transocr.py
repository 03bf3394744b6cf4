"""TransOCR: the Chinese text recogniser whose greedy reading is DiffTSR's text prior.

A ResNet-style encoder turns a 32x256 RGB crop into a [B, 1024, 2, 16] feature map; a
single transformer decoder layer (masked self-attention, attention over the 32 image
positions, feed-forward) turns a token prefix into next-token logits over 7937 classes.

Parameter and buffer names, shapes and registration order are those of upstream's
``model/TDM/models/transocr.py`` ``Transformer`` (DiffTSR @ f983963), so an official
``transocr.pth`` state dict (after removing its ``module.`` prefix) loads strictly.
Only inference is implemented: BatchNorm always uses its running statistics and there
is no dropout.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from difftsr_ocr.models.config import TransOCRConfig

__all__ = ["TransOCR", "TransOCROutput"]

_WORD_DIM = 512
_MODEL_DIM = 1024  # word embedding and positional table are concatenated, not added
_HEADS = 4
_FF_DIM = 2048
_POSITIONS = 7000
_FEATURE_CHANNELS = 1024
_BLOCKS_PER_STAGE = (3, 4, 6, 3)


@dataclasses.dataclass(frozen=True)
class TransOCROutput:
    """What one TransOCR pass returns.

    ``pred``: [B, T, num_classes] logits; ``conv``: the encoder feature [B, 1024, 2, 16]
    (reusable through ``conv_feature``); ``map``: the image-attention weights of the
    decoder [B, heads, T, 32], or None when the caller did not ask for them.
    """

    pred: Tensor
    conv: Tensor
    map: Tensor | None


class _InferenceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d (same state-dict entries) that normalises with its running statistics in any mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)


class _BasicBlock(nn.Module):
    """Two 3x3 conv+BN with a residual; a 3x3 conv+BN projects the shortcut when the width changes."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels)
        self.bn1 = _InferenceBatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = _InferenceBatchNorm2d(out_channels)
        self.downsample = (
            nn.Sequential(_conv3x3(in_channels, out_channels), _InferenceBatchNorm2d(out_channels))
            if in_channels != out_channels
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + shortcut)


def _stage(in_channels: int, out_channels: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(
        _BasicBlock(in_channels, out_channels), *(_BasicBlock(out_channels, out_channels) for _ in range(blocks - 1))
    )


class _ResNetEncoder(nn.Module):
    """Stem (two conv/BN/ReLU, one 2x2 max-pool between them) and four residual stages.

    Stages 1-3 are preceded by a 2x2 max-pool and followed by a conv/BN/ReLU; stage 4 has
    no pool (upstream defines one but never calls it, so a 32-pixel-high crop ends 2 high)
    and its trailing conv widens to 1024 channels.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _conv3x3(3, 64)
        self.bn1 = _InferenceBatchNorm2d(64)
        self.conv2 = _conv3x3(64, 128)
        self.bn2 = _InferenceBatchNorm2d(128)
        self.layer1 = _stage(128, 256, _BLOCKS_PER_STAGE[0])
        self.layer1_conv = _conv3x3(256, 256)
        self.layer1_bn = _InferenceBatchNorm2d(256)
        self.layer2 = _stage(256, 256, _BLOCKS_PER_STAGE[1])
        self.layer2_conv = _conv3x3(256, 256)
        self.layer2_bn = _InferenceBatchNorm2d(256)
        self.layer3 = _stage(256, 512, _BLOCKS_PER_STAGE[2])
        self.layer3_conv = _conv3x3(512, 512)
        self.layer3_bn = _InferenceBatchNorm2d(512)
        self.layer4 = _stage(512, 512, _BLOCKS_PER_STAGE[3])
        self.layer4_conv2 = _conv3x3(512, _FEATURE_CHANNELS)
        self.layer4_conv2_bn = _InferenceBatchNorm2d(_FEATURE_CHANNELS)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.bn2(self.conv2(x)))
        stages = (
            (True, self.layer1, self.layer1_conv, self.layer1_bn),
            (True, self.layer2, self.layer2_conv, self.layer2_bn),
            (True, self.layer3, self.layer3_conv, self.layer3_bn),
            (False, self.layer4, self.layer4_conv2, self.layer4_conv2_bn),
        )
        for pooled, blocks, conv, norm in stages:
            if pooled:
                x = F.max_pool2d(x, 2)
            x = F.relu(norm(conv(blocks(x))))
        return x


class _Embeddings(nn.Module):
    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.lut = nn.Embedding(num_classes, dim)
        self.scale = math.sqrt(dim)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.lut(tokens) * self.scale


def _sinusoid_table(length: int, width: int) -> Tensor:
    # Same float32 operations in the same order as upstream's PositionalEncoding, so the
    # table is bitwise what an official checkpoint stores (the sha256 test checks it).
    rates = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * -(math.log(10000.0) / width))
    angles = torch.arange(0, length, dtype=torch.float32).unsqueeze(1) * rates
    return torch.stack((angles.sin(), angles.cos()), dim=-1).reshape(1, length, width)


class _PositionalTable(nn.Module):
    def __init__(self, length: int, width: int) -> None:
        super().__init__()
        # Persistent: official checkpoints carry it as ``pe.pe``.
        self.register_buffer("pe", _sinusoid_table(length, width))

    def forward(self, batch: int, length: int, dtype: torch.dtype) -> Tensor:
        return self.pe[:, :length].to(dtype).expand(batch, -1, -1)


class _UnbiasedLayerNorm(nn.Module):
    """Upstream's hand-written LayerNorm: unbiased std, eps added to the std (not the variance)."""

    def __init__(self, features: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.a_2 = nn.Parameter(torch.ones(features))
        self.b_2 = nn.Parameter(torch.zeros(features))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True)
        return self.a_2 * (x - mean) / (std + self.eps) + self.b_2


class _MultiHeadAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.linears = nn.ModuleList(nn.Linear(dim, dim) for _ in range(4))  # q, k, v, out
        # Never used (upstream builds every attention with compress_attention=False) but
        # present in every official checkpoint, so it must exist for a strict load.
        self.compress_attention_linear = nn.Linear(heads, 1)

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, length, dim = x.shape
        return x.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)

    def forward(self, query: Tensor, memory: Tensor, causal: bool, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        q = self._split_heads(self.linears[0](query))
        k = self._split_heads(self.linears[1](memory))
        v = self._split_heads(self.linears[2](memory))
        weights = None
        if need_weights:
            scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            if causal:
                allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = scores.softmax(dim=-1)
            mixed = torch.matmul(weights, v)
        else:
            mixed = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        batch, _, length, _ = mixed.shape
        return self.linears[3](mixed.transpose(1, 2).reshape(batch, length, -1)), weights


class _FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w_1 = nn.Linear(dim, hidden)
        self.w_2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.w_2(F.relu(self.w_1(x)))


class _Decoder(nn.Module):
    """One post-norm layer: masked self-attention, attention over the image, feed-forward."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_multihead = _MultiHeadAttention(_MODEL_DIM, _HEADS)
        self.mul_layernorm1 = _UnbiasedLayerNorm(_MODEL_DIM)
        self.multihead = _MultiHeadAttention(_MODEL_DIM, _HEADS)
        self.mul_layernorm2 = _UnbiasedLayerNorm(_MODEL_DIM)
        self.pff = _FeedForward(_MODEL_DIM, _FF_DIM)
        self.mul_layernorm3 = _UnbiasedLayerNorm(_MODEL_DIM)

    def forward(self, x: Tensor, conv_feature: Tensor, need_map: bool) -> tuple[Tensor, Tensor | None]:
        # The causal self-attention weights are never returned, so SDPA always does it.
        x = self.mul_layernorm1(x + self.mask_multihead(x, x, causal=True, need_weights=False)[0])
        image = conv_feature.flatten(2).transpose(1, 2)  # [B, h*w, C], row-major over (h, w)
        attended, attention_map = self.multihead(x, image, causal=False, need_weights=need_map)
        x = self.mul_layernorm2(x + attended)
        return self.mul_layernorm3(x + self.pff(x)), attention_map


class _Generator(nn.Module):
    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class TransOCR(nn.Module):
    """The official TransOCR ``Transformer`` in test mode.

    Upstream's ``text_length`` argument is dropped: in test mode it was only compared
    with None. Build with the default :class:`TransOCRConfig` for the official 7937-class
    recogniser.
    """

    def __init__(self, config: TransOCRConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding_word = _Embeddings(config.num_classes, _WORD_DIM)
        self.pe = _PositionalTable(_POSITIONS, _WORD_DIM)
        self.encoder = _ResNetEncoder()
        self.decoder = _Decoder()
        self.generator_word = _Generator(_MODEL_DIM, config.num_classes)

    def encode(self, image: Tensor) -> Tensor:
        """ResNet feature [B, 1024, H/16, W/16] of a [B, 3, H, W] image (32x256 -> 2x16)."""
        return self.encoder(image)

    def decode(self, text_input: Tensor, conv_feature: Tensor, need_map: bool = True) -> tuple[Tensor, Tensor | None]:
        """Decoder states [B, T, 1024] for token prefixes [B, T] and the image-attention map (if asked)."""
        words = self.embedding_word(text_input)
        positions = self.pe(words.shape[0], words.shape[1], words.dtype)
        return self.decoder(torch.cat((words, positions), dim=-1), conv_feature, need_map)

    def classify(self, states: Tensor) -> Tensor:
        """Logits over the classes for decoder states [..., 1024]."""
        return self.generator_word(states)

    def forward(
        self, image: Tensor, text_input: Tensor, conv_feature: Tensor | None = None, need_map: bool = True
    ) -> TransOCROutput:
        """Logits for every position of the token prefixes ``text_input`` [B, T] (0 = START).

        ``image`` is ignored when ``conv_feature`` (an earlier ``conv``) is given. With
        ``need_map=False`` the image attention also runs through SDPA and ``map`` is None.
        """
        if conv_feature is None:
            conv_feature = self.encode(image)
        states, attention_map = self.decode(text_input, conv_feature, need_map=need_map)
        return TransOCROutput(pred=self.classify(states), conv=conv_feature, map=attention_map)
