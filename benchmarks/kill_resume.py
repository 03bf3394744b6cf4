"""Kill a batch job with SIGKILL at random moments, resume it, and check it ends as an uninterrupted run.

    python benchmarks/kill_resume.py [--cycles 20] [--pages 50] [--seed 0]

The job (classical restorer) reads two generated single pages and a generated PDF of
``--pages`` pages. It runs once uninterrupted for reference, then ``--cycles`` times,
each run killed a random 0-3 s after it first finishes a page or an input, then once to
the end. Printed: each run (seconds, killed, PDF pages waiting after it, pages the
assembling run reused), then every output missing, unreadable or different from the
reference, every temporary file left, every finished page written again, and every
record that misnames the pages it reused. The test suite runs a 3-cycle, 8-page version.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from difftsr_ocr.evaluation.interruption import kill_resume_trial, make_archive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=20, help="killed runs before the last (default: %(default)s)")
    parser.add_argument("--pages", type=int, default=50, help="pages of the PDF (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="pages and kill moments (default: %(default)s)")
    parser.add_argument(
        "--jitter", type=float, default=3.0, help="longest wait after progress (default: %(default)s s)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kill_resume_") as temp:
        folder = Path(temp)
        make_archive(folder, args.pages, seed=args.seed)
        report = kill_resume_trial(folder, args.cycles, seed=args.seed, jitter=args.jitter)
    print(
        f"{args.pages}-page PDF + 2 single pages, {args.cycles} killed runs; reference run {report.reference_seconds:.1f} s"
    )
    print(f"{'run':>4}{'seconds':>9}{'killed':>8}{'parts waiting':>15}  PDF assembled, pages reused")
    for number, cycle in enumerate(report.cycles, 1):
        reused = "" if cycle.book_reused is None else f"yes, {len(cycle.book_reused)} reused"
        print(
            f"{number:>4}{cycle.seconds:>9.1f}{'yes' if cycle.killed else 'no':>8}{len(cycle.parts_after):>15}  {reused}"
        )
    checks = {
        "missing outputs": report.missing,
        "unreadable outputs": report.unreadable,
        "outputs unlike the uninterrupted run's": report.mismatched,
        "temporary files left": report.leftovers,
        "finished pages written again": report.redone,
        "records misnaming the reused pages": report.misreported,
    }
    for name, problems in checks.items():
        print(f"{name}: {len(problems)}" + "".join(f"\n  {problem}" for problem in problems))
    print("ok: the job ended exactly as the uninterrupted run" if report.clean else "FAILED")
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
