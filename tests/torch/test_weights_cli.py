"""The user-facing weight check and conversion commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from difftsr_ocr.errors import ExitCode
from difftsr_ocr.weights_cli import main
from tests.reference import TINY_A_DIR

TINY_YAML = str(TINY_A_DIR / "config_tiny_A.yaml")
TINY_CKPT = str(TINY_A_DIR / "difftsr_tiny_A.ckpt")


@pytest.fixture(autouse=True)
def _no_default_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIFFTSR_CKPT", raising=False)
    monkeypatch.delenv("DIFFTSR_TRANSOCR", raising=False)


def test_check_reports_a_loadable_checkpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", TINY_YAML, "--ckpt", TINY_CKPT]) == ExitCode.ok
    out = capsys.readouterr().out
    assert "official DiffTSR.ckpt" in out and "0.2.1" in out
    assert "IDM_Unet          224       1,036,483  float32   ok" in out
    assert "TransOCR weights not found" in out
    assert out.rstrip().endswith("ok: every file found loads strictly into this config")


def test_check_names_the_keys_that_do_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--ckpt", TINY_CKPT]) == ExitCode.missing_or_bad_weights
    out = capsys.readouterr().out
    assert "DOES NOT FIT" in out
    assert "mis-shaped: time_embed.0.weight is [128, 32], the config needs [1280, 320]" in out
    assert "FAIL" in out


def test_check_without_any_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == ExitCode.missing_or_bad_weights
    assert "no weight file found" in capsys.readouterr().out


def test_check_of_a_damaged_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "DiffTSR.ckpt"
    broken.write_bytes(b"PK\x03\x04 not really")
    assert main(["check", "--ckpt", str(broken)]) == ExitCode.missing_or_bad_weights
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {broken}:") and "\n" not in err


def test_convert_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "DiffTSR.safetensors"
    assert main(["convert", TINY_CKPT, str(target)]) == ExitCode.ok
    assert target.exists()
    assert main(["check", "--config", TINY_YAML, "--ckpt", str(target)]) == ExitCode.ok
    assert "single safetensors file" in capsys.readouterr().out
