"""Repository conventions that are easy to break silently."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", setup)


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()


def test_no_library_module_prints() -> None:
    allowed = {"weights_cli.py", "run.py", "__main__.py"}  # command-line entry modules
    offenders = [
        path.relative_to(REPO)
        for path in (REPO / "difftsr_ocr").rglob("*.py")
        if path.name not in allowed and re.search(r"^\s*print\(", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert offenders == []


def test_readme_test_command_installs_the_system_packages_first() -> None:
    command = _readme_commands()[1]
    script = REPO / "tests" / "system-packages.sh"
    assert command.startswith(f"sh {script.relative_to(REPO)} && ")
    text = script.read_text(encoding="utf-8")
    packages = re.search(r'^PACKAGES="([^"]+)"', text, re.MULTILINE)
    assert packages is not None
    # OCRmyPDF refuses to start without Tesseract; the page generator draws with these fonts;
    # the service's web page is tested in Chromium.
    assert {"tesseract-ocr", "fonts-dejavu-core", "fonts-wqy-zenhei", "chromium"} <= set(packages.group(1).split())


def test_the_service_is_a_front_end() -> None:
    # Only its stdlib client is used from below (restore_image(server=), the OCRmyPDF plug-in),
    # and the client pulls in neither Ray nor the web stack.
    imports = re.compile(r"^\s*(?:from|import) (difftsr_ocr\.serve[\w.]*)", re.MULTILINE)
    package = REPO / "difftsr_ocr"
    used_from_below = {
        (str(path.relative_to(REPO)), name)
        for path in package.rglob("*.py")
        if package / "serve" not in path.parents
        for name in imports.findall(path.read_text(encoding="utf-8"))
    }
    assert {name for _, name in used_from_below} == {"difftsr_ocr.serve.client"}, used_from_below
    client = (package / "serve" / "client.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(?:from|import) (?:ray|starlette|difftsr_ocr\.serve)", client, re.MULTILINE)


def test_readme_states_every_bar_of_the_safe_gate_as_the_code_sets_it() -> None:
    from difftsr_ocr.gate import GateConfig

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    bars = [field for field in dataclasses.fields(GateConfig) if field.name != "policy"]
    missing = [
        f"`gate.{bar.name}` ({bar.default!r})" for bar in bars if f"`gate.{bar.name}` ({bar.default!r})" not in readme
    ]
    assert missing == []
