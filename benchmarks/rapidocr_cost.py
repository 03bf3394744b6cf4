"""CPU seconds of the page pipeline (classical restorer) against RapidOCR alone, on the same pages.

    python benchmarks/rapidocr_cost.py [--rounds 5] [--threads 1] [--json out.json]

What is compared, page by page, in process CPU seconds (``time.process_time``: every
thread of this process, so onnxruntime's and OpenCV's worker threads count too):

* **RapidOCR**: ``rapidocr.RapidOCR()`` with its wheel's defaults (PP-OCRv6 small
  detector and recogniser, the 0/180 line classifier on), called on the page as a BGR
  array: detect, classify, recognise.
* **ours**: ``build_pipeline`` from the default config with ``restorer.kind: classical``
  and ``device: cpu``, called on the page as an RGB array: ``prepare`` (detect, cut,
  order, read, orientation), ``restore`` (classical restorer, then reading the restored
  crops), ``finish`` (trust gate, composite, merge). No file is written; the
  ``+export`` column adds building the JSON, hOCR and ALTO documents in memory.

Neither side decodes an image file: both get the same decoded pixels. Both use the
same onnxruntime intra-op threads (``--threads``; rapidocr's
``EngineConfig.onnxruntime.intra_op_num_threads``, our config's ``threads``) and
OpenCV runs with the same thread count. Each round runs every page through both, the
order of the two swapped every round, after one warm-up round; the table shows each
page's median over rounds, and the spread (max/min of the total ratio) over rounds.

Pages: the sample page shipped in the package, seeded synthetic pages at 1000x1400
(documents and scenes, with their damage), scenes at camera size 2400x1800 (few lines on
many pixels, where detection dominates, as on photos), and upstream's 20 degraded LR
lines stacked on paper (many lines on few pixels, where recognition dominates).

Last, the second reading (of the restored crops) is timed page by page, as the pipeline
does it, against one call pooling every page's restored crops, with the readings that
pooling changes counted: batches pad to their widest crop, which moves readings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.evaluation.synthetic.pages import generate_page
from difftsr_ocr.evaluation.upstream import upstream_pages, upstream_pairs
from difftsr_ocr.export import document_to_alto, document_to_hocr, document_to_json
from difftsr_ocr.imageio import load_image
from difftsr_ocr.pipeline import Pipeline, build_pipeline
from difftsr_ocr.recognize.restored import resample
from difftsr_ocr.results import Document

SAMPLE = Path(__file__).resolve().parents[1] / "difftsr_ocr" / "samples" / "degraded_page.png"
UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "upstream_testset"
PHASES = ("prepare", "restore", "finish", "export")


PHOTO_SIZE = (2400, 1800)


def _pages(synthetic: int, photos: int) -> dict[str, np.ndarray]:
    pages = {"sample": load_image(SAMPLE).pixels}
    for seed in range(synthetic):
        page = generate_page(seed)
        pages[page.name] = page.degraded
    for seed in range(synthetic, synthetic + photos):
        page = generate_page(seed, layout="scene", size=PHOTO_SIZE)
        pages[f"photo-{seed:04d}"] = page.degraded
    if UPSTREAM.is_dir():
        pages["upstream-lr"] = upstream_pages(upstream_pairs(UPSTREAM))[0]
    return pages


def _cpu(call: Callable[[], object]) -> tuple[float, object]:
    started = time.process_time()
    result = call()
    return time.process_time() - started, result


def _ours(pipeline: Pipeline, pixels: np.ndarray) -> dict[str, float]:
    """CPU seconds of each phase of our pipeline on one page."""
    seconds: dict[str, float] = {}
    seconds["prepare"], prepared = _cpu(lambda: pipeline.prepare(pixels))
    seconds["restore"], _ = _cpu(lambda: pipeline.restore([prepared]))
    seconds["finish"], result = _cpu(lambda: pipeline.finish(prepared))
    document = Document(pages=[result.page])  # type: ignore[attr-defined]
    seconds["export"], _ = _cpu(
        lambda: (document_to_json(document), document_to_hocr(document), document_to_alto(document))
    )
    return seconds


def _pooling(pipeline: Pipeline, pages: dict[str, np.ndarray], rounds: int) -> None:
    """CPU of reading the restored crops page by page against one pooled call, and what pooling changes."""
    views = []
    for pixels in pages.values():
        prepared = pipeline.prepare(pixels)
        pipeline.restore([prepared])
        views.append([resample(line.restored_crop, line.crop.shape[1], line.crop.shape[0]) for line in prepared.lines])
    recognize = pipeline.recognizer.recognize
    paged, pooled = [], []
    for round_number in range(rounds):
        calls = [lambda: [recognize(page) for page in views], lambda: recognize([v for page in views for v in page])]
        for side in (0, 1) if round_number % 2 else (1, 0):
            seconds, result = _cpu(calls[side])
            (paged if side == 0 else pooled).append((seconds, result))
    by_page = [reading for page in paged[0][1] for reading in page]  # type: ignore[attr-defined]
    together = pooled[0][1]
    texts = sum(a.text != b.text for a, b in zip(by_page, together, strict=True))  # type: ignore[call-overload]
    confidences = sum(a.confidence != b.confidence for a, b in zip(by_page, together, strict=True))  # type: ignore[call-overload]
    print(
        f"second reading of {len(by_page)} restored crops: page by page {statistics.median(s for s, _ in paged):.3f} CPU s,"
        f" pooled across pages {statistics.median(s for s, _ in pooled):.3f} CPU s;"
        f" pooling changes {texts} texts and {confidences} confidences"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after one warm-up round)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads, both engines")
    parser.add_argument("--synthetic", type=int, default=4, help="synthetic pages (seeds 0..N-1)")
    parser.add_argument("--photos", type=int, default=2, help="camera-size scenes (the seeds after those)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args()

    from rapidocr import RapidOCR

    cv2.setNumThreads(args.threads)
    rapid = RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": args.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    ours = build_pipeline(
        config_from_dict({"device": "cpu", "threads": args.threads, "restorer": {"kind": "classical"}})
    )
    pages = _pages(args.synthetic, args.photos)
    bgr = {name: np.ascontiguousarray(pixels[:, :, ::-1]) for name, pixels in pages.items()}

    rapid_cpu: dict[str, list[float]] = {name: [] for name in pages}
    ours_cpu: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
    walls: list[tuple[float, float]] = []
    for round_number in range(args.rounds + 1):
        wall = [0.0, 0.0]
        for name, pixels in pages.items():
            # Swap who goes first every round: caches and the neighbours' load favour neither.
            for side in (0, 1) if round_number % 2 else (1, 0):
                started = time.perf_counter()
                if side == 0:
                    seconds, _ = _cpu(lambda: rapid(bgr[name]))  # noqa: B023
                    if round_number:
                        rapid_cpu[name].append(seconds)
                else:
                    phases = _ours(ours, pixels)
                    if round_number:
                        ours_cpu[name].append(phases)
                wall[side] += time.perf_counter() - started
        if round_number:
            walls.append((wall[0], wall[1]))

    header = f"{'page':<16}{'size':>10}{'lines':>6}{'RapidOCR':>10}{'ours':>8}{'ratio':>7}{'+export':>8}"
    print(f"CPU seconds, median of {args.rounds} rounds, {args.threads} thread(s)")
    print(header + "".join(f"{phase:>9}" for phase in PHASES))
    totals_r = [sum(rapid_cpu[name][r] for name in pages) for r in range(args.rounds)]
    totals_o = [sum(sum(ours_cpu[name][r][p] for p in PHASES[:3]) for name in pages) for r in range(args.rounds)]
    totals_e = [sum(ours_cpu[name][r]["export"] for name in pages) for r in range(args.rounds)]
    lines = {name: len(ours.prepare(pixels).lines) for name, pixels in pages.items()}
    for name, pixels in pages.items():
        r = statistics.median(rapid_cpu[name])
        phase = {p: statistics.median(m[p] for m in ours_cpu[name]) for p in PHASES}
        o = statistics.median(sum(m[p] for p in PHASES[:3]) for m in ours_cpu[name])
        size = f"{pixels.shape[1]}x{pixels.shape[0]}"
        print(
            f"{name:<16}{size:>10}{lines[name]:>6}{r:>10.3f}{o:>8.3f}{o / r:>7.2f}{(o + phase['export']) / r:>8.2f}"
            + "".join(f"{phase[p]:>9.3f}" for p in PHASES)
        )
    ratios = [o / r for o, r in zip(totals_o, totals_r, strict=True)]
    r, o, e = statistics.median(totals_r), statistics.median(totals_o), statistics.median(totals_e)
    print(f"{'total':<16}{'':>10}{sum(lines.values()):>6}{r:>10.3f}{o:>8.3f}{o / r:>7.2f}{(o + e) / r:>8.2f}")
    print(
        f"total ratio per round: {' '.join(f'{x:.3f}' for x in ratios)} (min {min(ratios):.3f}, max {max(ratios):.3f})"
    )
    wall_r, wall_o = statistics.median(w[0] for w in walls), statistics.median(w[1] for w in walls)
    print(f"wall seconds per round (median): RapidOCR {wall_r:.2f}, ours {wall_o:.2f}")
    _pooling(ours, pages, args.rounds)
    if args.json:
        args.json.write_text(json.dumps({"rapidocr": rapid_cpu, "ours": ours_cpu, "walls": walls}, indent=1))


if __name__ == "__main__":
    main()
