"""Error vs steps of each latent sampler: on Gaussian data (exact answers) and on tiny_A.

    python benchmarks/solvers.py                       # analytic model, and tiny_A vs DDIM at 999 steps
    python benchmarks/solvers.py --skip-networks       # analytic model only (seconds)

Analytic: data x0 ~ N(mean, diag(std^2)) (difftsr_ocr/evaluation/analytic_diffusion.py),
each sampler fed the exact eps, error = max |x - exact ODE solution| at t = 0, where DDIM
ends too; "order" is log2 of the error ratio when the steps double. Networks: the joint
loop of the tiny reference networks (random weights, official layout), eta 0, one crop;
error = RMS distance to DDIM at 999 steps (every training step: the finest DDIM there is),
relative to the RMS of that reference. Every figure counts U-Net calls: one per step.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from difftsr_ocr.evaluation.analytic_diffusion import GaussianData, ode_error
from difftsr_ocr.models.config import load_difftsr_config
from difftsr_ocr.models.difftsr import build_difftsr_networks
from difftsr_ocr.restore.sampling import SamplingConfig, SeededNoise, joint_denoise
from difftsr_ocr.samplers import LATENT_SAMPLERS
from difftsr_ocr.samplers.schedules import linear_gaussian_schedule
from difftsr_ocr.weights import load_difftsr_weights

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "tiny_A"


def analytic_table(steps: list[int]) -> dict[str, list[float]]:
    data = GaussianData.random(linear_gaussian_schedule().alphas_cumprod_float64.numpy())
    return {sampler: [ode_error(data, sampler, count) for count in steps] for sampler in LATENT_SAMPLERS}


def network_table(steps: list[int], reference_steps: int) -> tuple[dict[str, list[float]], float]:
    networks = build_difftsr_networks(load_difftsr_config(REFERENCE / "config_tiny_A.yaml"))
    load_difftsr_weights(networks, REFERENCE / "difftsr_tiny_A.ckpt")
    from safetensors.torch import load_file

    io = load_file(REFERENCE / "tiny_A_io.safetensors")
    image = torch.from_numpy(io["lr_image_uint8"][:1].numpy() / 255.0).float().permute(0, 3, 1, 2).contiguous()
    with torch.inference_mode():
        z_lr = networks.vae.encode(image).mean

        def final(sampler: str, count: int) -> torch.Tensor:
            config = SamplingConfig(sampler=sampler, steps=count, eta=0.0)
            return joint_denoise(networks, z_lr, io["c_t"][:1], config, SeededNoise([5], "cpu")).latents

        began = time.perf_counter()
        reference = final("ddim", reference_steps)
        seconds_per_call = (time.perf_counter() - began) / reference_steps
        scale = float(reference.pow(2).mean().sqrt())
        table = {
            sampler: [float((final(sampler, count) - reference).pow(2).mean().sqrt()) / scale for count in steps]
            for sampler in LATENT_SAMPLERS
        }
    return table, seconds_per_call


def print_table(title: str, steps: list[int], table: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'sampler':<10}" + "".join(f"{n:>10}" for n in steps) + "   order at each doubling")
    for sampler, errors in table.items():
        doublings = [
            math.log2(errors[i] / errors[i + 1])
            for i in range(len(steps) - 1)
            if steps[i + 1] == 2 * steps[i] and errors[i + 1] > 0
        ]
        orders = " ".join(f"{order:.2f}" for order in doublings) or "-"
        print(f"{sampler:<10}" + "".join(f"{e:>10.2e}" for e in errors) + f"   {orders}")


def calls_for(table: dict[str, list[float]], steps: list[int], sampler: str, target: float) -> str:
    """The fewest listed steps at which ``sampler`` is within ``target``."""
    for count, error in zip(steps, table[sampler], strict=True):
        if error <= target:
            return str(count)
    return f"> {steps[-1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20, 40, 80, 160, 200])
    parser.add_argument("--network-steps", type=int, nargs="+", default=[10, 20, 25, 50, 100, 200])
    parser.add_argument("--reference-steps", type=int, default=999, help="DDIM steps of the tiny_A reference")
    parser.add_argument("--skip-networks", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)

    analytic = analytic_table(args.steps)
    print_table("Gaussian data, exact eps: max |x - exact ODE solution| at t = 0", args.steps, analytic)
    if 200 in args.steps:
        target = analytic["ddim"][args.steps.index(200)]
        print(f"\nsteps (= U-Net calls) to reach DDIM-200's error {target:.2e}:")
        for sampler in LATENT_SAMPLERS:
            print(f"  {sampler:<10}{calls_for(analytic, args.steps, sampler, target)}")

    if not args.skip_networks:
        if not REFERENCE.is_dir():
            print(f"tiny_A reference not found at {REFERENCE}", file=sys.stderr)
            return 1
        networks, seconds = network_table(args.network_steps, args.reference_steps)
        print_table(
            f"tiny_A networks, one crop: RMS distance to DDIM at {args.reference_steps} steps / RMS of it",
            args.network_steps,
            networks,
        )
        print(f"({seconds * 1000:.0f} ms per joint step on this CPU, {torch.get_num_threads()} threads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
