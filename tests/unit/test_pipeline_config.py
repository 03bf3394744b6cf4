"""The pipeline config: defaults in one place, partial files, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from difftsr_ocr.config import PipelineConfig, config_from_dict, config_to_dict, load_pipeline_config
from difftsr_ocr.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_yaml_is_the_builtin_default() -> None:
    assert load_pipeline_config(REPO / "configs" / "pipeline_default.yaml") == PipelineConfig()


def test_partial_config_and_round_trip() -> None:
    config = config_from_dict(
        {"device": "cpu", "restorer": {"kind": "classical", "steps": 20}, "gate": {"policy": "always"}}
    )
    assert config.restorer.kind == "classical" and config.restorer.steps == 20
    assert config.restorer.eta == 0.2 and config.gate.policy == "always"
    assert config_from_dict(config_to_dict(config)) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"restorer": {"stpes": 20}}, r"unknown key\(s\) restorer\.stpes"),
        ({"restorer": {"steps": "many"}}, r"restorer\.steps must be int, not 'many'"),
        ({"restorer": {"kind": "magic"}}, "restorer.kind must be one of"),
        ({"restorer": {"sampler": "euler"}}, "restorer.sampler must be one of ddim, dpmpp_2m, unipc"),
        ({"restorer": {"sampler": "unipc", "refine_text": True}}, "restorer.refine_text needs restorer.sampler: ddim"),
        ({"gate": {"policy": "sometimes"}}, "gate policy must be one of"),
        ({"output_scale": 0.5}, "output_scale must be int"),
        ({"output_scale": 5}, "output_scale must be one of 1, 2, 3, 4"),
        ({"lines": 3}, "lines must be a mapping"),
        ({"seed": True}, "seed must be int"),
        ({"threads": 0}, "threads must be a positive integer or null"),
    ],
)
def test_mistakes_are_named(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        config_from_dict(data, source="job.yaml")
    assert str(info.value).startswith("job.yaml: ") and "\n" not in str(info.value)


def test_yaml_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("restorer: {kind: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML at line"):
        load_pipeline_config(bad)
    with pytest.raises(ConfigError, match="no such config file"):
        load_pipeline_config(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_pipeline_config(empty) == PipelineConfig()


def test_loading_a_config_imports_neither_opencv_nor_torch() -> None:
    # The CLI, the batch runner and the OCRmyPDF plug-in read configs before choosing any stage.
    code = "import sys, difftsr_ocr.config; assert 'cv2' not in sys.modules and 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
