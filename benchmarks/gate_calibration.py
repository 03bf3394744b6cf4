"""The trust gate against an ideal restorer and a convincing liar, and the figures its thresholds come from.

    python benchmarks/gate_calibration.py                 # 40 generated pages (>= 300 lines, ~6 min on 2 cores)
    python benchmarks/gate_calibration.py --pages 6 --lines

Pages come from the seeded generator (difftsr_ocr.evaluation.synthetic), which knows
each degraded line's clean pixels. The truth restorer returns the clean region of each
line; the liar redraws it with 1-2 characters swapped for the recogniser's own most
plausible confusions (difftsr_ocr.evaluation.oracles). Printed: the evidence of every
changed reading (log-likelihood ratio per changed character under the original crop's
CTC output, the same of the original vs the restored reading under the restored crop,
the pixel inconsistency and the best look-alike's gain) by restorer and script, a sweep of the safe gate's thresholds, and per
policy the share of the truth restorer's corrections accepted (goal >= 90%; a changed
reading of the clean crop that is no nearer the truth is not a correction), the
share of the liar's refused (goal >= 99%) and the merged text's character error rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.gate_trial import RESTORERS, ChangedLine, GateTrial, run_gate_trial
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage, generate_pages
from difftsr_ocr.gate import GATE_POLICIES, GateConfig, decide
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.results import Reading

DEFAULT_CACHE = Path.home() / ".cache" / "difftsr-ocr" / "quality-pages"
SCRIPTS = ("latin", "cjk", "all")


def _percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    low, q05, median, q95, high = np.percentile(values, [0, 5, 50, 95, 100])
    return f"{low:7.2f} {q05:7.2f} {median:7.2f} {q95:7.2f} {high:7.2f}"


def _safe_accepts(line: ChangedLine, gate: GateConfig) -> bool:
    original = Reading("ocr_original", line.original, 1.0)
    restored = Reading("ocr_restored", line.restored, line.restored_confidence)
    return decide(original, restored, None, line.evidence, gate).restore


def _shares(trial: GateTrial, gate: GateConfig, script: str = "all") -> tuple[float, float]:
    """(corrections accepted, liar's lies refused) under ``gate``."""
    truth = [_safe_accepts(c, gate) for c in trial.lines_of("truth", script)]
    liar = [not _safe_accepts(c, gate) for c in trial.lines_of("liar", script)]
    return float(np.mean(truth)) if truth else float("nan"), float(np.mean(liar)) if liar else float("nan")


def _witness(trial: GateTrial, name: str) -> None:
    print(f"{'restorer':<9}{'script':<8}{'lines':>6}  {'(min, 5%, median, 95%, max)'}")
    for restorer in RESTORERS:
        for script in SCRIPTS:
            lines = trial.lines_of(restorer, script)
            values = [getattr(c.evidence, name) for c in lines if c.evidence is not None]
            values = [v for v in values if v is not None]
            print(f"{restorer:<9}{script:<8}{len(lines):>6}  {_percentiles(values)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--lines", action="store_true", help="also print every changed line")
    args = parser.parse_args()
    pages = generate_pages(args.pages, seed=args.seed, cache_dir=args.cache)
    pipeline = Pipeline(PPOCRDetector(), PPOCRRecognizer(), None, config_from_dict({"device": "cpu"}))

    def progress(page: SyntheticPage, trial: GateTrial) -> None:
        print(f"\r{trial.pages}/{args.pages} pages ({page.name})", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    trial = run_gate_trial(pages, pipeline, GATE_POLICIES, progress)
    print(file=sys.stderr)
    print(f"{trial.pages} pages, {trial.lines} true lines, {time.perf_counter() - started:.0f} s")
    unmatched = sum(c.script == "unmatched" for c in trial.changed)
    print(f"(not scored: {unmatched} changed readings of detections that match no true line)")
    astray = [c for c in trial.changed if c.restorer == "truth" and c.script != "unmatched" and not c.corrects]
    print(
        f"(not scored: {len(astray)} changed readings of the clean crop that are no nearer the truth, "
        f"{sum(c.accepted['safe'] for c in astray)} of them accepted by safe)"
    )

    print(
        "\nWitness 1, under the original crop: log-likelihood ratio restored vs original reading per changed character"
    )
    _witness(trial, "original_log_ratio")
    print(
        "\nWitness 2, under the restored crop: log-likelihood ratio original vs restored reading per changed character"
    )
    _witness(trial, "restored_log_ratio")
    print("\nWitness 3, the pixels: inconsistency of the restoration with the original crop")
    _witness(trial, "inconsistency")
    print("\nWitness 4, look-alikes: how much better the original crop supports the best look-alike reading")
    _witness(trial, "lookalike_gain")

    current = GateConfig()
    ratios = (-2.0, -3.5, -5.0, -6.0, -8.0, -10.0, -12.0)
    print("\nSafe gate sweep: corrections accepted / liar's lies refused (all scripts; the other bars at default)")
    sweeps = {
        "max_inconsistency": (3.0, 3.6, 4.0, 5.0, math.inf),
        "max_lookalike_gain": (4.0, 5.0, 6.0, 7.0, math.inf),
    }
    for name, bars in sweeps.items():
        print(f"{'min_log_ratio':>14}" + "".join(f"{f'{name} {b:g}':>26}" for b in bars))
        for ratio in ratios:
            cells = []
            for bar in bars:
                truth, liar = _shares(trial, dataclasses.replace(current, min_log_ratio=ratio, **{name: bar}))
                cells.append(f"{truth:>7.1%} /{liar:>7.1%}")
            print(f"{ratio:>14.1f}" + "".join(f"{cell:>26}" for cell in cells))
    alone = dataclasses.replace(
        current, max_restored_log_ratio=0.0, max_inconsistency=math.inf, max_lookalike_gain=math.inf
    )
    print("The original crop's CTC ratio alone (the other witnesses off):")
    for ratio in ratios:
        truth, liar = _shares(trial, dataclasses.replace(alone, min_log_ratio=ratio))
        print(f"{ratio:>14.1f}{truth:>10.1%} /{liar:>7.1%}")
    restored_bars = (0.0, -1.0, -2.0, -3.0, -5.0)
    print("The restored crop's witness, at the default other bars:")
    for bar in restored_bars:
        truth, liar = _shares(trial, dataclasses.replace(current, max_restored_log_ratio=bar))
        print(f"{'max_restored_log_ratio':>24} {bar:>5.1f}{truth:>10.1%} /{liar:>7.1%}")

    print(
        f"\nPolicies (safe: min_log_ratio {current.min_log_ratio:g}, max_restored_log_ratio "
        f"{current.max_restored_log_ratio:g}, max_inconsistency {current.max_inconsistency:g}, "
        f"max_lookalike_gain {current.max_lookalike_gain:g}; distinct_max_inconsistency "
        f"{current.distinct_max_inconsistency:g} where min_log_ratio >= {current.distinct_min_log_ratio:g} "
        f"and lookalike_gain <= {current.distinct_lookalike_gain:g})"
    )
    print(f"{'policy':<8}{'script':<8}{'truth accepted':>16}{'liar refused':>14}{'CER truth':>11}{'CER liar':>10}")
    for policy in GATE_POLICIES:
        for script in SCRIPTS:
            truth = trial.accepted_share("truth", policy, script)
            liar = 1.0 - trial.accepted_share("liar", policy, script)
            cer_truth = trial.merged["truth", policy, script].cer
            cer_liar = trial.merged["liar", policy, script].cer
            print(f"{policy:<8}{script:<8}{truth:>16.1%}{liar:>14.1%}{cer_truth:>11.4f}{cer_liar:>10.4f}")
    if args.lines:
        print()
        for c in trial.changed:
            evidence = c.evidence
            figures = (
                "no evidence"
                if evidence is None
                else " ".join(
                    "-" if v is None else f"{v:.2f}"
                    for v in (
                        evidence.original_log_ratio,
                        evidence.restored_log_ratio,
                        evidence.inconsistency,
                        evidence.lookalike_gain,
                    )
                )
            )
            if c.restorer == "liar":
                kind = "lie" if c.lie else "reads true"
            else:
                kind = "correction" if c.corrects else "no nearer the truth"
            print(
                f"{c.restorer:<6}{c.script:<6} {c.original!r} -> {c.restored!r} (truth {c.truth!r}, {kind}) "
                f"evidence {figures} safe {'accepts' if c.accepted['safe'] else 'refuses'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
