"""Speed and memory of the DiffTSR restorer at full size (official config, random weights).

    python benchmarks/restore_speed.py                      # CPU: batch 1 and 4, fp32
    python benchmarks/restore_speed.py --device cuda        # GPU: batch 1, 4, 16; fp32 and bf16
    python benchmarks/restore_speed.py --batches 1 4 16 --precisions fp32 bf16 --steps 3

For each (precision, batch) it times, after one warm-up: one joint DDIM step (MoM + IDM
U-Net + DDIM update; the TDM too with --refine-text), the text prior, the VAE encode and
the VAE decode; then extrapolates the crops per second of a whole restoration at the
official 200 steps. The first row is the upstream-equivalent path: batch 1, fp32, eager,
every convolution through PyTorch's default algorithm (upstream restores one crop at a
time that way); the last column is the speed-up over it. Rows are measured in rounds
(--rounds), each round timing every row once, and each figure is the median over rounds,
so that a machine whose speed drifts affects all rows alike.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import resource
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from random_weights import fill_random

from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.difftsr import DiffTSRNetworks, build_difftsr_networks, build_transocr
from difftsr_ocr.models.layers import CpuFastConv2d
from difftsr_ocr.models.text_prior import predict_text_prior
from difftsr_ocr.models.transocr import TransOCR
from difftsr_ocr.restore.difftsr import PRECISIONS
from difftsr_ocr.restore.sampling import SamplingConfig, SeededNoise, StepState, joint_denoise

OFFICIAL_STEPS = 200


@contextlib.contextmanager
def _default_convolutions() -> Iterator[None]:
    """Every convolution through torch's default algorithm, as in upstream's code."""
    routed = CpuFastConv2d.forward
    CpuFastConv2d.forward = torch.nn.Conv2d.forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        CpuFastConv2d.forward = routed  # type: ignore[method-assign]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _step_seconds(
    networks: DiffTSRNetworks, z_lr: torch.Tensor, tokens: torch.Tensor, steps: int, refine_text: bool
) -> float:
    device = z_lr.device
    stamps: list[float] = []

    def stamp(state: StepState) -> None:
        _synchronize(device)
        stamps.append(time.perf_counter())

    _synchronize(device)
    stamps.append(time.perf_counter())
    noise = SeededNoise(list(range(z_lr.shape[0])), device)
    joint_denoise(networks, z_lr, tokens, SamplingConfig(steps=steps, eta=0.2, refine_text=refine_text), noise, stamp)
    return statistics.median(b - a for a, b in itertools.pairwise(stamps))


def measure(
    networks: DiffTSRNetworks,
    text_prior: TransOCR,
    batch: int,
    precision: str,
    steps: int,
    refine_text: bool,
) -> dict[str, float]:
    device = next(networks.parameters()).device
    dtype = PRECISIONS[precision]
    height, width = (4 * size for size in networks.config.idm_unet.image_size)
    x = torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(batch)).to(device)
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        prior_s = _timed(lambda: predict_text_prior(text_prior, x), device, 2)
        tokens = predict_text_prior(text_prior, x).ids
        encode_s = _timed(lambda: networks.vae.encode(x), device, 2)
        z_lr = networks.vae.encode(x).mean.float()
        decode_s = _timed(lambda: networks.vae.decode(z_lr / networks.config.vae.scale_factor), device, 2)
        step_s = _step_seconds(networks, z_lr, tokens, steps, refine_text)
    whole = prior_s + encode_s + OFFICIAL_STEPS * step_s + decode_s
    return {
        "step_s": step_s,
        "prior_s": prior_s,
        "encode_s": encode_s,
        "decode_s": decode_s,
        "crops_per_s": batch / whole,
        "peak_gb": _peak_memory_gb(device),
    }


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    precision: str
    batch: int
    upstream_equivalent: bool = False


def _measure_row(
    row: Row, networks: DiffTSRNetworks, text_prior: TransOCR, steps: int, refine_text: bool
) -> dict[str, float]:
    with _default_convolutions() if row.upstream_equivalent else contextlib.nullcontext():
        return measure(networks, text_prior, row.batch, row.precision, steps, refine_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, nargs="+", help="default: 1 4 (CPU), 1 4 16 (GPU)")
    parser.add_argument(
        "--precisions", nargs="+", choices=list(PRECISIONS), help="default: fp32 (CPU), fp32 bf16 (GPU)"
    )
    parser.add_argument("--steps", type=int, default=3, help="DDIM steps timed per measurement (median of their gaps)")
    parser.add_argument("--rounds", type=int, default=1, help="times each row is measured (median reported)")
    parser.add_argument("--refine-text", action="store_true", help="time the general=False loop (TDM every step)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--config", help="model config (default: the full official one)")
    args = parser.parse_args()
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    batches = args.batches or ([1, 4, 16] if on_gpu else [1, 4])
    precisions = args.precisions or (["fp32", "bf16"] if on_gpu else ["fp32"])
    if args.threads:
        torch.set_num_threads(args.threads)

    config = load_difftsr_config(args.config) if args.config else DiffTSRConfig()
    generator = torch.Generator().manual_seed(0)
    networks = build_difftsr_networks(config)
    fill_random(networks, device, generator)
    text_prior = build_transocr(config.text_prior)
    fill_random(text_prior, device, generator)
    gpu = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {gpu}; torch {torch.__version__}; loop: {'general=False' if args.refine_text else 'general=True'}")

    rows = [Row("upstream-eq", "fp32", 1, upstream_equivalent=True)]
    rows += [Row("ours", precision, batch) for precision in precisions for batch in batches]
    rounds: dict[Row, list[dict[str, float]]] = {row: [] for row in rows}
    for _ in range(args.rounds):
        for row in rows:
            rounds[row].append(_measure_row(row, networks, text_prior, args.steps, args.refine_text))

    print(
        f"{'path':<13}{'precision':<10}{'batch':>6}{'s/step':>9}{'prior s':>9}{'enc s':>8}{'dec s':>8}"
        f"{'crops/s@200':>13}{'peak GB':>9}{'speed-up':>10}"
    )
    baseline = None
    for row in rows:
        result = {key: statistics.median(r[key] for r in rounds[row]) for key in rounds[row][0]}
        baseline = baseline or result["crops_per_s"]
        print(
            f"{row.label:<13}{row.precision:<10}{row.batch:>6}{result['step_s']:>9.3f}{result['prior_s']:>9.2f}"
            f"{result['encode_s']:>8.2f}{result['decode_s']:>8.2f}{result['crops_per_s']:>13.4f}"
            f"{result['peak_gb']:>9.2f}{result['crops_per_s'] / baseline:>9.1f}x"
        )


if __name__ == "__main__":
    main()
