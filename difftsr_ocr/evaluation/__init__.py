"""Measuring restoration quality: synthetic pages with exact ground truth.

Real scans never come with trustworthy line polygons and transcriptions, so the
benchmarks and tests measure against pages drawn by :mod:`difftsr_ocr.evaluation.synthetic`,
where every line is known because it was put there. Framework-free (no torch), so
it can be imported by tests and tools that never load a model.
"""

__all__: list[str] = []
