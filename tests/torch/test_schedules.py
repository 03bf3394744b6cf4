"""Noise schedules and sampler arithmetic against the official values."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from difftsr_ocr.samplers.ddim import DDIMConfig, DDIMSampler
from difftsr_ocr.samplers.multinomial import MultinomialSampler, tokens_to_log_onehot
from difftsr_ocr.samplers.schedules import cosine_multinomial_schedule, ddim_schedule, linear_gaussian_schedule
from tests.reference import assert_matches, require_reference, tiny_a_io


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    return load_file(require_reference() / "schedules.safetensors")


def test_gaussian_schedule_is_bit_exact(reference: dict[str, torch.Tensor]) -> None:
    schedule = linear_gaussian_schedule()
    assert torch.equal(schedule.betas_float64, reference["idm_betas_float64"])
    assert torch.equal(schedule.alphas_cumprod_float64, reference["idm_alphas_cumprod_float64"])
    assert torch.equal(schedule.alphas_cumprod, reference["idm_alphas_cumprod"])
    assert torch.equal(schedule.sqrt_alphas_cumprod, reference["idm_sqrt_alphas_cumprod"])
    assert torch.equal(schedule.sqrt_one_minus_alphas_cumprod, reference["idm_sqrt_one_minus_alphas_cumprod"])


@pytest.mark.parametrize(("steps", "eta"), [(200, 0.2), (20, 0.0)])
def test_ddim_schedule_is_bit_exact(reference: dict[str, torch.Tensor], steps: int, eta: float) -> None:
    schedule = ddim_schedule(linear_gaussian_schedule(), steps, eta)
    for field in ("timesteps", "alphas", "alphas_prev", "sigmas", "sqrt_one_minus_alphas"):
        ours, theirs = getattr(schedule, field), reference[f"ddim{steps}_eta{eta}_{field}"]
        assert ours.dtype == theirs.dtype, field
        assert torch.equal(ours, theirs), field


def test_multinomial_schedule_is_bit_exact(reference: dict[str, torch.Tensor]) -> None:
    schedule = cosine_multinomial_schedule()
    for field in ("log_alpha", "log_1_min_alpha", "log_cumprod_alpha", "log_1_min_cumprod_alpha"):
        assert torch.equal(getattr(schedule, field), reference[f"tdm_{field}"]), field


@pytest.mark.parametrize("steps", [3, 7, 50, 999])
def test_any_step_count_gives_that_many_steps_in_range(steps: int) -> None:
    schedule = ddim_schedule(linear_gaussian_schedule(), steps, 0.2)
    assert schedule.num_steps == steps
    assert schedule.timesteps.max() <= 999 and schedule.timesteps.min() == 1
    assert torch.all(schedule.timesteps.diff() > 0)


def test_step_count_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"1\.\.999"):
        ddim_schedule(linear_gaussian_schedule(), 1000, 0.0)


def test_ddim_loop_order_matches_upstream() -> None:
    sampler = DDIMSampler(DDIMConfig(num_steps=20, eta=0.0))
    assert sampler.timesteps[0] == 951 and sampler.timesteps[-1] == 1
    assert sampler.ddim_index(0) == 19 and sampler.ddim_index(19) == 0
    assert DDIMSampler().timesteps[0] == 996


def test_ddim_step_recovers_clean_latent_from_exact_noise() -> None:
    sampler = DDIMSampler(DDIMConfig(num_steps=20, eta=0.0))
    generator = torch.Generator().manual_seed(0)
    clean = torch.randn(2, 3, 4, 8, generator=generator)
    noise = torch.randn(2, 3, 4, 8, generator=generator)
    t = sampler.timesteps[0]
    noisy = sampler.gaussian.sqrt_alphas_cumprod[t] * clean + sampler.gaussian.sqrt_one_minus_alphas_cumprod[t] * noise
    out = sampler.step(noise, 0, noisy)
    torch.testing.assert_close(out.pred_original, clean, atol=1e-4, rtol=1e-4)


def test_stochastic_ddim_needs_noise() -> None:
    sampler = DDIMSampler()
    latent = torch.zeros(1, 3, 2, 2)
    with pytest.raises(ValueError, match="needs noise"):
        sampler.step(latent, 0, latent)
    quiet = sampler.step(latent, 0, latent, noise=torch.zeros_like(latent)).prev_sample
    loud = sampler.step(latent, 0, latent, noise=torch.ones_like(latent)).prev_sample
    assert not torch.equal(quiet, loud)


def test_tdm_q_posterior_matches_official() -> None:
    io = tiny_a_io()
    sampler = MultinomialSampler()
    log_x_t = tokens_to_log_onehot(io["tdm_qp_in_x_t"], 6736)
    out = sampler.q_posterior(io["tdm_predict_start_out"], log_x_t, io["tdm_qp_in_t"])
    assert_matches(out, io["tdm_q_posterior_out"], "tdm_q_posterior_out")


def test_log_onehot_floor_is_upstreams() -> None:
    log_onehot = tokens_to_log_onehot(torch.tensor([[2, 0]]), 3)
    assert log_onehot.shape == (1, 3, 2)
    assert log_onehot[0, 2, 0] == 0 and log_onehot[0, 0, 1] == 0
    assert torch.isclose(log_onehot[0, 1, 0], torch.tensor(-69.07755))
