"""The contract every sampler keeps: a list of timesteps, and one step per loop position."""

from __future__ import annotations

import dataclasses

import torch

__all__ = ["Sampler", "StepOutput"]


@dataclasses.dataclass(frozen=True)
class StepOutput:
    """One reverse-diffusion step.

    ``prev_sample`` is the state after the step (latents, or token ids); ``pred_original``
    is the model's estimate of the clean sample at this step (latents, or per-class
    log-probabilities of the clean tokens), which callers use for previews and confidences.
    """

    prev_sample: torch.Tensor
    pred_original: torch.Tensor


class Sampler:
    """Walks a schedule in ``num_steps`` loop positions ``0 .. num_steps-1``.

    At position ``i`` the caller asks its network about ``timesteps[i]`` for the current
    sample, then hands the network's output to ``step(model_output, i, sample, noise)``.
    ``noise`` is whatever randomness the step needs (Gaussian noise, uniforms), drawn by the
    caller so that a crop's result does not depend on its batch; deterministic samplers
    ignore it. Samplers never see a network.
    """

    timesteps: list[int]
    is_stochastic: bool = False

    @property
    def num_steps(self) -> int:
        return len(self.timesteps)

    def model_timesteps(self, position: int, batch_size: int, device: torch.device) -> torch.Tensor:
        """The timestep the network is told about at a loop position, one per batch item."""
        return torch.full((batch_size,), self.timesteps[position], dtype=torch.int64, device=device)

    def step(
        self, model_output: torch.Tensor, position: int, sample: torch.Tensor, noise: torch.Tensor | None = None
    ) -> StepOutput:
        raise NotImplementedError
