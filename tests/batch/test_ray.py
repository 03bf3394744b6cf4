"""The same job on a local Ray instance (2 CPUs, no dashboard, no usage statistics, a private HOME)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Ray is in the test extra: a missing Ray is a failure here, not a skip.
import ray
from PIL import Image

from difftsr_ocr.batch.job import Job, load_job
from difftsr_ocr.batch.plan import WorkItem, plan_job
from difftsr_ocr.batch.ray import ATTEMPTS, BatchWorker, run_ray
from tests.batch.conftest import manifest, page, run_batch, write_job


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


class _DyingWorker(BatchWorker):
    """Kills its own process, as the kernel's OOM killer would: once (``marker``), or on ``poison`` inputs."""

    marker = ""
    poison = ""

    def run(self, items: list[WorkItem], force: bool = False) -> list[dict]:
        if self.poison and any(item.source.name == self.poison for item in items):
            os._exit(1)
        if self.marker and not Path(self.marker).exists():
            Path(self.marker).touch()
            os._exit(1)
        return super().run(items, force)


# Ray workers cannot import this test module: send the class itself.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _ray_job(folder: Path, names: list[str]) -> tuple[Job, list[WorkItem]]:
    (folder / "in").mkdir()
    for name in names:
        Image.fromarray(page(f"Page {name[:-4]}")).save(folder / "in" / name)
    write_job(folder, executor="executor: {kind: ray, workers: 2, num_cpus: 1, pages_per_batch: 1}")
    job = load_job(folder / "job.yaml")
    return job, plan_job(job)


def test_a_dead_worker_s_inputs_are_done_by_a_fresh_one(tmp_path: Path) -> None:
    job, items = _ray_job(tmp_path, ["one.png", "two.png", "three.png"])
    dies_once = type("DiesOnce", (_DyingWorker,), {"marker": str(tmp_path / "died")})
    records = list(run_ray(job, items, worker_class=dies_once))
    assert (tmp_path / "died").exists(), "a worker died"
    assert sorted(r["input"] for r in records) == sorted(item.key for item in items)
    assert all(r["status"] == "ok" for r in records), records


def test_an_input_that_keeps_killing_its_worker_fails_alone(tmp_path: Path) -> None:
    job, items = _ray_job(tmp_path, ["good.png", "poison.png", "fine.png"])
    poisoned = type("Poisoned", (_DyingWorker,), {"poison": "poison.png"})
    records = {Path(r["input"]).name: r for r in run_ray(job, items, worker_class=poisoned)}
    assert records["poison.png"]["status"] == "failed"
    assert f"died {ATTEMPTS} times" in records["poison.png"]["error"]
    assert records["good.png"]["status"] == records["fine.png"]["status"] == "ok"


def test_a_worker_that_cannot_see_the_files_says_so(tmp_path: Path) -> None:
    # What a worker on a node without the shared file system would find (checked without Ray).
    worker = BatchWorker({"device": "cpu", "restorer": {"kind": "classical"}}, ("json",), 200.0, 1, str(Path.home()))
    assert worker.ready([str(tmp_path)]) is None
    error = worker.ready([str(tmp_path), str(tmp_path / "elsewhere" / "scan.png")])
    assert error is not None and "cannot see" in str(error) and "every Ray node mounts" in str(error)
