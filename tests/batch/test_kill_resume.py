"""A job killed with SIGKILL at random moments, several times, ends exactly as an uninterrupted run.

The job mixes single pages and a multi-page PDF (benchmarks/kill_resume.py runs the
20-cycle, 50-page version). Pages of the PDF that a killed run had finished are reused,
never redone: their parts stay untouched until the PDF is assembled, and the record of
the run that assembles it names exactly them.
"""

from __future__ import annotations

from pathlib import Path

from difftsr_ocr.evaluation.interruption import kill_resume_trial, make_archive


def test_a_job_killed_at_random_moments_resumes_page_by_page_and_ends_as_an_uninterrupted_run(tmp_path: Path) -> None:
    make_archive(tmp_path, pages=8, size=(500, 700))
    report = kill_resume_trial(tmp_path, cycles=3, seed=1)
    assert report.clean, report
    killed = [cycle for cycle in report.cycles if cycle.killed]
    assert len(killed) >= 2, report.cycles
    assert any(cycle.parts_after for cycle in killed), "some kill left finished pages waiting"
    finished = [cycle.book_reused for cycle in report.cycles if cycle.book_reused is not None]
    assert len(finished) == 1, "the PDF was assembled once"
    assert not report.cycles[-1].parts_after and not report.leftovers
