"""The HTTP service under load: concurrent clients against a local service, then the same pages in-process.

    python benchmarks/serve_load.py                           # 8 clients x 50 requests, classical restorer
    python benchmarks/serve_load.py --clients 16 --requests 20 --batch-wait-ms 50
    python benchmarks/serve_load.py --config my_pipeline.yaml # e.g. DiffTSR on a GPU

Starts the service on 127.0.0.1 (a free port, local Ray) with the pipeline config given
(default: device cpu, ``restorer.kind: classical``), sends every client's requests one
after another through :class:`~difftsr_ocr.serve.client.ServiceClient`, and prints the
failures, latency percentiles, pages per second, and how many requests and crops each
restorer call pooled (from ``/v1/stats``). Then the same pages go through the pipeline in
this process, one by one and pooled ``--clients`` at a time (``Pipeline.process``).
Pages are drawn by the synthetic page generator: 4 lines of Latin text, 800x330, mildly
degraded, 8 different ones in turn.
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from difftsr_ocr.config import PipelineConfig, config_from_dict, load_pipeline_config
from difftsr_ocr.evaluation.synthetic.degradation import Degradation, apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.pipeline import build_pipeline
from difftsr_ocr.serve.client import ServiceClient
from difftsr_ocr.serve.deployment import Placement, start_service
from difftsr_ocr.serve.service import ServiceSettings

_DAMAGE = Degradation(steps=(("gaussian_blur", 0.8), ("downup", 2.5), ("noise", 3.0), ("jpeg", 35.0)))
_WORDS = ("Invoice", "number", "Delivery", "address", "Harbour", "Road", "Total", "amount", "due", "EUR", "page")


def _pages(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    pages = []
    for number in range(count):
        texts = [" ".join(rng.choice(_WORDS, 4)) + f" {number}{line}" for line in range(4)]
        image, _ = render_lines([LineSpec(text, 40, 30 + 75 * i, size=30) for i, text in enumerate(texts)], (800, 330))
        pages.append(apply_degradation(image, _DAMAGE, seed=number))
    return pages


def _png(page: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(values: list[float], share: float) -> float:
    return float(np.percentile(np.asarray(values), share * 100.0))


def _load(url: str, bodies: list[bytes], clients: int, requests: int) -> tuple[list[float], int, float]:
    client = ServiceClient(url, timeout=300.0)

    def one_client(number: int) -> tuple[list[float], int]:
        latencies, failed = [], 0
        for request in range(requests):
            body = bodies[(number + request) % len(bodies)]
            started = time.perf_counter()
            try:
                client.restore_page(body, "image/png", f"client{number}-{request}.png")
            except Exception as error:  # counted and shown, so one bad answer does not hide the figures
                failed += 1
                print(f"  client {number} request {request} failed: {error}")
                continue
            latencies.append(time.perf_counter() - started)
        return latencies, failed

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(one_client, range(clients)))
    seconds = time.perf_counter() - started
    return [t for latencies, _ in outcomes for t in latencies], sum(failed for _, failed in outcomes), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="pipeline config YAML (default: device cpu, classical restorer)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--max-batch-size", type=int, default=ServiceSettings.max_batch_size)
    parser.add_argument("--batch-wait-ms", type=float, default=ServiceSettings.batch_wait_ms)
    args = parser.parse_args()

    config: PipelineConfig = (
        load_pipeline_config(args.config)
        if args.config
        else config_from_dict({"device": "cpu", "restorer": {"kind": "classical"}})
    )
    pages = _pages(8)
    bodies = [_png(page) for page in pages]
    settings = ServiceSettings(max_batch_size=args.max_batch_size, batch_wait_ms=args.batch_wait_ms)
    total = args.clients * args.requests
    print(
        f"{args.clients} clients x {args.requests} requests, restorer {config.restorer.kind}, pages 800x330 (4 lines)"
    )

    with start_service(config, settings, Placement(port=_free_port())) as url:
        client = ServiceClient(url)
        client.restore_page(bodies[0], "image/png")  # warm-up: sessions, first allocations
        before = client.stats()
        latencies, failed, seconds = _load(url, bodies, args.clients, args.requests)
        after = client.stats()
    calls = after["restorer_calls"] - before["restorer_calls"]
    pooled = after["requests_restored"] - before["requests_restored"]
    crops = after["crops_restored"] - before["crops_restored"]
    print("\nservice (one replica)")
    print(f"  requests        {total}, failed {failed}")
    if latencies:
        print(f"  latency         p50 {_percentile(latencies, 0.5):.3f} s, p95 {_percentile(latencies, 0.95):.3f} s")
        print(f"                  mean {statistics.fmean(latencies):.3f} s, max {max(latencies):.3f} s")
    print(f"  throughput      {len(latencies) / seconds:.2f} pages/s ({seconds:.1f} s)")
    if calls:
        print(f"  restorer calls  {calls}: mean {pooled / calls:.2f} requests, {crops / calls:.1f} crops per call")
        print(f"                  largest call {after['largest_call_requests']} requests")

    pipeline = build_pipeline(config)
    pipeline(pages[0])  # warm-up
    count = min(total, 80)
    started = time.perf_counter()
    for number in range(count):
        pipeline(pages[number % len(pages)])
    one_by_one = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for start in range(0, count, args.clients):
        pipeline.process([pages[n % len(pages)] for n in range(start, min(start + args.clients, count))])
    pooled_rate = count / (time.perf_counter() - started)
    print(f"\nin-process ({count} pages)")
    print(f"  one by one      {one_by_one:.2f} pages/s ({1 / one_by_one:.3f} s per page)")
    print(f"  {args.clients} per call      {pooled_rate:.2f} pages/s")


if __name__ == "__main__":
    main()
