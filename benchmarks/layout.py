"""Page layout on generated column pages: reading order, blocks and columns.

    python benchmarks/layout.py                      # 100 pages, PP-OCR detection and the true lines
    python benchmarks/layout.py --pages 20 --lines truth
    python benchmarks/layout.py --json layout.json

Pages come from ``difftsr_ocr.evaluation.synthetic.columns`` (seeded: two- and
three-column articles with a title, section and column headings, paragraphs spaced or
indented, turned by up to 3 degrees, lightly damaged). Their lines are found by PP-OCR
(what the pipeline does) and, to tell layout errors from detection errors, also taken
from the truth; then laid out by ``difftsr_ocr.geometry.layout.arrange_lines``. Printed
per source and per column count: pages whose lines were all found once (complete),
whose reading order is exact (every line in its place), whose found lines keep their
order, whose blocks are exactly the true ones; the share of found blocks within one
column (pure) and of true blocks found exactly.

Exit status 1 when issue 15's goal is missed on any source: reading order exact on at
least 95% of the pages, and every block within one column.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.evaluation.layout import LayoutScore, evaluate_layout, format_layout
from difftsr_ocr.evaluation.synthetic.columns import ColumnPage, generate_column_page

# Issue 15's goals.
ORDER_EXACT_MIN = 0.95
PURITY_MIN = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="first page's seed (pages are seed, seed+1, ...)")
    parser.add_argument("--lines", choices=["both", "ppocr", "truth"], default="both", help="where lines come from")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.pages < 1 or args.seed < 0:
        print("error: --pages must be at least 1 and --seed at least 0", file=sys.stderr)
        return 2

    sources = {}
    if args.lines in ("both", "truth"):
        sources["truth"] = _true_lines
    if args.lines in ("both", "ppocr"):
        try:
            detector = PPOCRDetector()
        except DifftsrError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        sources["ppocr"] = lambda page: [region.polygon for region in detector.detect(page.image)]

    started = time.perf_counter()
    pages = [generate_column_page(seed) for seed in range(args.seed, args.seed + args.pages)]
    print(f"{len(pages)} pages generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    results: dict[str, dict[str, LayoutScore]] = {}
    for name, find_lines in sources.items():

        def progress(page: ColumnPage, _: LayoutScore, name: str = name) -> None:
            print(f"\r{name}: {page.name}", end="", file=sys.stderr, flush=True)

        results[name] = evaluate_layout(pages, find_lines, progress)
        print(file=sys.stderr)
    print(format_layout(results))
    if args.json:
        figures = {
            name: {group: score.to_dict() for group, score in groups.items()} for name, groups in results.items()
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    met = all(
        groups["all"].rate("order_exact") >= ORDER_EXACT_MIN and groups["all"].purity >= PURITY_MIN
        for groups in results.values()
    )
    print(f"\ngoal: reading order exact on >= {ORDER_EXACT_MIN:.0%} of pages, every block in one column: ", end="")
    print("met" if met else "MISSED")
    return 0 if met else 1


def _true_lines(page: ColumnPage) -> list[np.ndarray]:
    return [line.polygon for line in page.lines]


if __name__ == "__main__":
    sys.exit(main())
