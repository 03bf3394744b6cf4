"""The few-step solvers against exact answers: Gaussian data, then the tiny reference networks."""

from __future__ import annotations

import itertools

import pytest
import torch

from difftsr_ocr.evaluation.analytic_diffusion import GaussianData, ode_error
from difftsr_ocr.models.config import load_difftsr_config
from difftsr_ocr.models.difftsr import DiffTSRNetworks, build_difftsr_networks
from difftsr_ocr.restore.sampling import SamplingConfig, SeededNoise, joint_denoise
from difftsr_ocr.samplers.multistep import MultistepConfig, MultistepSolver, solver_timesteps
from difftsr_ocr.samplers.schedules import linear_gaussian_schedule
from difftsr_ocr.weights import load_difftsr_weights
from tests.reference import TINY_A_DIR, tiny_a_io

START, END = 999, 0


@pytest.fixture(scope="module")
def data() -> GaussianData:
    return GaussianData.random(linear_gaussian_schedule().alphas_cumprod_float64.numpy())


@pytest.mark.parametrize(("sampler", "low", "high"), [("ddim", 1.6, 2.4), ("dpmpp_2m", 3.2, 5.0), ("unipc", 5.5, 10.0)])
def test_each_solver_shows_its_order(data: GaussianData, sampler: str, low: float, high: float) -> None:
    # Doubling the steps divides a p-th order solver's error by about 2^p: DDIM is first
    # order, DPM-Solver++(2M) second, UniPC (second-order predictor + corrector) third.
    ratio = ode_error(data, sampler, 20) / ode_error(data, sampler, 40)
    assert low < ratio < high, ratio


@pytest.mark.parametrize("sampler", ["dpmpp_2m", "unipc"])
def test_twenty_solver_steps_are_as_accurate_as_two_hundred_ddim_steps(data: GaussianData, sampler: str) -> None:
    assert ode_error(data, sampler, 20) < ode_error(data, "ddim", 200)


def test_solvers_end_on_the_exact_solution_as_steps_grow(data: GaussianData) -> None:
    # What is left at many steps is the coarseness of the integer grid near t = 0, not drift.
    assert ode_error(data, "unipc", 60) < 2e-3


@pytest.mark.parametrize("steps", [1, 2, 7, 20, 200, 999])
def test_solver_grid_is_strictly_decreasing_integers_from_start_to_end(steps: int) -> None:
    grid = solver_timesteps(linear_gaussian_schedule(), steps)
    assert len(grid) == steps + 1 and grid[0] == START and grid[-1] == END
    assert all(a > b for a, b in itertools.pairwise(grid))
    solver = MultistepSolver(MultistepConfig(num_steps=steps))
    assert solver.timesteps == grid[:-1] and solver.num_steps == steps


def test_multistep_solver_refuses_steps_out_of_order() -> None:
    solver = MultistepSolver(MultistepConfig(num_steps=5))
    sample = torch.zeros(1, 3, 4, 4)
    solver.step(sample, 0, sample)
    with pytest.raises(ValueError, match="in order"):
        solver.step(sample, 2, sample)
    # Position 0 starts a new trajectory.
    solver.step(sample, 0, sample)
    solver.step(sample, 1, sample)


def test_sampler_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="sampler must be one of"):
        SamplingConfig(sampler="euler")
    with pytest.raises(ValueError, match="refine_text needs the ddim sampler"):
        SamplingConfig(sampler="unipc", refine_text=True)


@pytest.fixture(scope="module")
def networks() -> DiffTSRNetworks:
    built = build_difftsr_networks(load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml"))
    load_difftsr_weights(built, TINY_A_DIR / "difftsr_tiny_A.ckpt")
    return built


def test_solvers_integrate_the_same_ode_as_ddim_on_the_reference_networks(networks: DiffTSRNetworks) -> None:
    """The real loop (MoM, U-Net on [z_t, z_LR], the official start state) under each sampler.

    DDIM with eta 0 is a first-order solver of the same ODE: its distance to a fine UniPC
    solution halves when its steps double, which only happens if both integrate one ODE
    from one start. DPM-Solver++ at a quarter of DDIM's calls is then closer still.
    """
    io = tiny_a_io()
    image = torch.from_numpy(io["lr_image_uint8"][:1].numpy() / 255.0).float().permute(0, 3, 1, 2).contiguous()

    def final(sampler: str, steps: int) -> torch.Tensor:
        config = SamplingConfig(sampler=sampler, steps=steps, eta=0.0)
        return joint_denoise(networks, z_lr, io["c_t"][:1], config, SeededNoise([5], "cpu")).latents

    with torch.inference_mode():
        z_lr = networks.vae.encode(image).mean
        reference = final("unipc", 60)
        ddim_coarse, ddim_fine = (float((final("ddim", n) - reference).pow(2).mean().sqrt()) for n in (25, 50))
        solver = float((final("dpmpp_2m", 12) - reference).pow(2).mean().sqrt())
    assert 1.6 < ddim_coarse / ddim_fine < 2.6, (ddim_coarse, ddim_fine)
    assert solver < ddim_fine, (solver, ddim_fine)
