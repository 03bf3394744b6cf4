"""Batch jobs over folders and archives: a YAML job, a local or Ray executor, a resumable manifest.

Run one with ``python -m difftsr_ocr.batch job.yaml``. Ray is imported only when a job
asks for ``executor: {kind: ray}``.
"""

from __future__ import annotations

from difftsr_ocr._lazy import lazy_exports

__all__ = ["Job", "JobSummary", "WorkItem", "job_from_dict", "load_job", "plan_job", "run_job", "write_report"]

_HOMES = {
    "Job": "difftsr_ocr.batch.job",
    "JobSummary": "difftsr_ocr.batch.runner",
    "WorkItem": "difftsr_ocr.batch.plan",
    "job_from_dict": "difftsr_ocr.batch.job",
    "load_job": "difftsr_ocr.batch.job",
    "plan_job": "difftsr_ocr.batch.plan",
    "run_job": "difftsr_ocr.batch.runner",
    "write_report": "difftsr_ocr.batch.report",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
