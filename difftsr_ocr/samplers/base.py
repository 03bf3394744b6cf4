"""What every sampler step returns."""

from __future__ import annotations

import dataclasses

import torch

__all__ = ["StepOutput"]


@dataclasses.dataclass(frozen=True)
class StepOutput:
    """One reverse-diffusion step.

    ``prev_sample`` is the state after the step (latents, or token ids); ``pred_original``
    is the model's estimate of the clean sample at this step (latents, or per-class
    log-probabilities of the clean tokens), which callers use for previews and confidences.
    """

    prev_sample: torch.Tensor
    pred_original: torch.Tensor
