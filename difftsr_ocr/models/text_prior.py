"""DiffTSR's text prior: a greedy TransOCR reading of the low-resolution crop as IDM class ids.

This is upstream's ``Text_Prediction.predict`` (``model/TDM/models/text_prediction.py``):
resize to 32x256 (nearest, no normalisation), 24 greedy decoding steps, cut at END,
convert to simplified Chinese with zhconv, map characters to the IDM alphabet and pad
to 24 ids. The 24 steps run on the device without host synchronisation; the string
work happens once on the host afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import zhconv
from torch import Tensor

from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.models.alphabet import IDM_PAD_ID, TRANSOCR_START, idm_alphabet, idm_index, transocr_classes
from difftsr_ocr.models.transocr import TransOCR

__all__ = [
    "GreedyDecode",
    "TextPrior",
    "greedy_decode",
    "ids_to_text",
    "predict_text_prior",
    "text_to_ids",
]


@dataclasses.dataclass(frozen=True)
class GreedyDecode:
    """Raw greedy decoding: ``tokens`` [B, steps+1] int64 TransOCR classes (column 0 is START);
    ``probabilities`` [B, steps], the softmax probability of the token chosen at each step."""

    tokens: Tensor
    probabilities: Tensor


@dataclasses.dataclass(frozen=True)
class TextPrior:
    """The text prior of a batch.

    ``ids``: [B, label_length] int64 IDM class ids on the input's device (6735 pads and
    stands for characters outside the IDM alphabet), what the diffusion models consume.
    ``texts``: the recognised strings after the zh-cn conversion.
    ``confidences``: per image, the mean softmax probability of the greedy decisions
    that made the string: each kept character token plus the END token that stopped the
    scan (when it stopped on END). Upstream computes a product-based score and discards it.
    ``tokens``: the raw greedy TransOCR tokens [B, steps+1] (see :class:`GreedyDecode`).
    """

    ids: Tensor
    texts: list[str]
    confidences: list[float]
    tokens: Tensor


@torch.no_grad()
def greedy_decode(model: TransOCR, image: Tensor, steps: int | None = None) -> GreedyDecode:
    """Greedy decoding of [B, 3, H, W] images already at the recogniser's size.

    Like upstream, each step re-runs the decoder on the whole prefix (the encoder feature
    is computed once) and picks ``argmax(softmax(logits))`` at the last position.
    """
    steps = model.config.decode_steps if steps is None else steps
    conv_feature = model.encode(image)
    tokens = torch.full((image.shape[0], 1), TRANSOCR_START, dtype=torch.long, device=image.device)
    chosen_probabilities = []
    for _ in range(steps):
        states, _ = model.decode(tokens, conv_feature, need_map=False)
        # Only the last position's logits are needed; upstream projects every position,
        # which gives the same row. The argmax is taken on the softmax (not the logits) as
        # upstream does, so near-ties that round to equal probabilities resolve alike.
        probabilities = model.classify(states[:, -1]).softmax(dim=-1)
        best_probability, best = probabilities.max(dim=-1)
        chosen_probabilities.append(best_probability)
        tokens = torch.cat((tokens, best.unsqueeze(1)), dim=1)
    return GreedyDecode(tokens=tokens, probabilities=torch.stack(chosen_probabilities, dim=1))


def text_to_ids(text: str, label_length: int) -> list[int]:
    """IDM class ids of ``text``: unknown characters become 6735 (kept, not dropped); cut or padded with 6735."""
    index = idm_index()
    ids = [index.get(char, IDM_PAD_ID) for char in text[:label_length]]
    return ids + [IDM_PAD_ID] * (label_length - len(ids))


def ids_to_text(ids: Tensor | Sequence[Sequence[int]]) -> list[str]:
    """Strings of rows of IDM class ids; 6735 (padding / unknown) is skipped."""
    rows = ids.tolist() if isinstance(ids, Tensor) else ids
    alphabet = idm_alphabet()
    return ["".join(alphabet[i] for i in row if 0 <= i < IDM_PAD_ID) for row in rows]


def _read_tokens(tokens: list[int], probabilities: list[float], classes: list[str], scan: int) -> tuple[str, float]:
    end = len(classes) - 1
    kept: list[int] = []
    stopped_on_end = False
    # Upstream scans only columns 0..scan-1 (START + scan-1 tokens) although scan+1 exist,
    # so at most scan-1 characters come out; we keep that.
    for token in tokens[1:scan]:
        if token == end:
            stopped_on_end = True
            break
        kept.append(token)
    # Joining class names reproduces upstream's tensor2str, including the quirk that a
    # START token chosen mid-sequence contributes the five letters "START".
    text = "".join(classes[token] for token in kept)
    decisions = probabilities[: len(kept) + int(stopped_on_end)]
    confidence = sum(decisions) / len(decisions) if decisions else 0.0
    return zhconv.convert(text, "zh-cn"), confidence


@torch.no_grad()
def predict_text_prior(model: TransOCR, image: Tensor, label_length: int = 24) -> TextPrior:
    """Upstream's ``Text_Prediction.predict`` for a [B, 3, H, W] float batch in [0, 1].

    The ids come back on the image's device (upstream returned a CPU tensor).
    ``label_length`` is DiffTSR's ``max_length`` (24).
    """
    if image.ndim != 4 or image.shape[1] != 3 or not image.is_floating_point():
        raise InputImageError(
            f"text prior expects a float [B, 3, H, W] image batch in [0, 1], got {image.dtype} {tuple(image.shape)}"
        )
    classes = transocr_classes()
    if model.config.num_classes != len(classes):
        raise ConfigError(
            f"TransOCR has {model.config.num_classes} classes but the packaged alphabet has {len(classes)}; "
            "build it with the default TransOCRConfig"
        )
    config = model.config
    weight_dtype = model.embedding_word.lut.weight.dtype
    resized = F.interpolate(image.to(weight_dtype), size=(config.image_height, config.image_width), mode="nearest")
    decoded = greedy_decode(model, resized, config.decode_steps)
    # One transfer to the host for the whole batch, after the decoding loop.
    all_tokens = decoded.tokens.cpu().tolist()
    all_probabilities = decoded.probabilities.float().cpu().tolist()
    texts: list[str] = []
    confidences: list[float] = []
    for tokens, probabilities in zip(all_tokens, all_probabilities, strict=True):
        text, confidence = _read_tokens(tokens, probabilities, classes, scan=config.decode_steps)
        texts.append(text)
        confidences.append(confidence)
    ids = torch.tensor([text_to_ids(text, label_length) for text in texts], dtype=torch.long, device=image.device)
    return TextPrior(ids=ids, texts=texts, confidences=confidences, tokens=decoded.tokens)
