"""The HTTP service on local Ray Serve: results as in-process, pooling, and every kind of bad request."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from difftsr_ocr import restore_image
from difftsr_ocr.errors import ConfigError, InputImageError, ServiceError
from difftsr_ocr.pipeline import build_pipeline
from difftsr_ocr.preprocess import resolve_config
from difftsr_ocr.provenance import run_provenance
from difftsr_ocr.restore.classical import ClassicalRestorer
from difftsr_ocr.serve.client import ServiceClient
from tests.serve.conftest import MAX_BODY_MB, MAX_IMAGE_PIXELS, ROOT, get_json, page_array, page_png

IN_PROCESS = {"device": "cpu", "threads": 1, "max_image_pixels": MAX_IMAGE_PIXELS, "restorer": {"kind": "classical"}}


def _post(url: str, body: bytes, content_type: str | None = "image/png") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _assert_refused(answer: tuple[int, dict], status: int, words: str) -> None:
    code, body = answer
    assert code == status, body
    reason = body["error"]
    assert words in reason and "\n" not in reason and "Traceback" not in reason, reason


def test_a_page_comes_back_as_in_process(service: str, tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    path.write_bytes(page_png())
    remote = restore_image(path, server=service)
    local = restore_image(path, IN_PROCESS)
    assert len(local.page.lines) == 2 and local.text
    assert remote.page == local.page, "the same lines, readings and gate decisions"
    assert np.array_equal(remote.image, local.image), "the restored page, pixel for pixel"
    # A PIL image comes back as a PIL image in its mode, as in-process.
    gray = Image.open(path).convert("L")
    remote_gray, local_gray = restore_image(gray, server=service), restore_image(gray, IN_PROCESS)
    assert remote_gray.image.mode == local_gray.image.mode == "L"
    assert np.array_equal(np.asarray(remote_gray.image), np.asarray(local_gray.image))


def test_the_page_endpoint_answers_the_command_lines_json(service: str) -> None:
    status, answer = _post(f"{service}/v1/restore/page?name=scan.png", page_png())
    assert status == 200
    metadata = answer["result"]["document"]["metadata"]
    assert metadata["source"] == "scan.png"
    config = resolve_config(IN_PROCESS)
    assert metadata["provenance"] == run_provenance(build_pipeline(config)), "results say what made them"
    assert answer["media_type"] == "image/png"
    restored = Image.open(io.BytesIO(base64.b64decode(answer["image"])))
    assert restored.size == (640, 200)


def test_a_pdf_page(service: str, tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    first = Image.open(io.BytesIO(page_png())).convert("RGB")
    second = Image.open(io.BytesIO(page_png(("Second page", "of the scan", "three lines")))).convert("RGB")
    first.save(path, save_all=True, append_images=[second], resolution=100.0)
    client = ServiceClient(service)
    page = client.restore_page(path.read_bytes(), "application/pdf", "scan.pdf").document.pages[0]
    assert len(page.lines) == 2 and page.source == "scan.pdf"
    page = client.restore_page(path.read_bytes(), "application/pdf", "scan.pdf", page=2).document.pages[0]
    assert len(page.lines) == 3 and page.source == "scan.pdf#page=2"
    _assert_refused(_post(f"{service}/v1/restore/page?page=3", path.read_bytes(), "application/pdf"), 422, "page 3")


def test_crops_are_restored_as_in_process(service: str) -> None:
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (32, 160, 3), dtype=np.uint8), rng.integers(0, 255, (24, 96, 3), dtype=np.uint8)]
    remote = ServiceClient(service).restore_crops(crops, seeds=[1, 2])
    local = ClassicalRestorer().restore(crops, seeds=[1, 2])
    assert len(remote) == 2
    for got, expected in zip(remote, local, strict=True):
        assert got.skipped == expected.skipped and got.text == expected.text
        assert np.array_equal(got.image, expected.image)


def test_health_and_config(service: str) -> None:
    client = ServiceClient(service)
    assert client.health() == {"status": "ok", "restorer": "classical"}
    about = client.about()
    assert (
        about["config"]["max_image_pixels"] == MAX_IMAGE_PIXELS and about["config"]["restorer"]["kind"] == "classical"
    )
    assert about["provenance"]["pipeline"] == run_provenance(build_pipeline(resolve_config(IN_PROCESS)))["pipeline"]
    assert about["service"]["max_body_bytes"] == MAX_BODY_MB << 20


def test_concurrent_requests_share_restorer_calls(service: str) -> None:
    client = ServiceClient(service)
    body = page_png()
    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(lambda _: client.restore_page(body, "image/png").document.pages[0], range(16)))
    assert all(page == pages[0] and len(page.lines) == 2 for page in pages), "pooling changes no page"
    # Crops go straight to the pool, so requests sent together must share restorer calls
    # however slowly a loaded machine brings the pages' crops there.
    before = client.stats()
    crops = [np.full((32, 160, 3), 200, np.uint8)] * 3
    start = threading.Barrier(8)

    def together(_: int) -> int:
        start.wait()
        return len(client.restore_crops(crops))

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(together, range(8))) == [3] * 8
    after = client.stats()
    calls = after["restorer_calls"] - before["restorer_calls"]
    assert after["requests_restored"] - before["requests_restored"] == 8
    assert after["crops_restored"] - before["crops_restored"] == 24
    assert 8 / calls > 1, f"8 requests sent together took {calls} restorer calls: they were not pooled"


def test_bad_bodies_get_one_line_each(service: str) -> None:
    page = f"{service}/v1/restore/page"
    _assert_refused(_post(page, b"just some text, not a picture"), 422, "not an image")
    _assert_refused(_post(page, page_png()[:600]), 422, "truncated")
    _assert_refused(_post(page, b""), 422, "empty")
    # A bomb: a few kilobytes of PNG that would decode to 9 million pixels.
    bomb = io.BytesIO()
    Image.new("L", (3000, 3000), 255).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 100_000
    _assert_refused(_post(page, bomb.getvalue()), 422, "pixel limit")
    _assert_refused(_post(page, page_png(), "text/plain"), 415, "text/plain is not taken")
    # urllib's default for a body without one: a form, which no endpoint takes.
    _assert_refused(_post(page, page_png(), None), 415, "x-www-form-urlencoded is not taken")
    _assert_refused(_post(f"{page}?page=zero", page_png()), 400, "page number")
    crops = f"{service}/v1/restore/crops"
    _assert_refused(_post(crops, b"{not json", "application/json"), 400, "not JSON")
    _assert_refused(_post(crops, b'{"crops": ["%%%"]}', "application/json"), 422, "base64")
    _assert_refused(_post(crops, page_png(), "image/png"), 415, "application/json")
    bomb_crop = json.dumps({"crops": [base64.b64encode(bomb.getvalue()).decode()]}).encode()
    _assert_refused(_post(crops, bomb_crop, "application/json"), 422, "pixel limit")
    _assert_refused(_post(f"{service}/v1/nothing", b"", None), 404, "no endpoint")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{service}/v1/restore/page", timeout=30)
    assert refused.value.code == 405
    with pytest.raises(InputImageError, match="truncated"):
        ServiceClient(service).restore_page(page_png()[:600], "image/png")


def test_huge_bodies_are_refused_before_they_are_read(service: str) -> None:
    limit = MAX_BODY_MB << 20
    started = time.perf_counter()
    # Announced too large: refused from the header, before a byte of the body is read.
    with socket.create_connection(("127.0.0.1", int(service.rsplit(":", 1)[1])), timeout=30) as connection:
        connection.sendall(
            b"POST /v1/restore/page HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"
            + f"Content-Length: {100 * limit}\r\n\r\n".encode()
        )
        head = connection.recv(4096).decode("utf-8", "replace")
    assert head.startswith("HTTP/1.1 413"), head
    assert time.perf_counter() - started < 10
    _assert_refused(_post(f"{service}/v1/restore/page", b"\0" * (limit + 1)), 413, "at most")

    # Chunked, with no length announced: refused once the limit is crossed.
    def chunks():
        for _ in range(2 * MAX_BODY_MB + 2):
            yield b"\0" * (1 << 19)

    request = urllib.request.Request(f"{service}/v1/restore/page", data=chunks(), method="POST")
    request.add_header("Content-Type", "image/png")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413


def test_a_client_that_hangs_up_mid_body_does_not_stop_the_others(service: str) -> None:
    with socket.create_connection(("127.0.0.1", int(service.rsplit(":", 1)[1])), timeout=30) as connection:
        connection.sendall(
            b"POST /v1/restore/page?name=cut.png HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"
            b"Content-Length: 100000\r\n\r\n" + page_png()[:5000]
        )
        # Hang up only once the replica is reading the body (on a loaded machine the
        # request can take seconds to get there, and one dropped on the way is no test).
        deadline = time.monotonic() + 60
        while get_json(f"{service}/v1/stats")["bodies_arriving"] < 1:
            assert time.monotonic() < deadline, "the request never reached the replica"
            time.sleep(0.2)
    deadline = time.monotonic() + 60
    while not any("disconnected" in reason for reason in get_json(f"{service}/v1/stats")["recent_refusals"]):
        assert time.monotonic() < deadline, "the service never noticed the client leaving"
        time.sleep(0.2)
    reason = next(r for r in get_json(f"{service}/v1/stats")["recent_refusals"] if "disconnected" in r)
    assert reason.startswith("400: ") and "\n" not in reason
    assert len(ServiceClient(service).restore_page(page_png(), "image/png").document.pages[0].lines) == 2


def test_client_mistakes_are_one_line_errors(service: str) -> None:
    with pytest.raises(ConfigError, match="not both"):
        restore_image(page_array(), {"device": "cpu"}, server=service)
    with pytest.raises(ServiceError, match="cannot reach"):
        restore_image(page_array(), server="http://127.0.0.1:9")
    with pytest.raises(ServiceError, match="not a service address"):
        ServiceClient("127.0.0.1:8000")


def _serve_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "difftsr_ocr.serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_the_command_line_refuses_mistakes_in_one_line(service: str, tmp_path: Path) -> None:
    missing = _serve_command("--config", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 3
    assert missing.stderr.strip().count("\n") == 0 and "missing.yaml" in missing.stderr, missing.stderr
    taken = _serve_command("--port", service.rsplit(":", 1)[1])
    assert taken.returncode == 3
    assert taken.stderr.strip().count("\n") == 0 and "cannot listen" in taken.stderr, taken.stderr


def test_ocrmypdf_workers_send_to_the_service(service: str, tmp_path: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.fail("OCRmyPDF checks for tesseract: sh tests/system-packages.sh installs it")
    pdf = tmp_path / "in.pdf"
    pages = [Image.open(io.BytesIO(page_png((f"Page {n} of the scan", "Total due 1,480.00 EUR")))) for n in (1, 2)]
    pages[0].convert("RGB").save(pdf, save_all=True, append_images=[pages[1].convert("RGB")], resolution=100.0)
    before = get_json(f"{service}/v1/stats")["requests_restored"]
    command = [sys.executable, "-m", "ocrmypdf", "-j", "2", "--output-type", "pdf", "--optimize", "0"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [*command, "--ocr-engine", "difftsr", "--difftsr-server", service, "--force-ocr", str(pdf), "out.pdf"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert get_json(f"{service}/v1/stats")["requests_restored"] - before == 2, "each page went to the service"
    refused = subprocess.run(
        [*command, "--difftsr-server", service, "--difftsr-restorer", "classical", str(pdf), "refused.pdf"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1, refused.stderr[-2000:]  # OCRmyPDF's ExitCode.bad_args
    assert "drop --difftsr-restorer" in refused.stderr
