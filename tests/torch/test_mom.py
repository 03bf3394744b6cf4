"""MoM and its BERT-style text encoder against the official tiny_A outputs and the full key layout."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.mom import BERTTextEncoder, MoM
from tests.reference import TINY_A_DIR, assert_matches, manifest, require_reference, tiny_a_io

_TEXT_PREFIX = "Transformer."


def _manifest_layout(component: str) -> list[tuple[str, tuple[int, ...]]]:
    entry = manifest()["components"][component]
    rows = next(value for key, value in entry.items() if key.startswith("state_dict"))
    return [(key, tuple(shape)) for key, shape, _ in rows]


def _tiny_config() -> DiffTSRConfig:
    require_reference()
    return load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")


@pytest.fixture(scope="module")
def mom_state() -> dict[str, torch.Tensor]:
    require_reference()
    return load_file(TINY_A_DIR / "tiny_A_MoM_module.safetensors")


@pytest.fixture(scope="module")
def mom(mom_state: dict[str, torch.Tensor]) -> MoM:
    model = MoM(_tiny_config().mom).eval()
    model.load_state_dict(mom_state, strict=True)
    return model


@torch.inference_mode()
def test_text_encoder_alone_matches_official(mom_state: dict[str, torch.Tensor]) -> None:
    encoder = BERTTextEncoder(_tiny_config().mom.text_encoder).eval()
    text_state = {k[len(_TEXT_PREFIX) :]: v for k, v in mom_state.items() if k.startswith(_TEXT_PREFIX)}
    encoder.load_state_dict(text_state, strict=True)
    io = tiny_a_io()
    assert_matches(encoder(io["c_t"]), io["mom_out_C_cond"], "mom_out_C_cond")


@torch.inference_mode()
def test_mom_matches_official(mom: MoM) -> None:
    io = tiny_a_io()
    z_lr, z_t = io["mom_in_z_lr"].clone(), io["mom_in_z_t"].clone()
    i_cond, c_cond = mom(io["c_t"], z_lr, z_t, io["mom_in_t"])
    assert_matches(i_cond, io["mom_out_I_cond"], "mom_out_I_cond")
    assert_matches(c_cond, io["mom_out_C_cond"], "mom_out_C_cond")
    # Upstream scales its concatenation in place; the caller's latents must stay untouched.
    assert torch.equal(z_lr, io["mom_in_z_lr"])
    assert torch.equal(z_t, io["mom_in_z_t"])


@torch.inference_mode()
def test_text_encoder_accepts_shorter_sequences(mom: MoM) -> None:
    tokens = tiny_a_io()["c_t"]
    full = mom.Transformer(tokens)
    short = mom.Transformer(tokens[:, :5])
    assert short.shape == (tokens.shape[0], 5, full.shape[-1])
    assert torch.isfinite(short).all()


def test_full_config_key_layout_matches_official() -> None:
    with torch.device("meta"):
        model = MoM(DiffTSRConfig().mom)
    ours = [(key, tuple(value.shape)) for key, value in model.state_dict().items()]
    assert ours == _manifest_layout("MoM_module")
