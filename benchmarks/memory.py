"""Peak memory of the command line on long PDFs: does it stay flat as the page count grows?

    python benchmarks/memory.py [--pages 5 500] [--restorer classical]

For each page count, a PDF of generated, degraded A4 pages at 200 dpi (1654 x 2339 when
rendered; five distinct pages repeated) goes through ``python -m difftsr_ocr.run`` in a
fresh process, writing JSON, hOCR, ALTO and text beside the restored PDF. Printed per
page count: seconds, pages per minute, the process's peak resident memory, and that peak
over the smallest count's (the goal: within 10%, whatever the length).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from difftsr_ocr.evaluation.synthetic.pages import generate_page

_A4_200_DPI = (1654, 2339)
_DISTINCT_PAGES = 5


def _write_pdf(path: Path, pages: int, distinct: list[Image.Image]) -> None:
    order = [distinct[number % len(distinct)] for number in range(pages)]
    order[0].save(path, save_all=True, append_images=order[1:], resolution=200.0)


def _peak_rss(arguments: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one run of the command line in its own process."""
    started = time.perf_counter()
    log = cwd / "stderr.txt"
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "difftsr_ocr.run", *arguments], cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr
        )
        # wait4 gives this child's own peak, not the largest of all children so far.
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"difftsr_ocr.run exited with {process.returncode}: {log.read_text()[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[5, 500], help="page counts (default: 5 500)")
    parser.add_argument("--restorer", choices=("classical", "none"), default="classical")
    parser.add_argument("--extra", default="", help="more command-line options, e.g. '--pages-per-batch 8'")
    args = parser.parse_args()
    distinct = [
        Image.fromarray(generate_page(seed, "document", size=_A4_200_DPI).degraded) for seed in range(_DISTINCT_PAGES)
    ]
    print(f"A4 pages at 200 dpi, restorer {args.restorer}, formats json,hocr,alto,txt {args.extra}")
    print(f"{'pages':>6}{'seconds':>9}{'pages/min':>11}{'peak RSS (MB)':>15}{'vs first':>10}")
    first = None
    with tempfile.TemporaryDirectory(prefix="difftsr_memory_") as temp:
        folder = Path(temp)
        for pages in args.pages:
            source = folder / f"book{pages}.pdf"
            _write_pdf(source, pages, distinct)
            arguments = [source.name, "-o", f"out{pages}", "--device", "cpu", "--restorer", args.restorer]
            arguments += ["--formats", "json,hocr,alto,txt", *args.extra.split()]
            seconds, peak = _peak_rss(arguments, folder)
            first = first or peak
            print(
                f"{pages:>6}{seconds:>9.1f}{60 * pages / seconds:>11.1f}{peak:>15.0f}{peak / first:>10.2f}", flush=True
            )
            source.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
