"""The service's web page in a real headless Chromium, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol commands from fd 3 and write
answers and events to fd 4, each a JSON message ended by a NUL byte: no websocket, no
extra package. Chromium comes from tests/system-packages.sh; without it the test fails.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr.export.preview import DECISION_COLOURS
from tests.serve.conftest import page_png

# Chromium's protocol pipe: the fds it reads commands from and writes messages to.
_COMMANDS_FD, _MESSAGES_FD = 3, 4
_WAIT_S = 60.0
# Moves our pipe ends onto the fds Chromium expects, then becomes Chromium. Both ends go
# above 9 first, so neither is overwritten by the other's move.
_WIRE_AND_EXEC = f"""
import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
os.dup2(ends[0], {_COMMANDS_FD})
os.dup2(ends[1], {_MESSAGES_FD})
os.execv(sys.argv[3], sys.argv[3:])
"""


class _Browser:
    """A headless Chromium and one page of it, attached in flat session mode."""

    def __init__(self, binary: str, profile: Path) -> None:
        command_read, command_write = os.pipe()
        message_read, message_write = os.pipe()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WIRE_AND_EXEC,
                str(command_read),
                str(message_write),
                binary,
                "--headless",
                "--no-sandbox",  # the test machine runs as root, where Chromium's sandbox refuses to start
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--window-size=1280,2000",
                "about:blank",
            ],
            pass_fds=(command_read, message_write),
            stdout=subprocess.DEVNULL,
            stderr=(profile / "chromium.log").open("wb"),
        )
        # Chromium holds its own copies; ours would keep the pipes open after it exits.
        os.close(command_read)
        os.close(message_write)
        self._commands = os.fdopen(command_write, "wb", buffering=0)
        self._messages = os.fdopen(message_read, "rb", buffering=0)
        self._answers: dict[int, queue.Queue] = {}
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read(self) -> None:
        pending = b""
        while chunk := self._messages.read(65536):
            pending += chunk
            *messages, pending = pending.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    self._answers[message["id"]].put(message)
                else:
                    self.events.append(message)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            number = self._next_id
            self._answers[number] = queue.Queue()
        message = {"id": number, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._commands.write(json.dumps(message).encode() + b"\0")
        answer = self._answers[number].get(timeout=_WAIT_S)
        assert "error" not in answer, f"{method}: {answer['error']}"
        return answer["result"]

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.call(method, session=self.session, **params)

    def evaluate(self, expression: str) -> Any:
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        deadline = time.monotonic() + _WAIT_S
        while not (value := self.evaluate(expression)):
            assert time.monotonic() < deadline, f"the page never showed {what}"
            time.sleep(0.2)
        return value

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads the page reported so far."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"].get("text", "exception"))
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._commands.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Browser]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("no chromium: sh tests/system-packages.sh installs it (Debian package chromium)")
    opened = _Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield opened
    finally:
        opened.close()


def _drop(browser: _Browser, data: bytes, name: str, media_type: str) -> None:
    """Drop a file on the page's drop zone, as a person dragging it from their desktop does."""
    encoded = base64.b64encode(data).decode("ascii")
    browser.evaluate(
        f"""(() => {{
        const bytes = Uint8Array.from(atob("{encoded}"), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], {json.dumps(name)}, {{type: {json.dumps(media_type)}}}));
        const drop = new DragEvent("drop", {{dataTransfer: transfer, bubbles: true, cancelable: true}});
        document.getElementById("drop").dispatchEvent(drop);
        }})()"""
    )


def _has_colour(image: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool((np.abs(image[:, :, :3].astype(int) - colour).max(axis=2) <= 12).any())


def test_a_dropped_page_shows_its_lines(service: str, browser: _Browser, tmp_path: Path) -> None:
    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        browser.page(domain)
    browser.page("Page.navigate", url=f"{service}/")
    browser.wait_for("document.readyState === 'complete' && !!document.getElementById('drop')", "the drop zone")

    _drop(browser, page_png(), "scan.png", "image/png")
    cards = browser.wait_for("document.querySelectorAll('#lines section.line').length", "line cards")
    assert cards == 2
    status = browser.evaluate("document.getElementById('status').textContent")
    assert status.startswith("scan.png: 2 line(s)"), status
    assert "Invoice" in browser.evaluate("document.getElementById('text').textContent")
    browser.wait_for(
        "[...document.images].every((image) => image.complete && image.naturalWidth > 0)", "every image loaded"
    )
    assert browser.evaluate("document.querySelectorAll('#lines .compare img').length") == 4, "before and after"
    decisions = browser.evaluate("[...document.querySelectorAll('#lines .decision')].map((d) => d.textContent)")
    assert len(decisions) == 2 and set(decisions) <= set(DECISION_COLOURS)
    # The slider moves the cut between the original and the restored crop.
    cut = browser.evaluate(
        """(() => {
        const slider = document.querySelector('#lines .compare input');
        slider.value = 20;
        slider.dispatchEvent(new Event('input', {bubbles: true}));
        return slider.parentNode.style.getPropertyValue('--cut');
        })()"""
    )
    assert cut == "20%"

    shot = browser.page("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot = np.asarray(Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB"))
    Image.fromarray(screenshot).save(tmp_path / "web_page.png")
    shown = [name for name, colour in DECISION_COLOURS.items() if _has_colour(screenshot, colour)]
    assert set(decisions) <= set(shown), f"line outlines and decisions in the screenshot: {shown}"
    assert browser.errors() == [], "the page must load and work without console errors"

    # A file the service does not take: its one-line reason, shown as an error.
    seen = len(browser.events)
    _drop(browser, b"plain text", "notes.txt", "text/plain")
    reason = browser.wait_for(
        "document.getElementById('status').className === 'error' && document.getElementById('status').textContent",
        "the refusal",
    )
    assert "text/plain is not taken" in reason and "\n" not in reason
    later = browser.events[seen:]
    assert not [e for e in later if e["method"] in ("Runtime.exceptionThrown", "Runtime.consoleAPICalled")]
