"""``python -m difftsr_ocr.batch JOB.yaml [--dry-run] [--report PATH]``: run a batch job.

Prints what it does and a summary; exits 1 when any input failed, with the
:class:`~difftsr_ocr.errors.ExitCode` of a job-file mistake, and 0 otherwise. Re-running a
job skips the inputs whose outputs are already complete.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.runtime.allocator import manage_allocator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m difftsr_ocr.batch",
        description="Restore and read a folder or archive of pages as described by a job file.",
        epilog="Examples: pipelines/archive_local.yaml, pipelines/archive_ray.yaml.",
    )
    parser.add_argument("job", type=Path, help="job YAML")
    parser.add_argument("--dry-run", action="store_true", help="list what would be done and write nothing")
    parser.add_argument(
        "--force", action="store_true", help="redo every input, also those done before by the same pipeline"
    )
    parser.add_argument("--report", type=Path, help="write the HTML report here (overrides the job's report)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more, with tracebacks of failures")
    return parser


def _dry_run(job: Any, force: bool) -> int:
    from difftsr_ocr.batch.plan import plan_job
    from difftsr_ocr.batch.runner import split_done

    items = plan_job(job)
    todo, skipped = split_done(job, items, force)
    done = {record["input"] for record in skipped}
    print(f"job {job.source}: {len(items)} input(s), {len(todo)} to do, {len(skipped)} already done")
    for item in items:
        state = "skip" if item.key in done else "todo"
        print(f"  {state}  {item.source}  ->  {item.output_dir / item.stem}.*")
    print(f"executor: {job.executor.kind}; outputs in {job.output_folder}; manifest {job.manifest_path}")
    return 0


def _progress(record: dict[str, Any]) -> None:
    name = Path(record["input"]).name
    if record["status"] == "failed":
        print(f"  failed   {name}: {record['error']}", flush=True)
    else:
        reused = len(record.get("pages_reused", []))
        note = f" ({reused} from an interrupted run)" if reused and record["status"] == "ok" else ""
        print(f"  {record['status']:<8} {name}  pages {record.get('pages', 0)}{note}", flush=True)


def _print_summary(summary: Any) -> None:
    print(
        f"inputs: {summary.count('ok')} done, {summary.count('skipped')} skipped, {summary.count('failed')} failed;"
        f" pages {summary.total('pages')}; lines {summary.total('lines')}: restored {summary.total('restored')},"
        f" kept {summary.total('kept')}, flagged {summary.total('flagged')};"
        f" {summary.seconds:.1f} s, {summary.pages_per_minute:.1f} pages/minute"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr
    )
    manage_allocator()
    from difftsr_ocr.batch.job import load_job
    from difftsr_ocr.batch.runner import run_job

    try:
        job = load_job(args.job)
        if args.dry_run:
            return _dry_run(job, args.force)
        summary = run_job(job, on_record=_progress, force=args.force)
        report = args.report or job.report_path
        if report is not None:
            from difftsr_ocr.batch.report import write_report

            write_report(job, report)
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    _print_summary(summary)
    if report is not None:
        print(f"report: {report}")
    if summary.failures:
        print(f"{len(summary.failures)} input(s) failed:", file=sys.stderr)
        for name, reason in summary.failures:
            # Most reasons already start with the input's path.
            print(f"  {reason if name in reason else f'{name}: {reason}'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
