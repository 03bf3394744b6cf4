"""Peak memory and time of loading the full-size DiffTSR weights, three ways.

    python benchmarks/load_weights.py [--workdir DIR] [--config YAML]

Writes random full-size weights once (DiffTSR.ckpt in the official layout, and its
safetensors conversion), then loads each in a fresh process and prints wall time, peak
resident memory, and the memory held afterwards (PSS) and its anonymous (private, not file-backed) part:

  upstream   networks built on the CPU with their own init, torch.load of the whole
             pickle, then load_state_dict copying into them (what the official code does)
  pickle     ours: networks on the meta device, torch.load(mmap=True), assign
  safetensors ours: networks on the meta device, safetensors memory-mapped, assign

Every mode then reads every weight once (a checksum), so mapped pages count as they
would after the first forward pass.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.difftsr import CHECKPOINT_COMPONENTS, DiffTSRNetworks, build_difftsr_networks
from difftsr_ocr.weights import convert_difftsr_weights, load_difftsr_weights

MODES = ("upstream", "pickle", "safetensors")


def _write_random_checkpoint(config: DiffTSRConfig, path: Path) -> None:
    networks = build_difftsr_networks(config)
    generator = torch.Generator().manual_seed(0)
    checkpoint = {}
    for key in CHECKPOINT_COMPONENTS:
        checkpoint[key] = {
            name: torch.randn(value.shape, generator=generator) * 0.02
            for name, value in networks.component(key).state_dict().items()
        }
    torch.save(checkpoint, path)


def _memory() -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    rollup = dict(line.split(":", 1) for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:])
    return {
        # Peak RSS counts a file page once per mapping that touched it, so a file mapped
        # twice (torch and safetensors both map whole files) looks bigger than it is;
        # PSS splits shared pages and is the memory actually held after loading.
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "pss_gb": int(rollup["Pss"].split()[0]) / 1e6,
        "anon_gb": int(status["RssAnon"].split()[0]) / 1e6,
    }


def _load(mode: str, config: DiffTSRConfig, ckpt: Path, safetensors: Path) -> dict[str, float]:
    start = time.perf_counter()
    if mode == "upstream":
        networks = DiffTSRNetworks(config).eval()
        stored = torch.load(ckpt, map_location="cpu", weights_only=True)
        for key in CHECKPOINT_COMPONENTS:
            networks.component(key).load_state_dict(stored[key], strict=True)
        del stored
    else:
        networks = build_difftsr_networks(config)
        load_difftsr_weights(networks, ckpt if mode == "pickle" else safetensors)
    loaded = time.perf_counter() - start
    checksum = sum(float(t.float().sum()) for t in networks.state_dict().values())
    return {"load_s": loaded, "load_and_touch_s": time.perf_counter() - start, "checksum": checksum, **_memory()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="where the random weights are written (default: a temp dir)")
    parser.add_argument("--config", help="model config (default: the full official one)")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = load_difftsr_config(args.config) if args.config else DiffTSRConfig()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="difftsr-bench-"))
    ckpt, safetensors = workdir / "DiffTSR.ckpt", workdir / "DiffTSR.safetensors"

    if args.mode:
        torch.set_num_threads(2)
        print(json.dumps(_load(args.mode, config, ckpt, safetensors)))
        return

    workdir.mkdir(parents=True, exist_ok=True)
    if not ckpt.exists():
        _write_random_checkpoint(config, ckpt)
    if not safetensors.exists():
        convert_difftsr_weights(ckpt, safetensors)
    print(f"weights: {ckpt.stat().st_size / 1e9:.2f} GB pickle, {safetensors.stat().st_size / 1e9:.2f} GB safetensors")
    print(f"{'mode':<12}{'load s':>8}{'+touch s':>10}{'peak RSS GB':>13}{'PSS GB':>8}{'anon GB':>9}")
    checksums = set()
    for mode in MODES:
        command = [sys.executable, __file__, "--mode", mode, "--workdir", str(workdir)]
        if args.config:
            command += ["--config", args.config]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        checksums.add(round(result["checksum"], 3))
        print(
            f"{mode:<12}{result['load_s']:>8.1f}{result['load_and_touch_s']:>10.1f}"
            f"{result['peak_rss_gb']:>13.2f}{result['pss_gb']:>8.2f}{result['anon_gb']:>9.2f}"
        )
    print("same weights in every mode" if len(checksums) == 1 else f"CHECKSUMS DIFFER: {checksums}")


if __name__ == "__main__":
    main()
