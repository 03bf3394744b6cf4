"""Official checkpoint layouts: strict loading, conversion, key spellings, and bad files."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from difftsr_ocr.errors import WeightsError
from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.difftsr import CHECKPOINT_COMPONENTS, build_difftsr_networks, build_transocr
from difftsr_ocr.weights import (
    DIFFTSR_WEIGHTS,
    convert_difftsr_weights,
    convert_transocr_weights,
    find_weights,
    load_difftsr_weights,
    load_transocr_weights,
    locate_weights,
    read_difftsr_weights,
    read_transocr_weights,
)
from tests.reference import TINY_A_DIR, manifest

TINY_CKPT = TINY_A_DIR / "difftsr_tiny_A.ckpt"


@pytest.fixture(scope="module")
def tiny_config() -> DiffTSRConfig:
    return load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")


@pytest.fixture(scope="module")
def tiny_reference_weights() -> dict[str, dict[str, torch.Tensor]]:
    return {key: load_file(TINY_A_DIR / f"tiny_A_{key}.safetensors") for key in CHECKPOINT_COMPONENTS}


def _assert_loaded(networks, reference: dict[str, dict[str, torch.Tensor]]) -> None:
    for key, state_dict in reference.items():
        ours = networks.component(key).state_dict()
        assert sorted(ours) == sorted(state_dict), key
        for name, tensor in state_dict.items():
            assert torch.equal(ours[name], tensor), f"{key}.{name}"


def test_full_model_layout_matches_manifest_on_meta() -> None:
    networks = build_difftsr_networks(DiffTSRConfig())
    components = manifest()["components"]
    for key in CHECKPOINT_COMPONENTS:
        field = next(name for name in components[key] if name.startswith("state_dict"))
        expected = [(name, tuple(shape), dtype) for name, shape, dtype in components[key][field]]
        module = networks.component(key)
        ours = [(name, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in module.state_dict().items()]
        assert ours == expected, key
        assert sum(p.numel() for p in module.parameters()) == components[key]["param_count"], key


def test_official_ckpt_loads_strictly_onto_meta_networks(tiny_config, tiny_reference_weights) -> None:
    networks = build_difftsr_networks(tiny_config)
    read = load_difftsr_weights(networks, TINY_CKPT)
    assert read.layout.startswith("official DiffTSR.ckpt")
    assert read.axial_spelling.startswith("0.2.1")
    _assert_loaded(networks, tiny_reference_weights)
    assert not any(t.is_meta for t in networks.state_dict().values())


def test_per_component_reference_folder_loads(tiny_config, tiny_reference_weights) -> None:
    networks = build_difftsr_networks(tiny_config)
    read = load_difftsr_weights(networks, TINY_A_DIR)
    assert read.layout.startswith("folder")
    _assert_loaded(networks, tiny_reference_weights)


@pytest.mark.parametrize("per_component", [False, True])
def test_conversion_round_trip(tmp_path: Path, tiny_config, tiny_reference_weights, per_component: bool) -> None:
    target = tmp_path / ("parts" if per_component else "DiffTSR.safetensors")
    written = convert_difftsr_weights(TINY_CKPT, target, per_component=per_component)
    assert len(written) == (4 if per_component else 1)
    networks = build_difftsr_networks(tiny_config)
    load_difftsr_weights(networks, target)
    _assert_loaded(networks, tiny_reference_weights)


def test_newer_axial_key_spelling_is_accepted(tmp_path: Path, tiny_config, tiny_reference_weights) -> None:
    checkpoint = torch.load(TINY_CKPT, weights_only=True)
    tdm = checkpoint["TDM_Decoder"]
    for index in (0, 1):
        tdm[f"transformer.axial_pos_emb.weights.{index}"] = tdm.pop(f"transformer.axial_pos_emb.weights_{index}")
    path = tmp_path / "newer.ckpt"
    torch.save(checkpoint, path)
    networks = build_difftsr_networks(tiny_config)
    read = load_difftsr_weights(networks, path)
    assert read.axial_spelling.startswith(">=0.3.0")
    _assert_loaded(networks, tiny_reference_weights)


def test_wrong_model_config_names_the_keys(tiny_config) -> None:
    networks = build_difftsr_networks(DiffTSRConfig())
    with pytest.raises(WeightsError, match=r"difftsr_tiny_A\.ckpt: IDM_Unet does not fit.*mis-shaped") as info:
        load_difftsr_weights(networks, TINY_CKPT)
    assert "\n" not in str(info.value)


def test_truncated_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "DiffTSR.ckpt"
    path.write_bytes(TINY_CKPT.read_bytes()[: TINY_CKPT.stat().st_size // 2])
    with pytest.raises(WeightsError, match=r"DiffTSR\.ckpt: unreadable or truncated"):
        read_difftsr_weights(path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.ckpt"
    path.write_text("these are not weights", encoding="utf-8")
    with pytest.raises(WeightsError, match=r"notes\.ckpt: not a PyTorch checkpoint|notes\.ckpt: unreadable"):
        read_difftsr_weights(path)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_code_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.ckpt"
    buffer = io.BytesIO()
    torch.save({"IDM_Unet": _RunsCode(marker)}, buffer, pickle_module=pickle)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(WeightsError, match=r"evil\.ckpt: .*never run code"):
        read_difftsr_weights(path)
    assert not marker.exists()


def test_checkpoint_of_another_model(tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"layer.weight": torch.zeros(2)}}, path)
    with pytest.raises(WeightsError, match=r"other\.ckpt: not a DiffTSR\.ckpt"):
        read_difftsr_weights(path)


def test_truncated_safetensors(tmp_path: Path) -> None:
    source = TINY_A_DIR / "tiny_A_VAE_model.safetensors"
    path = tmp_path / "DiffTSR.safetensors"
    path.write_bytes(source.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=r"DiffTSR\.safetensors: unreadable or truncated"):
        read_difftsr_weights(path)


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DIFFTSR_WEIGHTS.env_var, raising=False)
    assert find_weights(DIFFTSR_WEIGHTS) is None
    with pytest.raises(WeightsError, match=r"DiffTSR weights not found; looked in \$DIFFTSR_CKPT"):
        locate_weights(DIFFTSR_WEIGHTS)
    local = tmp_path / "ckpt" / "DiffTSR.ckpt"
    local.parent.mkdir()
    local.write_bytes(b"x")
    assert find_weights(DIFFTSR_WEIGHTS) == local
    cached = tmp_path / "cache" / "difftsr_ocr" / "DiffTSR.safetensors"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_weights(DIFFTSR_WEIGHTS) == cached
    monkeypatch.setenv(DIFFTSR_WEIGHTS.env_var, str(local))
    assert find_weights(DIFFTSR_WEIGHTS) == local
    assert find_weights(DIFFTSR_WEIGHTS, explicit=cached) == cached
    with pytest.raises(WeightsError, match=r"missing\.ckpt: DiffTSR weights not found \(the given path\)"):
        find_weights(DIFFTSR_WEIGHTS, explicit=tmp_path / "missing.ckpt")


@pytest.fixture(scope="module")
def transocr_state() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    model = build_transocr(device="cpu")
    return {
        key: torch.randn(value.shape, generator=generator) if value.is_floating_point() else value
        for key, value in model.state_dict().items()
    }


@pytest.mark.parametrize("layout", ["module.module.", "module.", "state_dict", "bare"])
def test_transocr_layouts_load(tmp_path: Path, transocr_state, layout: str) -> None:
    if layout == "state_dict":
        stored = {"state_dict": transocr_state}
    elif layout == "bare":
        stored = transocr_state
    else:
        stored = {layout + key: value for key, value in transocr_state.items()}
    path = tmp_path / "transocr.pth"
    torch.save(stored, path)
    model = build_transocr()
    read = load_transocr_weights(model, path)
    assert layout.strip(".") in read.layout or (layout == "bare" and "bare" in read.layout)
    for key, value in model.state_dict().items():
        assert torch.equal(value, transocr_state[key]), key

    converted = convert_transocr_weights(path, tmp_path / "transocr.safetensors")
    assert read_transocr_weights(converted).state_dict.keys() == transocr_state.keys()


def test_transocr_with_foreign_keys_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "transocr.pth"
    save_file({"encoder.conv1.weight": torch.zeros(1)}, tmp_path / "transocr.safetensors")
    torch.save({"module.encoder.conv1.weight": torch.zeros(1)}, path)
    for candidate in (path, tmp_path / "transocr.safetensors"):
        with pytest.raises(WeightsError, match=r"TransOCR does not fit this model config: .*missing.*mis-shaped"):
            load_transocr_weights(build_transocr(), candidate)
