"""Speed and memory of the DiffTSR restorer at full size (official config, random weights).

    python benchmarks/restore_speed.py                      # CPU: batch 1 and 4, fp32
    python benchmarks/restore_speed.py --device cuda        # GPU: batch 1, 8, 32, 64; fp32 and bf16; eager and compiled
    python benchmarks/restore_speed.py --batches 1 4 16 --precisions fp32 bf16 --compile off on --steps 3

For each (precision, batch, compile) it times, after one warm-up: one joint step (MoM +
IDM U-Net + sampler update; the TDM too with --refine-text), the text prior, the VAE
encode and the VAE decode; then extrapolates the crops per second of a whole restoration
for each sampler at its step count (DDIM: the official 200; DPM-Solver++ and UniPC:
--solver-steps, default 20), one U-Net call per step (the solvers' update is a few
multiply-adds). On CUDA it also prints the share of the GPU's dense bf16 peak that the
step reaches (FLOPs counted once with torch's FlopCounterMode; --peak-tflops overrides
the peak looked up from the device name). A batch that does not fit is reported as OOM.

Steps are timed in wall time ("s/step") and in the process's CPU time ("cpu s"), which
swings less on a machine shared with other jobs (see step_clock.py).

The first row, "default-conv", is OUR code at batch 1, fp32, eager, with every
convolution through PyTorch's default kernel (no prepacked weights, no Winograd): what
CpuFastConv2d buys. It is not the official implementation.
With --official-dir PATH (a checkout of the official code, e.g. fetched under /tmp; it is
imported from there at run time, never vendored, and needs einops; see official_step.py)
an "official" row per batch (fp32, eager) times the official code's own joint step on the
same device, torch and threads, and the last lines give ours/official per batch. Without it those rows
are skipped, and the output says so. Rows are measured in rounds (--rounds), each round
timing every row once, and each figure is the median over rounds (with the range of the
step time when there are several), so that a machine whose speed drifts affects all rows
alike. --step-only times just the joint step, which is all the official rows time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import resource
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from official_step import OfficialStep
from random_weights import fill_random
from step_clock import StepClock

from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.difftsr import DiffTSRNetworks, build_difftsr_networks, build_transocr
from difftsr_ocr.models.layers import CpuFastConv2d, cpu_kernels
from difftsr_ocr.models.text_prior import predict_text_prior
from difftsr_ocr.models.transocr import TransOCR
from difftsr_ocr.restore.difftsr import PRECISIONS, compile_networks
from difftsr_ocr.restore.sampling import LoopNetworks, SamplingConfig, SeededNoise, joint_denoise
from difftsr_ocr.samplers import LATENT_SAMPLERS

OFFICIAL_STEPS = 200
# Dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets, by device-name substring.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}


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
    networks: LoopNetworks | DiffTSRNetworks, z_lr: torch.Tensor, tokens: torch.Tensor, steps: int, refine_text: bool
) -> tuple[float, float]:
    """Median (wall, process CPU) seconds of a joint step."""
    device = z_lr.device
    clock = StepClock(lambda: _synchronize(device))
    clock.stamp()
    noise = SeededNoise(list(range(z_lr.shape[0])), device)
    config = SamplingConfig(steps=steps, eta=0.2, refine_text=refine_text)
    joint_denoise(networks, z_lr, tokens, config, noise, lambda state: clock.stamp())
    return clock.wall_s(), clock.cpu_s()


def step_flops(networks: DiffTSRNetworks, z_lr: torch.Tensor, tokens: torch.Tensor, refine_text: bool) -> float:
    """FLOPs of one joint step at this batch, counted by torch (matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    config = SamplingConfig(steps=1, eta=0.0, refine_text=refine_text)
    with counter:
        joint_denoise(networks, z_lr, tokens, config, SeededNoise(list(range(z_lr.shape[0])), z_lr.device))
    return float(counter.get_total_flops())


def measure(
    networks: DiffTSRNetworks,
    text_prior: TransOCR,
    batch: int,
    precision: str,
    steps: int,
    refine_text: bool,
    compiled: bool = False,
    step_only: bool = False,
) -> dict[str, float]:
    device = next(networks.parameters()).device
    dtype = PRECISIONS[precision]
    height, width = (4 * size for size in networks.config.idm_unet.image_size)
    x = torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(batch)).to(device)
    loop_networks = compile_networks(networks, device) if compiled else networks
    encode = loop_networks.encode if compiled else networks.vae.encode
    decode = loop_networks.decode if compiled else networks.vae.decode
    if step_only:
        # The step's cost does not depend on the values, only on the shapes: skip the
        # recogniser and the encoder that would make them.
        generator = torch.Generator().manual_seed(batch)
        num_classes = networks.config.num_classes
        tokens = torch.randint(num_classes, (batch, networks.config.max_length), generator=generator).to(device)
        z_lr = torch.randn(batch, 3, height // 4, width // 4, generator=generator).to(device)
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None),
        ):
            step_s, cpu_s = _step_seconds(loop_networks, z_lr, tokens, steps, refine_text)
        return {"step_s": step_s, "cpu_s": cpu_s, "peak_gb": _peak_memory_gb(device)} | dict.fromkeys(
            ("prior_s", "encode_s", "decode_s", "tflops"), math.nan
        )
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        prior_s = _timed(lambda: predict_text_prior(text_prior, x), device, 2)
        tokens = predict_text_prior(text_prior, x).ids
        encode(x)  # warm-up (and, compiled, the compilation)
        encode_s = _timed(lambda: encode(x), device, 2)
        z_lr = networks.vae.encode(x).mean.float()
        flops = step_flops(networks, z_lr, tokens, refine_text) if device.type == "cuda" else 0.0
        step_s, cpu_s = _step_seconds(loop_networks, z_lr, tokens, steps, refine_text)
    # The decode runs outside autocast in the VAE's own dtype, as the restorer does.
    with torch.inference_mode():
        decode(z_lr / networks.config.vae.scale_factor)
        decode_s = _timed(lambda: decode(z_lr / networks.config.vae.scale_factor), device, 2)
    return {
        "step_s": step_s,
        "cpu_s": cpu_s,
        "prior_s": prior_s,
        "encode_s": encode_s,
        "decode_s": decode_s,
        "tflops": flops / step_s / 1e12,
        "peak_gb": _peak_memory_gb(device),
    }


def crops_per_second(figures: dict[str, float], batch: int, steps: int) -> float:
    """Crops per second of a whole restoration taking ``steps`` joint steps (one U-Net call each)."""
    whole = figures["prior_s"] + figures["encode_s"] + steps * figures["step_s"] + figures["decode_s"]
    return batch / whole


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    precision: str
    batch: int
    compiled: bool = False
    default_convolutions: bool = False
    official: bool = False


def _measure_row(
    row: Row,
    networks: DiffTSRNetworks,
    text_prior: TransOCR,
    official: OfficialStep | None,
    args: argparse.Namespace,
) -> dict[str, float] | None:
    """The row's figures, or None when its batch does not fit in device memory."""
    try:
        if row.official:
            assert official is not None
            device = official.device
            step_s, cpu_s = official.step_seconds(row.batch, args.steps, lambda: _synchronize(device))
            return {"step_s": step_s, "cpu_s": cpu_s, "peak_gb": _peak_memory_gb(device)} | dict.fromkeys(
                ("prior_s", "encode_s", "decode_s", "tflops"), math.nan
            )
        with _default_convolutions() if row.default_convolutions else contextlib.nullcontext():
            return measure(
                networks,
                text_prior,
                row.batch,
                row.precision,
                args.steps,
                args.refine_text,
                row.compiled,
                args.step_only,
            )
    except torch.OutOfMemoryError:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return None


def _bf16_peak(device: torch.device, given: float | None) -> float | None:
    if given or device.type != "cuda":
        return given
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK_TFLOPS.items() if key in name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, nargs="+", help="default: 1 4 (CPU), 1 8 32 64 (GPU)")
    parser.add_argument(
        "--precisions", nargs="+", choices=list(PRECISIONS), help="default: fp32 (CPU), fp32 bf16 (GPU)"
    )
    parser.add_argument(
        "--compile",
        nargs="+",
        choices=("off", "on"),
        help="eager and/or torch.compile (default: off (CPU), off on (GPU))",
    )
    parser.add_argument(
        "--steps", type=int, default=3, help="joint steps per measurement (median of their gaps after the first)"
    )
    parser.add_argument("--solver-steps", type=int, default=20, help="steps of DPM-Solver++ and UniPC (default: 20)")
    parser.add_argument("--rounds", type=int, default=1, help="times each row is measured (median reported)")
    parser.add_argument("--refine-text", action="store_true", help="time the general=False loop (TDM every step)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--config", help="model config (default: the full official one)")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak (default: from its name)")
    parser.add_argument("--official-dir", help="a checkout of the official DiffTSR code: adds its step as a row")
    parser.add_argument("--step-only", action="store_true", help="time only the joint step (not prior, VAE)")
    args = parser.parse_args()
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    batches = args.batches or ([1, 8, 32, 64] if on_gpu else [1, 4])
    precisions = args.precisions or (["fp32", "bf16"] if on_gpu else ["fp32"])
    compile_modes = args.compile or (["off", "on"] if on_gpu else ["off"])
    if args.threads:
        torch.set_num_threads(args.threads)
    sampler_steps = {sampler: OFFICIAL_STEPS if sampler == "ddim" else args.solver_steps for sampler in LATENT_SAMPLERS}

    config = load_difftsr_config(args.config) if args.config else DiffTSRConfig()
    generator = torch.Generator().manual_seed(0)
    networks = build_difftsr_networks(config)
    fill_random(networks, device, generator)
    text_prior = build_transocr(config.text_prior)
    fill_random(text_prior, device, generator)
    official = None
    if args.official_dir:
        if args.refine_text:
            parser.error("--official-dir times the official general=True step; drop --refine-text")
        official = OfficialStep(args.official_dir, device, generator)
    gpu = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    peak = _bf16_peak(device, args.peak_tflops)
    print(f"device: {gpu}; torch {torch.__version__}; loop: {'general=False' if args.refine_text else 'general=True'}")
    if device.type == "cpu":
        print("CPU kernels chosen by probes: " + ", ".join(f"{name} {on}" for name, on in cpu_kernels().items()))
    print("U-Net calls per crop: " + ", ".join(f"{name} {count}" for name, count in sampler_steps.items()))

    rows = [Row("default-conv", "fp32", 1, default_convolutions=True)]
    rows += [
        Row("compiled" if mode == "on" else "eager", precision, batch, compiled=mode == "on")
        for mode in compile_modes
        for precision in precisions
        for batch in batches
    ]
    if official is None:
        print("official rows skipped: no --official-dir given")
    else:
        rows += [Row("official", "fp32", batch, official=True) for batch in batches]
    rounds: dict[Row, list[dict[str, float]]] = {row: [] for row in rows}
    for _ in range(args.rounds):
        for row in rows:
            figures = _measure_row(row, networks, text_prior, official, args)
            if figures is not None:
                rounds[row].append(figures)

    _print_table(rows, rounds, sampler_steps, peak)
    for batch in batches if official is not None else []:
        ours, theirs = (
            rounds.get(Row("eager", "fp32", batch), []),
            rounds[Row("official", "fp32", batch, official=True)],
        )
        # Paired within each round, so a machine slowing down between rounds cancels out.
        for key, clock in (("step_s", "wall"), ("cpu_s", "process CPU")):
            ratios = [a[key] / b[key] for a, b in zip(ours, theirs, strict=False)]
            if ratios:
                print(
                    f"ours/official step, batch {batch}, {clock} time: {statistics.median(ratios):.3f} "
                    f"(per round {min(ratios):.3f}-{max(ratios):.3f}, {len(ratios)} rounds)"
                )


def _cell(value: float, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"


def _print_table(
    rows: list[Row], rounds: dict[Row, list[dict[str, float]]], sampler_steps: dict[str, int], peak: float | None
) -> None:
    sampler_columns = "".join(f"{'crops/s ' + name:>18}" for name in sampler_steps)
    print(
        f"{'path':<13}{'precision':<10}{'batch':>6}{'s/step':>9}{'range':>14}{'cpu s':>8}{'prior s':>9}{'enc s':>8}{'dec s':>8}"
        f"{sampler_columns}{'TFLOP/s':>9}{'% peak':>8}{'peak GB':>9}"
    )
    for row in rows:
        if not rounds[row]:
            print(f"{row.label:<13}{row.precision:<10}{row.batch:>6}   OOM")
            continue
        result = {key: statistics.median(r[key] for r in rounds[row]) for key in rounds[row][0]}
        steps = [r["step_s"] for r in rounds[row]]
        share = f"{100 * result['tflops'] / peak:>7.1f}%" if peak and result["tflops"] > 0 else f"{'-':>8}"
        print(
            f"{row.label:<13}{row.precision:<10}{row.batch:>6}{result['step_s']:>9.3f}"
            f"{f'{min(steps):.3f}-{max(steps):.3f}':>14}{result['cpu_s']:>8.2f}{_cell(result['prior_s'], 9, 2)}"
            f"{_cell(result['encode_s'], 8, 2)}{_cell(result['decode_s'], 8, 2)}"
            + "".join(_cell(crops_per_second(result, row.batch, count), 18, 4) for count in sampler_steps.values())
            + f"{_cell(result['tflops'], 9, 1)}{share}{result['peak_gb']:>9.2f}"
        )


if __name__ == "__main__":
    main()
