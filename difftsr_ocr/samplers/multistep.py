"""Few-step ODE solvers for the IDM latent: DPM-Solver++(2M) and UniPC, on the official schedule.

With text refinement off (the default) the IDM + MoM loop is an eps-prediction latent
diffusion over a fixed schedule, so its probability-flow ODE can be integrated with far
fewer network calls than DDIM's 200 by multistep solvers that reuse earlier outputs.
Both solvers work with the data prediction x0 = (x - sigma * eps) / alpha and in
lambda = log(alpha / sigma), following the papers' formulas: DPM-Solver++(2M) (Lu et al.,
2022) and UniPC with B(h) = e^h - 1 (Zhao et al., 2023). UniPC's second-order predictor is
the same update as DPM-Solver++(2M); what UniPC adds is a corrector that refines each
state with the network output already computed at it, one order higher for no extra call.

Every update is a fixed linear combination of the current state and the last data
predictions, whose weights depend only on the time grid: they are computed once in float64,
and a step is a few multiply-adds on the device, with no host synchronisation.
"""

from __future__ import annotations

import bisect
import dataclasses
import math

import torch

from difftsr_ocr.samplers import MULTISTEP_METHODS
from difftsr_ocr.samplers.base import LatentSampler, StepOutput
from difftsr_ocr.samplers.schedules import GaussianSchedule, linear_gaussian_schedule

__all__ = ["MultistepConfig", "MultistepSolver", "solver_timesteps"]

# Below this many steps the last update is first order: with very few, very long steps a
# second-order extrapolation into the last, least noisy stretch overshoots (DPM-Solver's advice).
_LOWER_ORDER_FINAL_BELOW = 15

# Columns of the per-position weight table.
_ALPHA, _SIGMA, _P_SAMPLE, _P_DATA, _P_PREVIOUS, _C_SAMPLE, _C_DATA, _C_PREVIOUS, _C_BEFORE = range(9)


@dataclasses.dataclass(frozen=True)
class MultistepConfig:
    method: str = "dpmpp_2m"
    num_steps: int = 20
    # The official DDPM schedule of the IDM (DiffTSR_pipline: linear 0.0015-0.0205, 1000 steps).
    num_train_steps: int = 1000
    linear_start: float = 0.0015
    linear_end: float = 0.0205
    # The ODE is integrated from the last training step to the first: the state DDIM
    # ends in too (its final alphas_prev is alphas_cumprod[0]).
    start_timestep: int = 999
    end_timestep: int = 0

    def __post_init__(self) -> None:
        if self.method not in MULTISTEP_METHODS:
            raise ValueError(f"multistep method must be one of {', '.join(MULTISTEP_METHODS)}, not {self.method!r}")
        span = self.start_timestep - self.end_timestep
        if not 1 <= self.num_steps <= span:
            raise ValueError(f"num_steps must be within 1..{span}, got {self.num_steps}")


def solver_timesteps(gaussian: GaussianSchedule, num_steps: int, start: int = 999, end: int = 0) -> list[int]:
    """``num_steps + 1`` integer timesteps from ``start`` down to ``end``, evenly spaced in lambda.

    Even in log-SNR (DPM-Solver's "logSNR" spacing) rather than in t: on this schedule
    lambda changes fastest near t = 0, and a grid uniform in t leaves one long last step
    there that keeps a second-order solver at first-order accuracy. Integers, because the
    U-Net embeds the integer DDPM step it was trained on; each point is the step nearest
    to its lambda, nudged so that the grid strictly decreases. The network is asked about
    the first ``num_steps`` points; the last is where the state ends.
    """
    alphas_cumprod = gaussian.alphas_cumprod_float64
    # Increasing in t: the log noise-to-signal ratio, -lambda.
    minus_lambda = (0.5 * torch.log((1.0 - alphas_cumprod) / alphas_cumprod)).tolist()
    targets = torch.linspace(minus_lambda[start], minus_lambda[end], num_steps + 1, dtype=torch.float64).tolist()
    grid = []
    for target in targets:
        above = min(bisect.bisect_left(minus_lambda, target), len(minus_lambda) - 1)
        below = max(above - 1, 0)
        grid.append(above if abs(minus_lambda[above] - target) < abs(minus_lambda[below] - target) else below)
    grid[0], grid[-1] = start, end
    for i in range(1, num_steps):
        grid[i] = min(grid[i], grid[i - 1] - 1)
    for i in range(num_steps - 1, 0, -1):
        grid[i] = max(grid[i], grid[i + 1] + 1)
    return grid


class MultistepSolver(LatentSampler):
    """DPM-Solver++(2M) or UniPC over the IDM latent (deterministic: ``noise`` is ignored).

    Steps must be taken in order from position 0, which starts a new trajectory; the
    solver keeps the last two data predictions (and, for UniPC, the last state) in between.
    """

    def __init__(self, config: MultistepConfig | None = None) -> None:
        self.config = config or MultistepConfig()
        gaussian = linear_gaussian_schedule(
            self.config.num_train_steps, self.config.linear_start, self.config.linear_end
        )
        grid = solver_timesteps(gaussian, self.config.num_steps, self.config.start_timestep, self.config.end_timestep)
        self.timesteps = grid[:-1]
        self.end_timestep = grid[-1]
        self.corrects = self.config.method == "unipc"
        self._orders = self._predictor_orders()
        super().__init__(gaussian, self.config.start_timestep, self._weight_table(gaussian, grid))
        self._data: list[torch.Tensor] = []
        self._last_sample: torch.Tensor | None = None
        self._next_position = 0

    def _predictor_orders(self) -> list[int]:
        steps = self.config.num_steps
        orders = [1 if position == 0 else 2 for position in range(steps)]
        if steps < _LOWER_ORDER_FINAL_BELOW:
            orders[-1] = 1
        return orders

    def _weight_table(self, gaussian: GaussianSchedule, grid: list[int]) -> torch.Tensor:
        alphas_cumprod = gaussian.alphas_cumprod_float64
        alpha = [math.sqrt(alphas_cumprod[t].item()) for t in grid]
        sigma = [math.sqrt(1.0 - alphas_cumprod[t].item()) for t in grid]
        lam = [math.log(a / s) for a, s in zip(alpha, sigma, strict=True)]
        rows = []
        for i in range(self.config.num_steps):
            row = [0.0] * 9
            row[_ALPHA], row[_SIGMA] = alpha[i], sigma[i]
            row[_P_SAMPLE], row[_P_DATA], row[_P_PREVIOUS] = self._predictor_weights(i, alpha, sigma, lam)
            if self.corrects and i > 0:
                weights = self._corrector_weights(i, alpha, sigma, lam)
                row[_C_SAMPLE], row[_C_DATA], row[_C_PREVIOUS], row[_C_BEFORE] = weights
            rows.append(row)
        return torch.tensor(rows, dtype=torch.float64).float()

    def _predictor_weights(
        self, i: int, alpha: list[float], sigma: list[float], lam: list[float]
    ) -> tuple[float, float, float]:
        """x_{i+1} = w_sample * x_i + w_data * D_i + w_previous * D_{i-1}."""
        h = lam[i + 1] - lam[i]
        phi = math.expm1(-h)
        if self._orders[i] == 1:
            return sigma[i + 1] / sigma[i], -alpha[i + 1] * phi, 0.0
        ratio = (lam[i] - lam[i - 1]) / h
        return (
            sigma[i + 1] / sigma[i],
            -alpha[i + 1] * phi * (1.0 + 0.5 / ratio),
            alpha[i + 1] * phi * 0.5 / ratio,
        )

    def _corrector_weights(
        self, i: int, alpha: list[float], sigma: list[float], lam: list[float]
    ) -> tuple[float, float, float, float]:
        """UniC: x_i = w_sample * x_{i-1} + w_data * D_i + w_previous * D_{i-1} + w_before * D_{i-2}.

        Its order is that of the predictor step that produced x_i; ``D_i`` is the data
        prediction at the predicted x_i, the call the next step needs anyway.
        """
        h = lam[i] - lam[i - 1]
        hh = -h
        phi = math.expm1(hh)
        # B(h) = e^h - 1 (the "bh2" variant), so the rho's below are the paper's for it.
        b_h = phi
        sample_weight = sigma[i] / sigma[i - 1]
        if self._orders[i - 1] == 1:
            rho_now = 0.5
            return sample_weight, -alpha[i] * b_h * rho_now, -alpha[i] * phi + alpha[i] * b_h * rho_now, 0.0
        step_ratio = (lam[i - 2] - lam[i - 1]) / h
        h_phi_1 = phi / hh - 1.0
        h_phi_2 = h_phi_1 / hh - 0.5
        rhs = torch.tensor([h_phi_1 / b_h, 2.0 * h_phi_2 / b_h], dtype=torch.float64)
        system = torch.tensor([[1.0, 1.0], [step_ratio, 1.0]], dtype=torch.float64)
        rho_before, rho_now = torch.linalg.solve(system, rhs).tolist()
        return (
            sample_weight,
            -alpha[i] * b_h * rho_now,
            -alpha[i] * phi + alpha[i] * b_h * (rho_before / step_ratio + rho_now),
            -alpha[i] * b_h * rho_before / step_ratio,
        )

    def step(
        self, model_output: torch.Tensor, position: int, sample: torch.Tensor, noise: torch.Tensor | None = None
    ) -> StepOutput:
        """Advance from ``timesteps[position]`` to the next grid point, given the predicted noise there."""
        if position == 0:
            self._data, self._last_sample = [], None
        elif position != self._next_position:
            raise ValueError(f"multistep solvers take their steps in order: expected position {self._next_position}")
        row = self._row(position, sample.device)
        data = (sample - row[_SIGMA] * model_output.to(sample.dtype)) / row[_ALPHA]
        if self.corrects and position > 0:
            sample = row[_C_SAMPLE] * self._last_sample + row[_C_DATA] * data + row[_C_PREVIOUS] * self._data[-1]
            if self._orders[position - 1] == 2:
                sample = sample + row[_C_BEFORE] * self._data[-2]
        prev = row[_P_SAMPLE] * sample + row[_P_DATA] * data
        if self._orders[position] == 2:
            prev = prev + row[_P_PREVIOUS] * self._data[-1]
        self._data = [*self._data[-1:], data]
        self._last_sample = sample
        self._next_position = position + 1
        return StepOutput(prev_sample=prev, pred_original=data)
