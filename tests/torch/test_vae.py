"""The f4 KL-VAE against the official tiny_A outputs and the full official key layout."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.vae import AutoencoderKL, LatentPosterior
from tests.reference import TINY_A_DIR, assert_matches, manifest, require_reference, tiny_a_io


def _manifest_layout(component: str) -> list[tuple[str, tuple[int, ...]]]:
    entry = manifest()["components"][component]
    rows = next(value for key, value in entry.items() if key.startswith("state_dict"))
    return [(key, tuple(shape)) for key, shape, _ in rows]


@pytest.fixture(scope="module")
def vae() -> AutoencoderKL:
    require_reference()
    config = load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")
    model = AutoencoderKL(config.vae).eval()
    model.load_state_dict(load_file(TINY_A_DIR / "tiny_A_VAE_model.safetensors"), strict=True)
    return model


def _lr_image_hwc() -> torch.Tensor:
    # The official pipeline divides uint8 by 255 in float64 (numpy) and only then casts to float32.
    return (tiny_a_io()["lr_image_uint8"].double() / 255.0).float()


@torch.inference_mode()
def test_encode_matches_official(vae: AutoencoderKL) -> None:
    io = tiny_a_io()
    x = _lr_image_hwc().permute(0, 3, 1, 2).contiguous()
    posterior = vae.encode(x)
    assert_matches(posterior.mean, io["vae_enc_mean"], "vae_enc_mean")
    assert_matches(posterior.logvar, io["vae_enc_logvar"], "vae_enc_logvar")


@torch.inference_mode()
def test_encode_does_not_depend_on_input_memory_layout(vae: AutoencoderKL) -> None:
    # A crop keeps this fast; a permuted HWC view is what an image loader naturally hands over.
    view = _lr_image_hwc()[:, :32, :64, :].permute(0, 3, 1, 2)
    assert not view.is_contiguous()
    from_view = vae.encode(view)
    from_copy = vae.encode(view.contiguous())
    assert torch.equal(from_view.mean, from_copy.mean)
    assert torch.equal(from_view.logvar, from_copy.logvar)


@torch.inference_mode()
def test_decode_matches_official(vae: AutoencoderKL) -> None:
    io = tiny_a_io()
    assert_matches(vae.decode(io["vae_dec_in_z"]), io["vae_dec_out"], "vae_dec_out")


def test_posterior_clamps_logvar_and_samples_with_given_noise() -> None:
    mean = torch.tensor([[[[0.5]]], [[[-1.0]]]])
    raw_logvar = torch.tensor([[[[-100.0]]], [[[2.0]]]])
    posterior = LatentPosterior.from_moments(torch.cat([mean, raw_logvar], dim=1))
    assert torch.equal(posterior.mean, mean)
    assert torch.equal(posterior.logvar, torch.tensor([[[[-30.0]]], [[[2.0]]]]))
    noise = torch.tensor([[[[2.0]]], [[[3.0]]]])
    expected = mean + torch.exp(0.5 * posterior.logvar) * noise
    assert torch.equal(posterior.sample(noise), expected)
    assert torch.equal(posterior.sample(torch.zeros_like(noise)), posterior.mode())


def test_full_config_key_layout_matches_official() -> None:
    with torch.device("meta"):
        model = AutoencoderKL(DiffTSRConfig().vae)
    ours = [(key, tuple(value.shape)) for key, value in model.state_dict().items()]
    assert ours == _manifest_layout("VAE_model")
