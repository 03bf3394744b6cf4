"""A diffusion whose every answer is known: Gaussian data, to measure samplers against.

With data x0 ~ N(mean, diag(std^2)), the noised x_t = alpha_t x0 + sigma_t eps is Gaussian
too, so the ideal network's answer E[eps | x_t] has a closed form, and so does the
probability-flow ODE: it moves each coordinate's z-score (x_t - alpha_t mean) / s_t, with
s_t^2 = alpha_t^2 std^2 + sigma_t^2, not at all. A sampler fed the exact eps therefore has
one error left, its own discretisation error, which is what ``benchmarks/solvers.py`` and
the tests measure (error vs steps, and the order it shows when the steps double).

numpy at import, like the rest of :mod:`difftsr_ocr.evaluation`; ``integrate`` and
``ode_error`` drive torch samplers and import torch when called.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from difftsr_ocr.samplers.base import Sampler

__all__ = ["GaussianData", "integrate", "ode_error"]


@dataclasses.dataclass(frozen=True)
class GaussianData:
    mean: np.ndarray
    std: np.ndarray
    # The DDPM schedule's cumulative alphas (float64), indexed by timestep.
    alphas_cumprod: np.ndarray

    @classmethod
    def random(cls, alphas_cumprod: np.ndarray, dim: int = 4096, seed: int = 0) -> GaussianData:
        """Coordinates with means around 0 and spreads from 0.1 to 1: sharp and broad ones."""
        rng = np.random.default_rng(seed)
        return cls(
            mean=0.5 * rng.standard_normal(dim),
            std=rng.uniform(0.1, 1.0, dim),
            alphas_cumprod=np.asarray(alphas_cumprod, dtype=np.float64),
        )

    def _scales(self, t: int) -> tuple[float, float]:
        return float(np.sqrt(self.alphas_cumprod[t])), float(np.sqrt(1.0 - self.alphas_cumprod[t]))

    def _spread(self, t: int) -> np.ndarray:
        alpha, sigma = self._scales(t)
        return np.sqrt(alpha**2 * self.std**2 + sigma**2)

    def noised(self, t: int, seed: int = 1) -> np.ndarray:
        """A draw of x_t: data noised to timestep ``t``."""
        rng = np.random.default_rng(seed)
        alpha, sigma = self._scales(t)
        clean = self.mean + self.std * rng.standard_normal(self.mean.shape)
        return alpha * clean + sigma * rng.standard_normal(self.mean.shape)

    def eps(self, x: np.ndarray, t: int) -> np.ndarray:
        """The ideal eps-prediction E[eps | x_t = x]."""
        alpha, sigma = self._scales(t)
        return sigma * (x - alpha * self.mean) / self._spread(t) ** 2

    def flow(self, x: np.ndarray, t_from: int, t_to: int) -> np.ndarray:
        """The exact probability-flow ODE solution from ``t_from`` to ``t_to``."""
        z_score = (x - self._scales(t_from)[0] * self.mean) / self._spread(t_from)
        return self._scales(t_to)[0] * self.mean + self._spread(t_to) * z_score


def integrate(sampler: Sampler, data: GaussianData, start: np.ndarray) -> np.ndarray:
    """Run ``sampler`` over its loop from ``start`` with the exact eps; the final state (float32 math)."""
    import torch

    sample = torch.from_numpy(start).float()
    for position, t in enumerate(sampler.timesteps):
        model_output = torch.from_numpy(data.eps(sample.double().numpy(), t)).float()
        sample = sampler.step(model_output, position, sample).prev_sample
    return sample.double().numpy()


def ode_error(data: GaussianData, sampler: str, steps: int, start: int = 999, end: int = 0) -> float:
    """Largest deviation of a sampler's final state from the exact ODE solution at ``end``.

    The samplers all start at ``start`` (999) and end at t = 0, DDIM included (its last
    ``alphas_prev`` is ``alphas_cumprod[0]``); eta is 0, so DDIM is an ODE solver too.
    """
    from difftsr_ocr.restore.sampling import SamplingConfig, build_latent_sampler

    noised = data.noised(start)
    solver = build_latent_sampler(SamplingConfig(sampler=sampler, steps=steps, eta=0.0))
    return float(np.abs(integrate(solver, data, noised) - data.flow(noised, start, end)).max())
