"""One local service per test module: ``python -m difftsr_ocr.serve`` in a subprocess, as a user starts it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from tests.layouts import MILD_SCAN

ROOT = Path(__file__).resolve().parents[2]
# Small limits, so the tests can cross them with small bodies and images.
MAX_BODY_MB = 2
MAX_IMAGE_PIXELS = 4_000_000
SERVICE_CONFIG = f"device: cpu\nthreads: 1\nmax_image_pixels: {MAX_IMAGE_PIXELS}\nrestorer: {{kind: classical}}\n"
# Ray and Serve start in ~10 s on two cores; minutes means they will not.
_START_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def page_png(texts: tuple[str, ...] = ("Invoice number 2024-117", "Total due 1,480.00 EUR")) -> bytes:
    image, _ = render_lines([LineSpec(text, 40, 40 + 70 * i, size=30) for i, text in enumerate(texts)], (640, 200))
    buffer = io.BytesIO()
    Image.fromarray(apply_degradation(image, MILD_SCAN, seed=0)).save(buffer, format="PNG")
    return buffer.getvalue()


def page_array() -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page_png())).convert("RGB"))


@contextlib.contextmanager
def running_service(folder: Path, *extra: str) -> Iterator[str]:
    config = folder / "service.yaml"
    config.write_text(SERVICE_CONFIG, encoding="utf-8")
    port = free_port()
    log = folder / "service.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "difftsr_ocr.serve", "--config", str(config), "--port", str(port), *extra],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited with {process.returncode}: {log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if get_json(f"{url}/v1/health")["status"] == "ok":
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"the service did not start in {_START_TIMEOUT_S:.0f} s: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_service(
        tmp_path_factory.mktemp("service"),
        "--max-body-mb",
        str(MAX_BODY_MB),
        # Long enough for requests sent together to meet on a loaded machine; a full pool
        # of 8 goes without waiting.
        "--batch-wait-ms",
        "200",
        "--max-batch-size",
        "8",
    ) as url:
        yield url
