"""Noise schedules of DiffTSR, computed exactly as the official code computes them.

Exactness matters more than elegance here: the official code mixes float64 numpy and
float32 torch arithmetic, and the per-step scalars it feeds the sampler are the
float32 roundings of those mixed results. Each function below says which precision
each quantity lives in, so that our sampler sees bit-identical scalars.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

__all__ = [
    "DDIMSchedule",
    "GaussianSchedule",
    "MultinomialSchedule",
    "cosine_multinomial_schedule",
    "ddim_schedule",
    "linear_gaussian_schedule",
    "noise_to",
]


@dataclasses.dataclass(frozen=True)
class GaussianSchedule:
    """The IDM's DDPM schedule (1000 steps)."""

    betas_float64: torch.Tensor
    alphas_cumprod_float64: torch.Tensor
    # The official pipeline stores these as float32 and computes everything else from them.
    alphas_cumprod: torch.Tensor
    sqrt_alphas_cumprod: torch.Tensor
    sqrt_one_minus_alphas_cumprod: torch.Tensor

    @property
    def num_train_steps(self) -> int:
        return self.alphas_cumprod.shape[0]


@dataclasses.dataclass(frozen=True)
class DDIMSchedule:
    """A DDIM sub-schedule; entry ``i`` belongs to DDIM index ``i`` (sampling walks it backwards)."""

    timesteps: torch.Tensor  # int64 DDPM step of each DDIM index
    alphas: torch.Tensor  # float32
    alphas_prev: torch.Tensor  # float64 holding float32 values, as upstream
    sigmas: torch.Tensor  # float64, as upstream
    sqrt_one_minus_alphas: torch.Tensor  # float32

    @property
    def num_steps(self) -> int:
        return self.timesteps.shape[0]


@dataclasses.dataclass(frozen=True)
class MultinomialSchedule:
    """The TDM's multinomial (categorical) diffusion schedule, float32 logs of float64 values."""

    log_alpha: torch.Tensor
    log_1_min_alpha: torch.Tensor
    log_cumprod_alpha: torch.Tensor
    log_1_min_cumprod_alpha: torch.Tensor

    @property
    def num_train_steps(self) -> int:
        return self.log_alpha.shape[0]


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded square root in the tensor's own dtype.

    torch's vectorised CPU sqrt can be one ulp off; upstream took these square roots
    with numpy, which rounds correctly, and one ulp is visible in the float32 scalars.
    """
    return torch.from_numpy(np.sqrt(x.numpy()))


def linear_gaussian_schedule(
    num_train_steps: int = 1000, linear_start: float = 0.0015, linear_end: float = 0.0205
) -> GaussianSchedule:
    """LDM's "linear" schedule: betas linear in sqrt(beta). Defaults are DiffTSR_pipline's."""
    betas = torch.linspace(linear_start**0.5, linear_end**0.5, num_train_steps, dtype=torch.float64) ** 2
    alphas_cumprod64 = torch.cumprod(1.0 - betas, dim=0)
    alphas_cumprod = alphas_cumprod64.float()
    return GaussianSchedule(
        betas_float64=betas,
        alphas_cumprod_float64=alphas_cumprod64,
        alphas_cumprod=alphas_cumprod,
        sqrt_alphas_cumprod=_sqrt(alphas_cumprod),
        sqrt_one_minus_alphas_cumprod=_sqrt(1.0 - alphas_cumprod),
    )


def noise_to(gaussian: GaussianSchedule, timestep: int, clean: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """A draw of q(x_t | x_0): where every Gaussian sampler's loop starts.

    The two scales are float32 scalars, as in the official loop's start state (the
    tiny_A reference loops check it).
    """
    scale = gaussian.sqrt_alphas_cumprod[timestep].item()
    noise_scale = gaussian.sqrt_one_minus_alphas_cumprod[timestep].item()
    return clean * torch.tensor(scale, dtype=torch.float32) + noise * torch.tensor(noise_scale, dtype=torch.float32)


def ddim_schedule(gaussian: GaussianSchedule, num_steps: int, eta: float) -> DDIMSchedule:
    """LDM's "uniform" DDIM discretisation.

    Upstream quirks kept on purpose: the DDPM steps are ``arange(0, T, T // N) + 1``
    (so 20 steps end at 951, not 999), and ``alphas_prev[0]`` is ``alphas_cumprod[0]``
    rather than 1.
    """
    total = gaussian.num_train_steps
    # The +1 offset below puts step T itself out of range, so at most T - 1 steps.
    if not 1 <= num_steps < total:
        raise ValueError(f"DDIM steps must be within 1..{total - 1}, got {num_steps}")
    stride = total // num_steps
    # Upstream's arange(0, total, stride) yields more than num_steps entries (and, for
    # some counts, step 1000, out of range) when num_steps does not divide total; we stop
    # after num_steps entries, which is identical whenever upstream works.
    timesteps = torch.arange(0, stride * num_steps, stride, dtype=torch.int64) + 1
    alphas = gaussian.alphas_cumprod[timesteps]
    alphas_prev = torch.cat([gaussian.alphas_cumprod[:1], alphas[:-1]]).double()
    # Upstream divides a float64 numpy array by a float32 tensor, which torch evaluates
    # as float32 reciprocal times float64; the rounding of that reciprocal is in the values.
    ratio = (1.0 - alphas_prev) * (1.0 - alphas).reciprocal().double() * (1.0 - alphas.double() / alphas_prev)
    sigmas = eta * _sqrt(ratio)
    return DDIMSchedule(
        timesteps=timesteps,
        alphas=alphas,
        alphas_prev=alphas_prev,
        sigmas=sigmas,
        sqrt_one_minus_alphas=_sqrt(1.0 - alphas),
    )


def _log_1_min_a(log_a: torch.Tensor) -> torch.Tensor:
    # The 1e-40 keeps log finite where a == 1; it is part of the official values.
    return torch.log(1.0 - log_a.exp() + 1e-40)


def cosine_multinomial_schedule(num_train_steps: int = 1000, offset: float = 0.008) -> MultinomialSchedule:
    """The cosine schedule of multinomial diffusion (Hoogeboom et al.), as the TDM uses it.

    Upstream samples the cosine at ``linspace(0, T+1, T+1)`` (not ``arange``) and keeps the
    square root of the clipped ratio as alpha; both are reproduced.
    """
    steps = num_train_steps + 1
    x = torch.linspace(0, steps, steps, dtype=torch.float64)
    alphas_cumprod = torch.cos(((x / steps) + offset) / (1 + offset) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    alphas = torch.sqrt(torch.clip(alphas_cumprod[1:] / alphas_cumprod[:-1], 0.001, 1.0))
    log_alpha = torch.log(alphas)
    log_cumprod_alpha = torch.cumsum(log_alpha, dim=0)
    return MultinomialSchedule(
        log_alpha=log_alpha.float(),
        log_1_min_alpha=_log_1_min_a(log_alpha).float(),
        log_cumprod_alpha=log_cumprod_alpha.float(),
        log_1_min_cumprod_alpha=_log_1_min_a(log_cumprod_alpha).float(),
    )
