"""Per-stage seconds of the page pipeline on a 1000x1400 page, and pages per minute.

    python benchmarks/speed.py                                  # classical restorer
    python benchmarks/speed.py --restorer tiny --steps 20       # DiffTSR, reduced reference model (random weights)
    python benchmarks/speed.py --restorer full --steps 2        # DiffTSR, full official size (random weights; slow on CPU)

The page is difftsr_ocr.evaluation.synthetic.pages.generate_page(0), a 1000x1400 document page
(12 lines: Latin and CJK, a long, a rotated and a vertical one) with its seeded damage,
written to PNG and read back each run. Stages: decode (reading the file), detect,
rectify, recognize (original and restored crops), restore, merge (gate + readings),
composite, export (JSON + hOCR + ALTO).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image
from random_weights import fill_random

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.synthetic.pages import generate_page
from difftsr_ocr.export import document_to_alto, document_to_hocr, document_to_json
from difftsr_ocr.imageio import load_image
from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.difftsr import build_difftsr_networks, build_transocr
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.restore.classical import ClassicalRestorer
from difftsr_ocr.restore.difftsr import DiffTSRRestorer, DiffTSRRestorerConfig
from difftsr_ocr.restore.sampling import SamplingConfig
from difftsr_ocr.results import Document

TINY_CONFIG = Path(__file__).resolve().parents[2] / "shared" / "reference" / "tiny_A" / "config_tiny_A.yaml"
STAGES = ("decode", "detect", "rectify", "recognize", "orient", "restore", "merge", "composite", "export")


def _random_difftsr(config: DiffTSRConfig, steps: int) -> DiffTSRRestorer:
    generator = torch.Generator().manual_seed(0)
    modules = [build_difftsr_networks(config), build_transocr(config.text_prior)]
    for module in modules:
        fill_random(module, "cpu", generator)
    sampling = SamplingConfig(steps=steps, eta=0.2)
    return DiffTSRRestorer(modules[0], modules[1], DiffTSRRestorerConfig(sampling=sampling))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restorer", choices=("classical", "tiny", "full"), default="classical")
    parser.add_argument("--steps", type=int, default=20, help="DDIM steps for the DiffTSR restorers")
    parser.add_argument("--pages", type=int, default=3, help="pages timed (after one warm-up page)")
    args = parser.parse_args()

    if args.restorer == "classical":
        restorer = ClassicalRestorer()
    else:
        restorer = _random_difftsr(
            load_difftsr_config(TINY_CONFIG) if args.restorer == "tiny" else DiffTSRConfig(), args.steps
        )
    # Random weights draw noise that the safe gate would refuse; "always" times the whole path.
    pipeline = Pipeline(
        PPOCRDetector(), PPOCRRecognizer(), restorer, config_from_dict({"device": "cpu", "gate": {"policy": "always"}})
    )
    page = generate_page(0)
    path = Path(tempfile.mkdtemp()) / "page.png"
    Image.fromarray(page.degraded).save(path)

    totals = dict.fromkeys(STAGES, 0.0)
    lines = 0
    for run in range(args.pages + 1):
        started = time.perf_counter()
        image = load_image(path)
        decode = time.perf_counter() - started
        result = pipeline(image)
        started = time.perf_counter()
        document = Document(pages=[result.page])
        document_to_json(document), document_to_hocr(document), document_to_alto(document)
        export = time.perf_counter() - started
        if run == 0:
            continue  # warm-up: session and allocator start-up
        lines = len(result.page.lines)
        for stage, seconds in {**result.timings, "decode": decode, "export": export}.items():
            totals[stage] += seconds
    per_page = {stage: seconds / args.pages for stage, seconds in totals.items()}
    total = sum(per_page.values())
    label = args.restorer if args.restorer == "classical" else f"DiffTSR {args.restorer} ({args.steps} steps)"
    print(f"restorer: {label}; page 1000x1400, {lines} lines; CPU threads: {torch.get_num_threads()}")
    for stage in STAGES:
        print(f"  {stage:<10}{per_page[stage]:>8.3f} s")
    print(f"  {'total':<10}{total:>8.3f} s  -> {60.0 / total:.1f} pages/minute")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
