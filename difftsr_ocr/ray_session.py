"""Starting Ray the way every difftsr-ocr front-end does: the caller's session, a cluster, or a private local one.

A local Ray instance is started with a private HOME holding a
``ray_bootstrap_config.yaml`` of ``provider: {type: local}``: without it, every Ray start
probes the cloud metadata address 169.254.169.254, even with usage statistics off.
Workers that need the user's HOME back (weights under ``~/.cache``) get it passed in: a
``runtime_env`` would need Ray's runtime-env agent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ray_session"]

_BOOTSTRAP = "provider:\n  type: local\n"


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """The ``ray`` module, initialised: joined to ``address``, or a local instance of ``num_cpus`` CPUs.

    A session the caller already started is used and left running; one started here is
    shut down (and its temporary folder removed) on exit.
    """
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray 2.60 otherwise turns on token authentication for a private local cluster and
    # writes a token file plus a warning; nothing outside this process talks to it.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        yield ray
        return
    if address is not None:
        ray.init(address=address, log_to_driver=False)
        try:
            yield ray
        finally:
            ray.shutdown()
        return
    temp = Path(tempfile.mkdtemp(prefix="difftsr_ray_"))
    home = temp / "home"
    home.mkdir()
    (home / "ray_bootstrap_config.yaml").write_text(_BOOTSTRAP, encoding="utf-8")
    user_home = os.environ.get("HOME", str(Path.home()))
    os.environ["HOME"] = str(home)
    try:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, _temp_dir=str(temp / "ray"))
    finally:
        os.environ["HOME"] = user_home
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
