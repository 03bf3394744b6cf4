"""``python -m difftsr_ocr.run INPUT... [options]``: restore and read pages from the command line.

Images (JPEG, PNG, TIFF with several pages, WebP, BMP) and PDFs. For each input it
writes, into the output folder, the restored image (same format; a PDF comes back as a
PDF of the restored pages) and the results as JSON, plus on request hOCR, ALTO, text, a
before/after preview and an HTML report of the lines the trust gate flagged. One bad
input fails alone: the others are written, the failures are listed, and the exit code
is non-zero. With ``--sample`` it runs on a degraded page that ships with the package.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.resources
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from difftsr_ocr.config import (
    RESTORER_KINDS,
    PipelineConfig,
    config_from_dict,
    config_to_dict,
    load_pipeline_config,
)
from difftsr_ocr.errors import DifftsrError, ExitCode, printable
from difftsr_ocr.gate import GATE_POLICIES
from difftsr_ocr.outputs import FORMATS, check_formats, output_stem
from difftsr_ocr.runtime.allocator import manage_allocator
from difftsr_ocr.samplers import LATENT_SAMPLERS
from difftsr_ocr.version import SOFTWARE_NAME, software_version

if TYPE_CHECKING:
    from difftsr_ocr.pipeline import Pipeline
    from difftsr_ocr.streaming import InputOutcome

__all__ = ["main"]

_DEFAULT_FORMATS = ("json",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m difftsr_ocr.run",
        description="Restore the text lines of degraded scans and photos with DiffTSR, and read them.",
        epilog="Weights: --ckpt/--transocr, or $DIFFTSR_CKPT/$DIFFTSR_TRANSOCR, or ~/.cache/difftsr_ocr/. "
        "Without them the classical restorer runs (with a notice).",
    )
    parser.add_argument("inputs", nargs="*", type=Path, help="image or PDF files")
    parser.add_argument(
        "--sample", action="store_true", help="run on the degraded sample page shipped with the package"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("difftsr_output"), help="output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--formats",
        default=",".join(_DEFAULT_FORMATS),
        help=f"comma-separated outputs besides the restored image: {', '.join(FORMATS)} (default: %(default)s)",
    )
    parser.add_argument("--config", type=Path, help="pipeline config YAML (see configs/pipeline_default.yaml)")
    weights = parser.add_argument_group("restorer")
    weights.add_argument("--restorer", choices=RESTORER_KINDS, help="which restorer (default: auto)")
    weights.add_argument("--ckpt", help="DiffTSR.ckpt or its safetensors form")
    weights.add_argument("--transocr", help="transocr.pth or its safetensors form")
    weights.add_argument(
        "--sampler", choices=LATENT_SAMPLERS, help="latent sampler (official: ddim; dpmpp_2m, unipc: ~20 steps)"
    )
    weights.add_argument("--steps", type=int, help="sampler steps (official DDIM: 200; dpmpp_2m/unipc: 20)")
    weights.add_argument("--eta", type=float, help="DDIM eta (official: 0.2)")
    weights.add_argument(
        "--refine-text", action="store_true", default=None, help="run the TDM at every step (paper mode)"
    )
    weights.add_argument(
        "--precision", choices=("fp32", "bf16", "fp16"), help="network precision (GPU: bf16 is fastest)"
    )
    weights.add_argument("--batch-size", type=int, help="crops per restorer batch (default: from free memory)")
    weights.add_argument(
        "--compile", action="store_true", default=None, help="torch.compile the networks (CUDA: CUDA graphs)"
    )
    run = parser.add_argument_group("run")
    run.add_argument("--device", help="cpu, cuda, cuda:N or auto (default: auto)")
    run.add_argument("--seed", type=int, help="base seed; each crop derives its own from it")
    run.add_argument("--threads", type=int, help="CPU threads per stage (default: one per core)")
    run.add_argument("--gate", choices=GATE_POLICIES, help="trust gate policy (default: safe)")
    run.add_argument("--detector", choices=("ppocr", "paddle"), help="detection/recognition backend (default: ppocr)")
    run.add_argument(
        "--scale",
        type=int,
        choices=(1, 2, 3, 4),
        help="write the page this many times larger, restored lines at the restorer's own detail (default: 1)",
    )
    run.add_argument(
        "--pages-per-batch",
        type=_positive,
        default=4,
        help="pages whose lines are restored together; also how many are decoded ahead (default: %(default)s)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="redo every page, also those an interrupted run left finished beside the outputs",
    )
    run.add_argument(
        "--pdf-dpi", type=float, default=200.0, help="resolution PDFs are rendered at (default: %(default)s)"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log more, and show tracebacks of unexpected errors")
    parser.add_argument("--version", action="version", version=f"{SOFTWARE_NAME} {software_version()}")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def _config(args: argparse.Namespace) -> PipelineConfig:
    base = config_to_dict(load_pipeline_config(args.config) if args.config else PipelineConfig())
    overrides = {
        ("restorer", "kind"): args.restorer,
        ("restorer", "ckpt"): args.ckpt,
        ("restorer", "transocr"): args.transocr,
        ("restorer", "sampler"): args.sampler,
        ("restorer", "steps"): args.steps,
        ("restorer", "eta"): args.eta,
        ("restorer", "refine_text"): args.refine_text,
        ("restorer", "precision"): args.precision,
        ("restorer", "batch_size"): args.batch_size,
        ("restorer", "compile"): args.compile,
        ("gate", "policy"): args.gate,
        ("detector", "backend"): args.detector,
        ("recognizer", "backend"): args.detector,
        (None, "device"): args.device,
        (None, "seed"): args.seed,
        (None, "threads"): args.threads,
        (None, "output_scale"): args.scale,
    }
    for (section, key), value in overrides.items():
        if value is not None:
            (base[section] if section else base)[key] = value
    return config_from_dict(base, source=str(args.config or "command line"))


def _formats(text: str) -> tuple[str, ...]:
    return check_formats(tuple(part.strip() for part in text.split(",") if part.strip()))


@dataclasses.dataclass
class _Row:
    name: str
    pages: int = 0
    lines: int = 0
    restored: int = 0
    kept: int = 0
    flagged: int = 0
    confidence: float = 0.0
    seconds: float = 0.0
    error: str = ""
    # Pages an earlier, interrupted run had finished.
    reused: int = 0


def _row(outcome: InputOutcome, verbose: bool) -> tuple[_Row, int]:
    """The summary row of one input, and its exit code (0: it succeeded)."""
    row = _Row(printable(outcome.task.source.name), seconds=outcome.seconds, reused=len(outcome.reused))
    error = outcome.error
    if isinstance(error, DifftsrError):
        row.error = str(error)
        return row, int(error.exit_code)
    if error is not None:
        if verbose:
            logging.error("unexpected error on %s", outcome.task.source, exc_info=error)
        row.error = printable(f"unexpected {type(error).__name__}: {error} (run with -v for details)")
        return row, 1
    row.pages = len(outcome.pages)
    lines = [line for page in outcome.pages for line in page.lines]
    row.lines = len(lines)
    counts = [page.counts() for page in outcome.pages]
    row.restored = sum(c["restored"] for c in counts)
    row.kept = sum(c["kept_original"] for c in counts)
    row.flagged = sum(c["flagged"] for c in counts)
    row.confidence = sum(line.confidence for line in lines) / len(lines) if lines else 0.0
    return row, 0


def _process(
    pipeline: Pipeline, inputs: list[Path], args: argparse.Namespace, formats: tuple[str, ...]
) -> Iterator[InputOutcome]:
    """Each input's outcome as it is written, with one progress bar following the restorer."""
    from tqdm import tqdm

    from difftsr_ocr.streaming import InputTask, StreamSettings, process_inputs

    settings = StreamSettings(formats, args.pdf_dpi, args.pages_per_batch, reuse_pages=not args.force)
    tasks = [InputTask(source, args.output, source.stem) for source in inputs]
    with tqdm(desc="restoring", unit="step", delay=1.0, leave=False, file=sys.stderr) as bar:

        def progress(state: object) -> None:
            bar.total = state.total
            bar.n = state.done
            bar.refresh()

        yield from process_inputs(pipeline, tasks, settings, on_progress=progress)


def _distinct_outputs(inputs: list[Path], output: Path) -> list[Path]:
    """``inputs`` once each; two inputs whose outputs would overwrite each other are refused before any work."""
    unique: list[Path] = []
    seen: set[Path] = set()
    claimed: dict[str, Path] = {}
    for source in inputs:
        resolved = source.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        stem = output_stem(source.stem)
        if stem in claimed:
            raise DifftsrError(
                f"{claimed[stem]} and {source} would both write {output / stem}.*; "
                "rename one, or run them with different --output folders"
            )
        claimed[stem] = source
        unique.append(source)
    return unique


def _print_summary(rows: list[_Row]) -> None:
    width = max([len("input"), *(len(r.name) for r in rows)])
    print(f"{'input':<{width}}  pages  lines  restored  kept  flagged  mean conf  seconds  status")
    for r in rows:
        status = f"FAILED: {r.error}" if r.error else "ok"
        if r.reused:
            status += f" ({r.reused} page(s) from an interrupted run)"
        print(
            f"{r.name:<{width}}  {r.pages:>5}  {r.lines:>5}  {r.restored:>8}  {r.kept:>4}  {r.flagged:>7}"
            f"  {r.confidence:>9.3f}  {r.seconds:>7.1f}  {status}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr
    )
    manage_allocator()
    inputs = list(args.inputs)
    if args.sample:
        inputs.append(Path(str(importlib.resources.files("difftsr_ocr") / "samples" / "degraded_page.png")))
    if not inputs:
        print("error: no input; pass image or PDF files, or --sample", file=sys.stderr)
        return int(ExitCode.bad_args)
    try:
        formats = _formats(args.formats)
        inputs = _distinct_outputs(inputs, args.output)
        from difftsr_ocr.pipeline import build_pipeline

        pipeline = build_pipeline(_config(args))
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)

    rows, worst = [], 0
    for outcome in _process(pipeline, inputs, args, formats):
        row, code = _row(outcome, args.verbose)
        rows.append(row)
        worst = max(worst, code)
    _print_summary(rows)
    print(f"outputs in {args.output}")
    failed = [r for r in rows if r.error]
    if failed:
        print(f"{len(failed)} of {len(rows)} input(s) failed:", file=sys.stderr)
        for r in failed:
            print(f"  {r.name}: {r.error}", file=sys.stderr)
    return worst


if __name__ == "__main__":
    sys.exit(main())
