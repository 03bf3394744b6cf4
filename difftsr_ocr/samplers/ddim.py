"""The IDM's DDIM sampler (latent Gaussian diffusion), exact to the official DiffTSR loop."""

from __future__ import annotations

import dataclasses

import torch

from difftsr_ocr.samplers.base import LatentSampler, StepOutput
from difftsr_ocr.samplers.schedules import (
    DDIMSchedule,
    ddim_schedule,
    linear_gaussian_schedule,
)

__all__ = ["DDIMConfig", "DDIMSampler"]


@dataclasses.dataclass(frozen=True)
class DDIMConfig:
    # DiffTSR_pipline.__init__: IDM_ddpm_schedule_init(1000, "linear", 0.0015, 0.0205) and
    # IDM_ddim_schedule_init(200, "uniform", eta=0.2).
    num_train_steps: int = 1000
    linear_start: float = 0.0015
    linear_end: float = 0.0205
    num_steps: int = 200
    eta: float = 0.2
    # DiffTSR_sample noises z_LR to t=999 although the first DDIM step then runs at
    # t = timesteps[-1] (996 for 200 steps, 951 for 20).
    start_timestep: int = 999

    def __post_init__(self) -> None:
        if not 1 <= self.num_steps < self.num_train_steps:
            raise ValueError(f"num_steps must be within 1..{self.num_train_steps - 1}, got {self.num_steps}")
        if self.eta < 0:
            raise ValueError(f"eta must be >= 0, got {self.eta}")


class DDIMSampler(LatentSampler):
    """Deterministic-or-stochastic DDIM over the IDM latent.

    Loop positions run ``0 .. num_steps-1``; position ``i`` uses DDIM index
    ``num_steps-1-i`` and asks the denoiser about DDPM step ``timesteps[i]``.
    All per-step scalars are precomputed in float32 exactly as upstream rounds them, and
    moved to the sample's device once, so a step does no host work and no host sync.
    """

    def __init__(self, config: DDIMConfig | None = None) -> None:
        self.config = config or DDIMConfig()
        gaussian = linear_gaussian_schedule(
            self.config.num_train_steps, self.config.linear_start, self.config.linear_end
        )
        self.schedule: DDIMSchedule = ddim_schedule(gaussian, self.config.num_steps, self.config.eta)
        self.timesteps = self.schedule.timesteps.flip(0).tolist()
        self.is_stochastic = self.config.eta > 0
        super().__init__(gaussian, self.config.start_timestep, self._step_coefficients())

    def ddim_index(self, position: int) -> int:
        return self.num_steps - 1 - position

    def _step_coefficients(self) -> torch.Tensor:
        # Rows in loop order; columns: sqrt(1-a_t), sqrt(a_t), sqrt(a_prev), sqrt(1-a_prev-sigma^2), sigma.
        # Upstream puts each scalar in a float32 tensor (torch.full) and does the arithmetic there.
        s = self.schedule
        a_t = s.alphas
        a_prev = s.alphas_prev.float()
        sigma = s.sigmas.float()
        table = torch.stack(
            [s.sqrt_one_minus_alphas, a_t.sqrt(), a_prev.sqrt(), (1.0 - a_prev - sigma**2).sqrt(), sigma]
        )
        return table.t().flip(0).contiguous()

    def step(
        self, model_output: torch.Tensor, position: int, sample: torch.Tensor, noise: torch.Tensor | None = None
    ) -> StepOutput:
        """One DDIM update from the predicted noise ``model_output`` (eps parameterisation).

        ``noise`` is required when eta > 0; the caller draws it (one generator per crop)
        so that a crop's result does not depend on the batch it is in.
        """
        sqrt_one_minus_at, sqrt_at, sqrt_a_prev, direction_scale, sigma = self._row(position, sample.device)
        eps = model_output.to(sample.dtype)
        pred_original = (sample - sqrt_one_minus_at * eps) / sqrt_at
        prev = sqrt_a_prev * pred_original + direction_scale * eps
        if self.is_stochastic:
            if noise is None:
                raise ValueError("DDIM with eta > 0 needs noise for every step")
            prev = prev + sigma * noise
        return StepOutput(prev_sample=prev, pred_original=pred_original)
