"""The official-shape model config: parsing, allow-list, round trip, one-line errors."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.models.config import (
    DiffTSRConfig,
    difftsr_config_from_official,
    difftsr_config_to_official,
    load_difftsr_config,
)
from tests.reference import TINY_A_DIR, manifest

REPO = Path(__file__).resolve().parents[2]
TINY_A_YAML = TINY_A_DIR / "config_tiny_A.yaml"


def test_builtin_default_is_the_official_config() -> None:
    assert difftsr_config_from_official(manifest()["official_config"]) == DiffTSRConfig()


def test_shipped_yaml_equals_builtin_default() -> None:
    assert load_difftsr_config(REPO / "configs" / "DiffTSR_config.yaml") == DiffTSRConfig()


def test_tiny_a_config_values() -> None:
    config = load_difftsr_config(TINY_A_YAML)
    assert config.transformer_dim == 64
    assert config.idm_unet.attention_resolutions == (2,)
    assert config.mom.context_dim == 16 and config.mom.unet.context_dim == 16
    assert config.vae.ch_mult == (1, 1, 2)
    assert config.tdm.transformer_local_heads == 2


def test_round_trip_through_official_shape() -> None:
    config = load_difftsr_config(TINY_A_YAML)
    assert difftsr_config_from_official(difftsr_config_to_official(config)) == config


def _official() -> dict:
    return copy.deepcopy(manifest()["official_config"])


def test_unknown_target_is_rejected_without_import() -> None:
    document = _official()
    document["model"]["params"]["VAE_model_config"]["target"] = "os.system"
    with pytest.raises(ConfigError, match=r"'os\.system'.*never import"):
        difftsr_config_from_official(document, source="bad.yaml")


def test_unknown_key_is_named() -> None:
    document = _official()
    document["model"]["params"]["TDM_Decoder_config"]["params"]["transformer_hedas"] = 16
    with pytest.raises(ConfigError, match="transformer_hedas") as info:
        difftsr_config_from_official(document, source="bad.yaml")
    assert str(info.value).startswith("bad.yaml:")


def test_inconsistent_sizes_are_reported() -> None:
    document = _official()
    document["model"]["params"]["TDM_Decoder_config"]["params"]["transformer_dim"] = 512
    with pytest.raises(ConfigError, match="transformer_dim 512"):
        difftsr_config_from_official(document)


def test_missing_component_is_reported() -> None:
    document = _official()
    del document["model"]["params"]["MoM_module_config"]
    with pytest.raises(ConfigError, match="MoM_module_config"):
        difftsr_config_from_official(document)


def test_unsupported_option_value_is_explained() -> None:
    document = _official()
    document["model"]["params"]["TDM_Decoder_config"]["params"]["transformer_reversible"] = True
    with pytest.raises(ConfigError, match="transformer_reversible"):
        difftsr_config_from_official(document)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("model:\n  target: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML at line \d+"):
        load_difftsr_config(broken)
    with pytest.raises(ConfigError, match="no such config file"):
        load_difftsr_config(tmp_path / "absent.yaml")


def test_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"model": {"target": "x"}}), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_difftsr_config(path)
    assert "\n" not in str(info.value)


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DiffTSRConfig().max_length = 3  # type: ignore[misc]
