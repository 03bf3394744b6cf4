"""The latent U-Net against the official implementation (tiny_A I/O, full-size layouts)."""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.models.config import LATENT_SCALE, DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.layers import timestep_embedding
from difftsr_ocr.models.unet import UNet
from tests.reference import TINY_A_DIR, assert_matches, manifest, require_reference, tiny_a_io

MOM_UNET_PREFIX = "Unet."


@cache
def tiny_a_config() -> DiffTSRConfig:
    require_reference()
    return load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")


def tiny_a_idm_unet() -> UNet:
    model = UNet(tiny_a_config().idm_unet).eval()
    model.load_state_dict(load_file(TINY_A_DIR / "tiny_A_IDM_Unet.safetensors"), strict=True)
    return model


def manifest_layout(component: str, prefix: str = "") -> list[tuple[str, list[int], str]]:
    entries = manifest()["components"][component]["state_dict [key, shape, dtype] in order"]
    return [(key[len(prefix) :], list(shape), dtype) for key, shape, dtype in entries if key.startswith(prefix)]


def layout(model: torch.nn.Module) -> list[tuple[str, list[int], str]]:
    return [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()]


def test_tiny_a_idm_unet_matches_official_output() -> None:
    io = tiny_a_io()
    with torch.no_grad():
        out = tiny_a_idm_unet()(io["unet_in_x"], io["unet_in_timesteps"], io["unet_in_context"])
    assert out.dtype == torch.float32
    assert out.is_contiguous()  # channels-last inside on CPU, NCHW at the door
    assert_matches(out, io["unet_out"], "unet_out")


def test_full_idm_unet_layout_equals_official_manifest() -> None:
    with torch.device("meta"):
        model = UNet(DiffTSRConfig().idm_unet)
    assert layout(model) == manifest_layout("IDM_Unet")
    assert sum(p.numel() for p in model.parameters()) == manifest()["param_counts"]["IDM_Unet"]


def test_full_mom_unet_layout_equals_official_manifest() -> None:
    with torch.device("meta"):
        model = UNet(DiffTSRConfig().mom.unet)
    expected = manifest_layout("MoM_module", MOM_UNET_PREFIX)
    assert expected, "manifest has no MoM U-Net keys"
    assert layout(model) == expected


def test_tiny_a_mom_unet_loads_strictly_and_runs() -> None:
    state = load_file(TINY_A_DIR / "tiny_A_MoM_module.safetensors")
    unet_state = {k.removeprefix(MOM_UNET_PREFIX): v for k, v in state.items() if k.startswith(MOM_UNET_PREFIX)}
    model = UNet(tiny_a_config().mom.unet).eval()
    model.load_state_dict(unet_state, strict=True)

    io = tiny_a_io()
    # What MoM_model.forward feeds its U-Net: scale * cat[z_lr, z_t], context = first_embeder(c_t).
    x = torch.cat([io["mom_in_z_lr"], io["mom_in_z_t"]], dim=1) * LATENT_SCALE
    context = F.embedding(io["c_t"], state["first_embeder.weight"])
    with torch.no_grad():
        out = model(x, io["mom_in_t"], context)
    assert out.shape == io["mom_out_I_cond"].shape == (2, 3, 32, 128)
    assert_matches(out, io["mom_out_I_cond"], "MoM I_cond")


def test_timestep_embedding_is_cos_then_sin_with_max_period_10000() -> None:
    t = torch.tensor([0, 1, 951])
    emb = timestep_embedding(t, 8)
    assert emb.shape == (3, 8) and emb.dtype == torch.float32
    freqs = [math.exp(-math.log(10000) * i / 4) for i in range(4)]
    expected = [[math.cos(s * f) for f in freqs] + [math.sin(s * f) for f in freqs] for s in (0, 1, 951)]
    torch.testing.assert_close(emb, torch.tensor(expected), atol=2e-4, rtol=0)
    assert timestep_embedding(t, 9)[:, -1].eq(0).all()


def test_reduced_precision_runs_and_stays_close() -> None:
    io = tiny_a_io()
    model = tiny_a_idm_unet()
    # A small crop (the U-Net is fully convolutional): bf16 convolutions are slow on many CPUs.
    args = (io["unet_in_x"][:1, :, :8, :32], io["unet_in_timesteps"][:1], io["unet_in_context"][:1])
    with torch.no_grad():
        reference = model(*args)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast_out = model(*args)
        bf16_out = model.to(torch.bfloat16)(*args)
    tolerance = 0.05 * reference.abs().max().item()
    for out in (autocast_out, bf16_out):
        assert out.dtype == torch.float32 and torch.isfinite(out).all()
        assert (out - reference).abs().max().item() < tolerance


def test_rejects_latents_it_cannot_downsample() -> None:
    model = UNet(tiny_a_config().idm_unet)
    with pytest.raises(ValueError, match="divisible by 2"):
        model(torch.zeros(1, 6, 31, 128), torch.zeros(1, dtype=torch.long), torch.zeros(1, 24, 16))


def test_rejects_conv_resampling_config() -> None:
    config = dataclasses.replace(tiny_a_config().idm_unet, resblock_updown=False)
    with pytest.raises(ConfigError, match="resblock_updown"):
        UNet(config)


@pytest.mark.parametrize(
    ("kernel", "shape", "channels_last", "tolerance"),
    [
        (3, (1, 64, 4, 16), True, 1e-5),  # the U-Nets' maps: oneDNN with prepacked weights
        (3, (2, 64, 8, 8), True, 1e-5),
        (1, (1, 64, 4, 16), True, 1e-5),
        (3, (1, 64, 16, 32), False, 1e-5),  # NCHW (the VAE's): PyTorch's own kernel
        # Large map: Winograd where this CPU runs it clearly faster. Its transforms cost
        # precision: errors of ~3e-5 on outputs of ~1 (a direct convolution: ~1e-6).
        (3, (2, 64, 64, 128), False, 1e-4),
        (3, (2, 64, 64, 128), True, 1e-4),
    ],
)
def test_cpu_fast_convolution_agrees_with_a_float64_convolution(
    kernel: int, shape: tuple[int, ...], channels_last: bool, tolerance: float
) -> None:
    from difftsr_ocr.models.layers import CpuFastConv2d

    torch.manual_seed(0)
    conv = CpuFastConv2d(64, 96, kernel, padding=kernel // 2)
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected = torch.nn.functional.conv2d(
            x.double(), conv.weight.double(), conv.bias.double(), padding=kernel // 2
        ).float()
        result = conv(x)
    torch.testing.assert_close(result, expected, atol=tolerance, rtol=tolerance)
    # The layout a caller gives is the layout it gets back.
    assert result.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def test_cpu_fast_convolution_repacks_weights_that_change() -> None:
    import copy
    import pickle

    from difftsr_ocr.models.layers import CpuFastConv2d

    torch.manual_seed(0)
    conv = CpuFastConv2d(32, 32, 3, padding=1)
    x = torch.randn(1, 32, 4, 16).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        conv(x)  # packs the weights
    with torch.no_grad():
        conv.load_state_dict({"weight": 2 * conv.weight, "bias": conv.bias})  # in place: same storage
    with torch.inference_mode():
        expected = F.conv2d(x, conv.weight, conv.bias, padding=1)
        torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)
        # Copies and pickles leave the packed weights behind and make their own.
        for clone in (copy.deepcopy(conv), pickle.loads(pickle.dumps(conv))):
            torch.testing.assert_close(clone(x), expected, atol=1e-5, rtol=1e-5)


def test_cpu_fast_linear_agrees_with_a_float64_linear() -> None:
    from difftsr_ocr.models.layers import CpuFastLinear

    torch.manual_seed(0)
    linear = CpuFastLinear(64, 96)
    x = torch.randn(2, 64, 10).transpose(1, 2)  # [B, N, C] views, as the U-Net's tokens
    with torch.inference_mode():
        expected = F.linear(x.double(), linear.weight.double(), linear.bias.double()).float()
        torch.testing.assert_close(linear(x), expected, atol=1e-5, rtol=1e-5)


def test_cpu_fast_convolution_leaves_size_changing_convolutions_to_torch() -> None:
    from difftsr_ocr.models.layers import CpuFastConv2d

    conv = CpuFastConv2d(8, 8, 3, padding=0)
    x = torch.randn(1, 8, 4, 16)  # small enough for the GEMM path, which assumes "same" padding
    with torch.inference_mode():
        assert conv(x).shape == (1, 8, 2, 14)


def test_cpu_fast_convolution_keeps_gradients_on_the_regular_path() -> None:
    from difftsr_ocr.models.layers import CpuFastConv2d

    conv = CpuFastConv2d(64, 64, 3, padding=1)
    x = torch.randn(1, 64, 64, 64, requires_grad=True)
    conv(x).sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
