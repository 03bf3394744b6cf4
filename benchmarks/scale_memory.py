"""Peak memory and time of one A4 page written at --scale 1, 2 and 4.

    python benchmarks/scale_memory.py [--restorer classical]

An A4 page scanned at 200 dpi (1654 x 2339, a generated document page, degraded) goes
through the whole pipeline once per scale, each in a fresh process so that its peak
resident memory is its own. At 4x the output alone is 6616 x 9356 x 3 bytes (186 MB).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

_A4_200_DPI = (1654, 2339)

_ONE_RUN = """
import resource, sys, time
from difftsr_ocr.config import config_from_dict
from difftsr_ocr.evaluation.synthetic.pages import generate_page
from difftsr_ocr.pipeline import build_pipeline
page = generate_page(0, "document", size=({width}, {height}))
pipeline = build_pipeline(config_from_dict({{"device": "cpu", "output_scale": {scale}, "restorer": {{"kind": "{restorer}"}},
                                            "gate": {{"policy": "always"}}}}))
started = time.perf_counter()
result = pipeline(page.degraded)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{result.image.shape[1]}}x{{result.image.shape[0]}} {{len(result.page.lines)}} {{seconds:.1f}} {{peak:.0f}}")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restorer", choices=("classical", "none"), default="classical")
    args = parser.parse_args()
    width, height = _A4_200_DPI
    print(f"A4 at 200 dpi ({width}x{height}), restorer {args.restorer}, gate always")
    print(f"{'scale':>6}{'output':>14}{'lines':>7}{'seconds':>9}{'peak RSS (MB)':>15}")
    for scale in (1, 2, 4):
        code = _ONE_RUN.format(width=width, height=height, scale=scale, restorer=args.restorer)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return 1
        size, lines, seconds, peak = run.stdout.split()
        print(f"{scale:>6}{size:>14}{lines:>7}{seconds:>9}{peak:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
