"""``python -m difftsr_ocr.serve [--config pipeline.yaml] [options]``: the pipeline as an HTTP service.

Local by default (127.0.0.1:8000, Ray started on this machine); ``--address`` joins a
Ray cluster instead. Runs until Ctrl-C (or SIGTERM), then stops its replicas and the
Ray it started.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from difftsr_ocr.config import PipelineConfig, load_pipeline_config
from difftsr_ocr.errors import DifftsrError, ExitCode
from difftsr_ocr.version import SOFTWARE_NAME, software_version

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    defaults = _default_settings()
    parser = argparse.ArgumentParser(
        prog="python -m difftsr_ocr.serve",
        description="Serve the difftsr-ocr pipeline over HTTP on Ray Serve; GET / for a web page.",
    )
    parser.add_argument("--config", help="pipeline config YAML, as for python -m difftsr_ocr.run --config")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--address", help="Ray cluster to run on (e.g. ray://head:10001 or auto); default: local")
    parser.add_argument("--replicas", type=int, default=1, help="model copies (default: %(default)s)")
    parser.add_argument(
        "--replicas-per-gpu",
        type=int,
        help="replicas sharing each GPU; 0 runs on CPUs only (default: 1 when the device may be a GPU and Ray has one)",
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=defaults.max_batch_size,
        help="requests whose crops one restorer call pools (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        default=defaults.batch_wait_ms,
        help="how long a pool waits for more requests (default: %(default)s)",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=defaults.max_body_bytes / 2**20,
        help="largest request (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrent-requests",
        type=int,
        default=defaults.concurrent_requests,
        help="requests one replica works on at once (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each refusal and Ray's own messages")
    parser.add_argument("--version", action="version", version=f"{SOFTWARE_NAME} {software_version()}")
    return parser


def _default_settings() -> object:
    from difftsr_ocr.serve.service import ServiceSettings

    return ServiceSettings()


def _check_weights(config: PipelineConfig) -> None:
    """Missing weights fail here in one line, not in every replica's log."""
    if config.restorer.kind != "difftsr":
        return
    from difftsr_ocr.weights import DIFFTSR_WEIGHTS, TRANSOCR_WEIGHTS, locate_weights

    locate_weights(DIFFTSR_WEIGHTS, config.restorer.ckpt)
    locate_weights(TRANSOCR_WEIGHTS, config.restorer.transocr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr
    )
    try:
        from difftsr_ocr.serve.deployment import Placement, start_service
        from difftsr_ocr.serve.service import ServiceSettings
    except ImportError as error:
        print(
            f"error: the service needs Ray Serve ({error.name} is missing); pip install 'difftsr-ocr[serve]'",
            file=sys.stderr,
        )
        return int(ExitCode.bad_args)
    stop = threading.Event()
    # A service manager stops with SIGTERM: shut down as cleanly as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        config = load_pipeline_config(args.config) if args.config else PipelineConfig()
        _check_weights(config)
        settings = ServiceSettings(
            max_batch_size=args.max_batch_size,
            batch_wait_ms=args.batch_wait_ms,
            max_body_bytes=int(args.max_body_mb * 2**20),
            concurrent_requests=args.concurrent_requests,
        )
        placement = Placement(
            host=args.host,
            port=args.port,
            address=args.address,
            replicas=args.replicas,
            replicas_per_gpu=args.replicas_per_gpu,
        )
        with start_service(config, settings, placement) as url:
            print(f"difftsr-ocr service at {url}/ (Ctrl-C stops it)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
