"""TDM text transformer: tiny_A outputs of the official DynamicsTransformer, full key layout, axial key spellings."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from difftsr_ocr.errors import ConfigError, WeightsError
from difftsr_ocr.models.config import DiffTSRConfig, TDMConfig, load_difftsr_config
from difftsr_ocr.models.text_transformer import (
    AXIAL_SPELLING_LEGACY,
    AXIAL_SPELLING_LIST,
    AXIAL_SPELLING_NONE,
    TextDiffusionTransformer,
    axial_key_spelling,
    normalize_axial_keys,
)
from tests.reference import TINY_A_DIR, assert_matches, manifest, require_reference, tiny_a_io

MANIFEST_KEYS = "state_dict [key, shape, dtype] in order"


@pytest.fixture(scope="module")
def tiny_config() -> TDMConfig:
    require_reference()
    return load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml").tdm


@pytest.fixture(scope="module")
def tiny_weights() -> dict[str, torch.Tensor]:
    require_reference()
    return load_file(TINY_A_DIR / "tiny_A_TDM_Decoder.safetensors")


@pytest.fixture(scope="module")
def tiny_model(tiny_config: TDMConfig, tiny_weights: dict[str, torch.Tensor]) -> TextDiffusionTransformer:
    model = TextDiffusionTransformer(tiny_config).eval()
    model.load_state_dict(tiny_weights, strict=True)
    return model


def _run_reference(model: TextDiffusionTransformer) -> torch.Tensor:
    io = tiny_a_io()
    with torch.no_grad():
        return model(io["tdm_in_x"], io["tdm_in_t"], io["tdm_in_context"])


def test_tiny_a_output_matches_official(tiny_model: TextDiffusionTransformer) -> None:
    io = tiny_a_io()
    out = _run_reference(tiny_model)
    assert out.dtype == torch.float32
    assert_matches(out, io["tdm_decoder_out"], "tdm_decoder_out")
    # Both a noisy (t=999) and an almost clean (t=5) timestep are in the batch.
    assert set(io["tdm_in_t"].tolist()) == {999, 5}


def test_full_config_layout_equals_manifest() -> None:
    with torch.device("meta"):
        model = TextDiffusionTransformer(DiffTSRConfig().tdm)
    ours = [(key, list(value.shape)) for key, value in model.state_dict().items()]
    component = manifest()["components"]["TDM_Decoder"]
    reference = [(key, list(shape)) for key, shape, _dtype in component[MANIFEST_KEYS]]
    assert ours == reference
    assert sum(p.numel() for p in model.parameters()) == component["param_count"]


def test_full_config_forward_on_meta_gives_logit_shape() -> None:
    with torch.device("meta"):
        model = TextDiffusionTransformer(DiffTSRConfig().tdm)
        tokens = torch.zeros(3, 24, dtype=torch.long)
        t = torch.zeros(3, dtype=torch.long)
        context = torch.zeros(3, 16, 768)
        out = model(tokens, t, context)
    assert out.shape == (3, 6736, 24)
    assert out.device.type == "meta"


def test_shorter_sequence_is_a_prefix_of_the_position_table(tiny_model: TextDiffusionTransformer) -> None:
    io = tiny_a_io()
    with torch.no_grad():
        out = tiny_model(io["tdm_in_x"][:, :8], io["tdm_in_t"], io["tdm_in_context"])
    assert out.shape == (2, 6736, 8)
    assert torch.isfinite(out).all()
    with pytest.raises(ValueError, match="multiple of 4"):
        tiny_model(io["tdm_in_x"][:, :6], io["tdm_in_t"], io["tdm_in_context"])
    with pytest.raises(ValueError, match="context"):
        tiny_model(io["tdm_in_x"], io["tdm_in_t"], io["tdm_in_context"][..., :32])


def _to_list_spelling(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What axial-positional-embedding >= 0.3.0 (nn.ParameterList) would have saved."""
    return {key.replace("axial_pos_emb.weights_", "axial_pos_emb.weights."): value for key, value in state_dict.items()}


def test_list_spelling_loads_after_normalising_and_computes_the_same(
    tiny_config: TDMConfig, tiny_weights: dict[str, torch.Tensor], tiny_model: TextDiffusionTransformer
) -> None:
    renamed = _to_list_spelling(tiny_weights)
    assert "transformer.axial_pos_emb.weights.0" in renamed
    assert axial_key_spelling(renamed) == AXIAL_SPELLING_LIST
    assert axial_key_spelling(tiny_weights) == AXIAL_SPELLING_LEGACY

    model = TextDiffusionTransformer(tiny_config).eval()
    with pytest.raises(RuntimeError, match="axial_pos_emb"):
        model.load_state_dict(renamed, strict=True)

    normalized = normalize_axial_keys(renamed)
    assert list(normalized) == list(tiny_weights)
    assert axial_key_spelling(normalized) == AXIAL_SPELLING_LEGACY
    model.load_state_dict(normalized, strict=True)
    assert torch.equal(_run_reference(model), _run_reference(tiny_model))


def test_normalize_handles_bare_keys_and_leaves_legacy_alone() -> None:
    w0, w1, other = torch.zeros(1, 6, 1, 8), torch.ones(1, 1, 4, 8), torch.full((2,), 3.0)
    bare = {"axial_pos_emb.weights.0": w0, "axial_pos_emb.weights.1": w1, "first.weight": other}
    normalized = normalize_axial_keys(bare)
    assert list(normalized) == ["axial_pos_emb.weights_0", "axial_pos_emb.weights_1", "first.weight"]
    assert normalized["axial_pos_emb.weights_0"] is w0 and normalized["axial_pos_emb.weights_1"] is w1

    legacy = {"transformer.axial_pos_emb.weights_0": w0, "transformer.axial_pos_emb.weights_1": w1}
    legacy["x.weights.0"] = other  # an unrelated `weights.0` is not renamed
    kept = normalize_axial_keys(legacy)
    assert list(kept) == list(legacy) and all(kept[key] is legacy[key] for key in legacy)
    assert axial_key_spelling({"first.weight": other}) == AXIAL_SPELLING_NONE
    assert axial_key_spelling({}) == AXIAL_SPELLING_NONE


def test_mixed_spellings_are_rejected() -> None:
    mixed = {"transformer.axial_pos_emb.weights_0": torch.zeros(1)}
    mixed["transformer.axial_pos_emb.weights.1"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="both"):
        axial_key_spelling(mixed)
    with pytest.raises(WeightsError):
        normalize_axial_keys(mixed)


def test_inconsistent_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="transformer_local_size"):
        TextDiffusionTransformer(
            TDMConfig(transformer_dim=64, transformer_heads=4, transformer_local_heads=2, transformer_local_size=5)
        )
    with pytest.raises(ConfigError, match="transformer_heads"):
        TextDiffusionTransformer(TDMConfig(transformer_dim=64, transformer_heads=5))
