"""The contract every sampler keeps: a list of timesteps, and one step per loop position."""

from __future__ import annotations

import dataclasses

import torch

from difftsr_ocr.samplers.schedules import GaussianSchedule, noise_to

__all__ = ["LatentSampler", "Sampler", "StepOutput"]


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


class LatentSampler(Sampler):
    """A sampler of the IDM's Gaussian latent: its loop starts from a draw of q(x_t | x_0),
    and each step reads one row of a per-position table of scalars computed once, kept on
    each device it is used on so that a step does no host work."""

    def __init__(self, gaussian: GaussianSchedule, start_timestep: int, table: torch.Tensor) -> None:
        self.gaussian = gaussian
        self.start_timestep = start_timestep
        self._table = table
        self._tables_on_device: dict[torch.device, torch.Tensor] = {}

    def _row(self, position: int, device: torch.device) -> torch.Tensor:
        if device not in self._tables_on_device:
            self._tables_on_device[device] = self._table.to(device)
        return self._tables_on_device[device][position]

    def add_noise(self, clean: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """q(x_t | x_0) at the start timestep: the first state of the loop."""
        return noise_to(self.gaussian, self.start_timestep, clean, noise)
