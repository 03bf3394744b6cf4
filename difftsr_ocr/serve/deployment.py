"""The Ray Serve deployment: one pipeline (one model copy) per replica, crops pooled with ``@serve.batch``.

:func:`start_service` starts Ray (locally as the tests and the batch executor do, or
joined to a cluster), Serve's HTTP proxy on the given host and port, and the replicas.
Ray is imported here and in the command line only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ray import serve

from difftsr_ocr.config import PipelineConfig, config_from_dict, config_to_dict
from difftsr_ocr.errors import ConfigError, DeviceError
from difftsr_ocr.ray_session import ray_session
from difftsr_ocr.restore.base import RestoredCrop
from difftsr_ocr.serve.pooling import CropBatch
from difftsr_ocr.serve.service import RestoreService, ServiceSettings

__all__ = ["APP_NAME", "Placement", "RestoreDeployment", "gpus_per_replica", "start_service"]

APP_NAME = "difftsr"


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where the service runs: its address, its replicas and what each one holds of the cluster."""

    host: str = "127.0.0.1"
    port: int = 8000
    address: str | None = None
    replicas: int = 1
    # 0: replicas on CPUs only; N: N replicas share each GPU (each gets 1/N of one).
    replicas_per_gpu: int | None = None
    cpus_per_replica: float = 1.0

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ConfigError(f"--replicas {self.replicas}: the service needs at least one replica")
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port {self.port}: give a port from 1 to 65535")


@serve.deployment
@serve.ingress()
class RestoreDeployment:
    """One replica: builds the pipeline once, pools its requests' crops, answers through the Starlette app."""

    def __init__(self, config: dict[str, Any], settings: dict[str, Any], home: str) -> None:
        from difftsr_ocr.pipeline import build_pipeline
        from difftsr_ocr.runtime.allocator import manage_allocator

        # Ray started with a private HOME; weights under ~/.cache are found under the user's.
        os.environ["HOME"] = home
        manage_allocator()
        service_settings = ServiceSettings(**settings)
        pipeline = build_pipeline(config_from_dict(config, source="service config"))
        self.service = RestoreService(pipeline, self.restore_pooled, service_settings)
        self.restore_pooled.set_max_batch_size(service_settings.max_batch_size)
        self.restore_pooled.set_batch_wait_timeout_s(service_settings.batch_wait_ms / 1000.0)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.02)
    async def restore_pooled(self, batches: list[CropBatch]) -> list[list[RestoredCrop]]:
        return await self.service.restore_batches(batches)

    def __serve_build_asgi_app__(self) -> Any:
        from difftsr_ocr.serve.app import build_app

        return build_app(self.service)


def gpus_per_replica(placement: Placement, config: PipelineConfig, cluster_gpus: float) -> float:
    """The share of a GPU each replica asks Ray for (0: none)."""
    per_gpu = placement.replicas_per_gpu
    if per_gpu is None:
        # Replicas go where the pipeline's device says: a GPU each when it may use one.
        per_gpu = 1 if config.device != "cpu" and cluster_gpus > 0 else 0
    if per_gpu < 0:
        raise ConfigError(f"--replicas-per-gpu {per_gpu}: give 0 (CPU only) or how many replicas share a GPU")
    if per_gpu == 0:
        return 0.0
    if placement.replicas / per_gpu > cluster_gpus:
        raise DeviceError(
            f"{placement.replicas} replica(s) at {per_gpu} per GPU need {placement.replicas / per_gpu:g} GPU(s) "
            f"but Ray has {cluster_gpus:g}; lower --replicas or raise --replicas-per-gpu"
        )
    return 1.0 / per_gpu


def _check_port_free(host: str, port: int) -> None:
    """A taken port fails here in one line: Serve's proxy would retry it in the background forever."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({error.strerror}); pick another --port or --host"
            ) from None


@contextlib.contextmanager
def start_service(config: PipelineConfig, settings: ServiceSettings, placement: Placement) -> Iterator[str]:
    """Run the service until the ``with`` block ends; yields its URL."""
    if placement.address is None:
        _check_port_free(placement.host, placement.port)
    cpus = max(os.cpu_count() or 1, int(placement.replicas * placement.cpus_per_replica))
    with ray_session(placement.address, num_cpus=cpus) as ray:
        gpus = gpus_per_replica(placement, config, ray.cluster_resources().get("GPU", 0.0))
        serve.start(http_options={"host": placement.host, "port": placement.port})
        try:
            deployment = RestoreDeployment.options(
                num_replicas=placement.replicas,
                max_ongoing_requests=settings.concurrent_requests,
                ray_actor_options={"num_cpus": placement.cpus_per_replica, "num_gpus": gpus},
            )
            application = deployment.bind(config_to_dict(config), dataclasses.asdict(settings), str(Path.home()))
            try:
                serve.run(application, name=APP_NAME, route_prefix="/")
            except RuntimeError as error:
                first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise DeviceError(f"the service's replicas did not start ({first}); run with -v for the log") from None
            yield f"http://{placement.host}:{placement.port}"
        finally:
            if placement.address is None:
                serve.shutdown()
            else:
                # Other applications may share the cluster's Serve: remove only ours.
                serve.delete(APP_NAME)
