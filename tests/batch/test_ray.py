"""The same job on a local Ray instance (2 CPUs, no dashboard, no usage statistics, a private HOME)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Ray is in the test extra: a missing Ray is a failure here, not a skip.
import ray  # noqa: F401

from tests.batch.conftest import manifest, run_batch, write_job


def test_ray_executor_matches_local(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    (home / "ray_bootstrap_config.yaml").write_text("provider:\n  type: local\n", encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    write_job(archive, executor="executor: {kind: ray, workers: 2, num_cpus: 1, pages_per_batch: 1}")
    result = run_batch("job.yaml", cwd=archive, env=env)
    assert result.returncode == 1, result.stderr
    assert "inputs: 3 done, 0 skipped, 1 failed; pages 4" in result.stdout
    records = {Path(r["input"]).name: r for r in manifest(archive)}
    assert records["broken.png"]["status"] == "failed"
    assert all(records[name]["status"] == "ok" for name in ("alpha.png", "beta.png", "scan.tif"))
    assert (archive / "out" / "sub" / "beta.json").is_file()
    again = run_batch("job.yaml", cwd=archive, env=env)
    assert "3 skipped" in again.stdout
