"""Outputs appear whole or not at all: the temporary file is renamed on success and removed on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from difftsr_ocr.atomic import replacing


def test_a_finished_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "page.json"
    with replacing(target) as partial:
        assert partial.name == "page.json.partial.json" and not target.exists()
        partial.write_text("{}", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "{}"
    assert [path.name for path in target.parent.iterdir()] == ["page.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "page.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"), replacing(target) as partial:
        partial.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["page.json"]
