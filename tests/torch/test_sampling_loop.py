"""The whole 20-step DiffTSR loops of tiny_A, reproduced with the official draws injected."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from difftsr_ocr.models.config import load_difftsr_config
from difftsr_ocr.models.difftsr import DiffTSRNetworks, build_difftsr_networks
from difftsr_ocr.restore.sampling import SamplingConfig, SeededNoise, StepState, joint_denoise
from difftsr_ocr.samplers.multinomial import MultinomialConfig, MultinomialSampler
from difftsr_ocr.weights import load_difftsr_weights
from tests.hash_weights import gumbel_uniforms
from tests.reference import TINY_A_DIR, assert_matches, tiny_a_io

# README_tiny_A.json: the reference run's seed, also the SEED of the Gumbel hash formula.
REFERENCE_SEED = 1234


class OfficialDraws:
    """The draws of the reference run: given initial noise, eta = 0, hash uniforms."""

    def initial(self, shape: torch.Size, device: torch.device) -> torch.Tensor:
        return tiny_a_io()["ddim_in_noise"].to(device)

    def step(self, position: int, shape: torch.Size, device: torch.device) -> torch.Tensor:
        raise AssertionError("eta = 0 needs no step noise")

    def uniforms(self, position: int, shape: torch.Size, device: torch.device) -> torch.Tensor:
        return gumbel_uniforms(position, REFERENCE_SEED, tuple(shape)).to(device)


@pytest.fixture(scope="module")
def networks() -> DiffTSRNetworks:
    built = build_difftsr_networks(load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml"))
    load_difftsr_weights(built, TINY_A_DIR / "difftsr_tiny_A.ckpt")
    return built


@pytest.fixture(scope="module")
def z_lr(networks: DiffTSRNetworks) -> torch.Tensor:
    io = tiny_a_io()
    image = torch.from_numpy(io["lr_image_uint8"].numpy() / 255.0).float().permute(0, 3, 1, 2).contiguous()
    with torch.inference_mode():
        mean = networks.vae.encode(image).mean
    assert_matches(mean, io["ddim_z_LR"], "ddim_z_LR")
    return mean


def _run(networks: DiffTSRNetworks, z_lr: torch.Tensor, refine_text: bool) -> tuple[object, list[StepState]]:
    states: list[StepState] = []
    with torch.inference_mode():
        result = joint_denoise(
            networks,
            z_lr,
            tiny_a_io()["c_t"],
            SamplingConfig(steps=20, eta=0.0, refine_text=refine_text),
            OfficialDraws(),
            on_step=states.append,
        )
    return result, states


def test_official_default_loop(networks: DiffTSRNetworks, z_lr: torch.Tensor) -> None:
    io = tiny_a_io()
    result, states = _run(networks, z_lr, refine_text=False)
    assert [s.done for s in states] == list(range(1, 21))
    for step in (1, 10, 20):
        assert_matches(states[step - 1].latents, io[f"ddim_z_after_step_{step}"], f"step {step}")
    assert torch.equal(result.tokens, io["c_t"])
    with torch.inference_mode():
        decoded = networks.vae.decode(result.latents / networks.config.vae.scale_factor)
    image = (decoded.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1)
    assert (image.int() - io["ddim_image_uint8"].int()).abs().max() <= 1


def test_text_refining_loop(networks: DiffTSRNetworks, z_lr: torch.Tensor) -> None:
    io = tiny_a_io()
    result, states = _run(networks, z_lr, refine_text=True)
    trajectory = torch.stack([s.tokens for s in states])
    assert torch.equal(trajectory, io["ddim_general_false_c_t_trajectory"])
    assert not torch.equal(trajectory[-1], io["c_t"]), "the reference trajectory changes the transcript"
    assert_matches(result.latents, io["ddim_general_false_z_0"], "ddim_general_false_z_0")
    assert result.token_log_probs is not None and result.token_log_probs.shape == (2, 6736, 24)


def test_tdm_is_asked_about_the_ddim_index() -> None:
    sampler = MultinomialSampler(MultinomialConfig(num_steps=20))
    assert sampler.timesteps[0] == 19 and sampler.timesteps[-1] == 0


def test_a_crops_result_does_not_depend_on_its_batch(networks: DiffTSRNetworks, z_lr: torch.Tensor) -> None:
    config = SamplingConfig(steps=3, eta=0.2, refine_text=True)
    tokens = tiny_a_io()["c_t"]
    with torch.inference_mode():
        both = joint_denoise(networks, z_lr, tokens, config, SeededNoise([7, 8], "cpu"))
        alone = joint_denoise(networks, z_lr[1:], tokens[1:], config, SeededNoise([8], "cpu"))
        reseeded = joint_denoise(networks, z_lr[1:], tokens[1:], config, SeededNoise([9], "cpu"))
    torch.testing.assert_close(both.latents[1:], alone.latents, atol=1e-4, rtol=1e-4)
    assert torch.equal(both.tokens[1:], alone.tokens)
    assert not np.allclose(reseeded.latents.numpy(), alone.latents.numpy())


def test_tdm_predict_start_and_p_pred_match_official(networks: DiffTSRNetworks) -> None:
    io = tiny_a_io()
    sampler = MultinomialSampler(MultinomialConfig(num_classes=networks.config.num_classes))
    tokens = io["tdm_in_x"]
    with torch.inference_mode():
        # predict-start views the image condition [B, 3, 32, 128] as [B, -1, transformer_dim].
        start_context = io["tdm_ps_in_context"].reshape(tokens.shape[0], -1, networks.config.transformer_dim)
        start = sampler.posterior_log_probs(
            networks.tdm(tokens, io["tdm_ps_in_t"], start_context), tokens, io["tdm_ps_in_t"]
        )
        assert_matches(start.pred_original, io["tdm_predict_start_out"], "tdm_predict_start_out")
        pred = sampler.posterior_log_probs(
            networks.tdm(tokens, io["tdm_pp_in_t"], start_context), tokens, io["tdm_pp_in_t"]
        )
        assert_matches(pred.prev_sample, io["tdm_p_pred_out"], "tdm_p_pred_out")
