"""The trust gate against an ideal restorer and a convincing liar, and the figures its thresholds come from.

    python benchmarks/gate_calibration.py                 # 40 generated pages (>= 300 lines, ~6 min on 2 cores)
    python benchmarks/gate_calibration.py --pages 6 --lines

Pages come from the seeded generator (difftsr_ocr.evaluation.synthetic), which knows
each degraded line's clean pixels. The truth restorer returns the clean region of each
line; the liar redraws it with 1-2 characters swapped for the recogniser's own most
plausible confusions (difftsr_ocr.evaluation.oracles). Printed: the evidence of every
changed reading (log-likelihood ratio per changed character under the original crop's
CTC output) by restorer and script, a sweep of the safe gate's thresholds, and per
policy the share of the truth restorer's changed readings accepted (goal >= 90%), the
share of the liar's refused (goal >= 99%) and the merged text's character error rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.gate_trial import RESTORERS, ChangedLine, GateTrial, run_gate_trial
from difftsr_ocr.evaluation.synthetic import SyntheticPage, generate_pages
from difftsr_ocr.gate import GATE_POLICIES, Evidence, GateConfig, decide
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
    evidence = Evidence(line.log_ratio, 1)
    return decide(original, restored, None, evidence, gate).restore


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

    print("\nEvidence of changed readings: log-likelihood ratio per changed character (min, 5%, median, 95%, max)")
    print(f"{'restorer':<9}{'script':<8}{'lines':>6}  {'ratio':<40}{'restored confidence':<40}")
    for restorer in RESTORERS:
        for script in SCRIPTS:
            lines = trial.lines_of(restorer, script)
            ratios = [c.log_ratio for c in lines if c.log_ratio is not None]
            confidences = [c.restored_confidence for c in lines]
            print(f"{restorer:<9}{script:<8}{len(lines):>6}  {_percentiles(ratios):<40}{_percentiles(confidences):<40}")

    print("\nSafe gate sweep: truth changes accepted / liar changes refused (all scripts)")
    current = GateConfig()
    print(f"{'min_log_ratio':>14}" + "".join(f"{f'conf>={c:.2f}':>22}" for c in (0.5, 0.7, 0.8, 0.9)))
    for ratio in (-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -8.0):
        cells = []
        for confidence in (0.5, 0.7, 0.8, 0.9):
            gate = dataclasses.replace(current, min_log_ratio=ratio, min_restored_confidence=confidence)
            truth = [_safe_accepts(c, gate) for c in trial.lines_of("truth")]
            liar = [not _safe_accepts(c, gate) for c in trial.lines_of("liar")]
            cells.append(f"{np.mean(truth):>10.1%} / {np.mean(liar):>7.1%}  ")
        print(f"{ratio:>14.1f}" + "".join(cells))

    print(
        f"\nPolicies (safe: min_log_ratio {current.min_log_ratio}, min_restored_confidence "
        f"{current.min_restored_confidence})"
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
            ratio = "none" if c.log_ratio is None else f"{c.log_ratio:.2f}"
            print(
                f"{c.restorer:<6}{c.script:<6} {c.original!r} -> {c.restored!r} (truth {c.truth!r}) "
                f"ratio {ratio} conf {c.restored_confidence:.2f} safe {'accepts' if c.accepted['safe'] else 'refuses'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
