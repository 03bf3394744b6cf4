"""What the pipeline does to detection and recognition, on generated degraded pages with known text.

    python benchmarks/quality.py                                   # 50 pages, classical restorer
    python benchmarks/quality.py --pages 10 --restorer none        # OCR alone, no restoration
    python benchmarks/quality.py --restorer difftsr --ckpt DiffTSR.ckpt --transocr transocr.pth --device cuda
    python benchmarks/quality.py --scale 4 --pages 10              # super-resolved pages, truth restorer
    python benchmarks/quality.py --set curved --pages 20           # arcs of 20-120 degrees vs the same lines straight
    python benchmarks/quality.py --set upside-down --pages 20      # pages upright, turned 180 degrees, mixed lines

Pages come from ``difftsr_ocr.evaluation.synthetic`` (seeded: document and scene layouts,
Latin and CJK, rotated, vertical, curved and long lines, blur / down-up / noise / JPEG),
cached as PNG + JSON under --cache. For every page PP-OCR reads (a) the clean page,
(b) the degraded page, (c) the pipeline's composited page (re-detected, and (c') at the
degraded page's lines); (d) is the pipeline's merged text per line. Printed: detection
precision / recall at IoU 0.5, character error rates (per layout and per kind of line),
the seam score of the composite (gradient energy in the feather bands over the input's,
and inside the pasted lines), and the gate's counts. Exit status 1 when the restored
pixels read worse than the degraded ones at the same lines (c' > b); see
difftsr_ocr/evaluation/quality.py for why (c) alone is biased against any restorer.

With ``--scale 2|3|4`` it measures super-resolved pages instead: a truth restorer
(each line's clean pixels rendered at the output resolution) composited the pipeline's
way (warped once into the page) and the way of crop-sized restorations (shrunk to the
crop, then enlarged), each scored against the clean page rendered at that scale: PSNR
of the line regions and the seam score. Exit status 1 when the direct path does not
beat the other by 3 dB or its seam score exceeds 1.05.

With ``--set curved`` the pages are arcs (20-120 degrees, Latin and CJK, one per row)
and the same lines drawn straight; with ``--set upside-down`` the generated pages
upright, turned by 180 degrees, and with 40% of their lines turned in place. Both print
the tables of each set and issue 15's goals, and exit 1 when a goal is not met.
``--box-type quad`` and ``--no-orientation`` give the figures without polygons or
without the orientation stage (what the pipeline did before them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from difftsr_ocr.config import PipelineConfig, config_from_dict, config_to_dict, load_pipeline_config
from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.evaluation.page_geometry import (
    arc_goals,
    evaluate_arcs,
    evaluate_orientation,
    format_goals,
    orientation_goals,
)
from difftsr_ocr.evaluation.quality import QualityReport, evaluate_pages, format_report
from difftsr_ocr.evaluation.superres import PATHS, SuperResolutionScore, score_super_resolution
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage, generate_pages
from difftsr_ocr.pipeline import Pipeline, build_pipeline

DEFAULT_CACHE = Path.home() / ".cache" / "difftsr-ocr" / "quality-pages"


def _config(args: argparse.Namespace) -> PipelineConfig:
    base = load_pipeline_config(args.config) if args.config else PipelineConfig()
    data = config_to_dict(base)
    data["device"] = args.device or data["device"]
    # Composited pages must stay the size of the truth's pixels.
    data["output_scale"] = 1
    restorer = data["restorer"]
    restorer["kind"] = args.restorer
    for key in ("ckpt", "transocr", "steps"):
        if getattr(args, key) is not None:
            restorer[key] = getattr(args, key)
    if args.box_type:
        data["detector"]["box_type"] = args.box_type
    if args.no_orientation:
        data["orientation"]["enabled"] = False
    return config_from_dict(data, source=args.config or "benchmarks/quality.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="first page's seed (pages are seed, seed+1, ...)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"page cache (default {DEFAULT_CACHE})")
    parser.add_argument("--config", help="pipeline config YAML (default: the built-in default)")
    parser.add_argument("--restorer", choices=["classical", "difftsr", "none"], default="classical")
    parser.add_argument("--ckpt", help="DiffTSR.ckpt (with --restorer difftsr)")
    parser.add_argument("--transocr", help="transocr.pth (with --restorer difftsr)")
    parser.add_argument("--steps", type=int, help="DDIM steps (default: the config's, 200)")
    parser.add_argument("--device", help="cpu, cuda, auto (default: the config's)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--scale", type=int, choices=(1, 2, 3, 4), default=1, help="measure pages written this much larger"
    )
    parser.add_argument("--set", choices=("standard", "curved", "upside-down"), default="standard")
    parser.add_argument("--box-type", choices=("quad", "poly"), help="detector.box_type (default: the config's)")
    parser.add_argument("--no-orientation", action="store_true", help="without the upside-down line stage")
    args = parser.parse_args()
    try:
        pipeline = build_pipeline(_config(args))
        if args.set != "standard":
            return _geometry_set(pipeline, args)
        pages = generate_pages(args.pages, seed=args.seed, cache_dir=args.cache)
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.scale > 1:
        return _super_resolution(pages, pipeline, args)

    def progress(page: SyntheticPage, report: QualityReport) -> None:
        print(f"\r{report.pages}/{args.pages} pages ({page.name})", end="", file=sys.stderr, flush=True)

    report = evaluate_pages(pages, pipeline, progress)
    print(file=sys.stderr)
    print(format_report(report, pipeline.restorer.name if pipeline.restorer else "none"))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    degraded = report.cer("degraded")
    print()
    for source, label in (("composited_lines", "(c') at the same lines"), ("composited", "(c) re-detected")):
        verdict = "WORSE" if report.cer(source) > degraded else "no worse"
        print(f"composited page {label}: CER {report.cer(source):.4f} vs degraded {degraded:.4f}: {verdict}")
    return 1 if report.cer("composited_lines") > degraded else 0


def _geometry_set(pipeline: Pipeline, args: argparse.Namespace) -> int:
    seeds = range(args.seed, args.seed + args.pages)
    done = 0

    def progress(page: SyntheticPage) -> None:
        nonlocal done
        done += 1
        print(f"\r{done} pages ({page.name})", end="", file=sys.stderr, flush=True)

    if args.set == "curved":
        reports = evaluate_arcs(seeds, pipeline, progress)
        goals = arc_goals(reports)
    else:
        reports = evaluate_orientation(seeds, pipeline, progress)
        goals = orientation_goals(reports)
    print(file=sys.stderr)
    restorer = pipeline.restorer.name if pipeline.restorer else "none"
    for name, report in reports.items():
        print(f"== {name} ==")
        print(format_report(report, restorer))
        print()
    print(format_goals(goals))
    if args.json:
        figures = {name: report.to_dict() for name, report in reports.items()}
        figures["goals"] = [{"name": g.name, "value": g.value, "limit": g.limit, "met": g.met} for g in goals]
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all(goal.met for goal in goals) else 1


# Issue 13's goals for the direct path over the crop-sized one.
PSNR_GAIN_MIN = 3.0
SEAM_MAX = 1.05


def _super_resolution(pages: list[SyntheticPage], pipeline: Pipeline, args: argparse.Namespace) -> int:
    def progress(page: SyntheticPage, score: SuperResolutionScore) -> None:
        print(f"\r{score.pages}/{args.pages} pages ({page.name})", end="", file=sys.stderr, flush=True)

    score = score_super_resolution(pages, pipeline, args.scale, progress)
    print(file=sys.stderr)
    print(f"{score.pages} pages, {score.lines} lines, written at {args.scale}x, truth restorer at that resolution")
    print(f"{'path':<10}{'PSNR lines (dB)':>17}{'seam band':>11}{'seam inside':>13}  (seams: output / clean page)")
    for path in PATHS:
        seams = score.seams[path]
        print(f"{path:<10}{score.psnr(path):>17.2f}{seams.band_ratio:>11.3f}{seams.inside_ratio:>13.3f}")
    gain = score.psnr("direct") - score.psnr("via_crop")
    band = score.seams["direct"].band_ratio
    print(f"direct over via_crop: {gain:+.2f} dB (goal >= {PSNR_GAIN_MIN}), seam band {band:.3f} (goal <= {SEAM_MAX})")
    if args.json:
        figures = {path: {"psnr": score.psnr(path), "seam_band": score.seams[path].band_ratio} for path in PATHS}
        args.json.write_text(json.dumps({"scale": args.scale, "pages": score.pages, **figures}, indent=2) + "\n")
    return 0 if gain >= PSNR_GAIN_MIN and band <= SEAM_MAX else 1


if __name__ == "__main__":
    sys.exit(main())
