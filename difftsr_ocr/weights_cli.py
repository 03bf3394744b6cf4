"""``python -m difftsr_ocr.weights_cli``: check and convert the official weight files.

check    says in one screen whether DiffTSR.ckpt / transocr.pth load into the model
         config (layout, key spelling, tensor and parameter counts, dtypes), or exactly
         which keys are missing, unexpected or mis-shaped.
convert  rewrites them as safetensors (memory-mapped, no pickle) with our key spelling.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from difftsr_ocr.errors import DifftsrError, ExitCode
from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
from difftsr_ocr.models.difftsr import build_difftsr_networks, build_transocr
from difftsr_ocr.weights import (
    DIFFTSR_WEIGHTS,
    TRANSOCR_WEIGHTS,
    KeyMismatch,
    compare_state_dict,
    convert_difftsr_weights,
    convert_transocr_weights,
    find_weights,
    read_difftsr_weights,
    read_transocr_weights,
    where_looked,
)

__all__ = ["main"]

_SHOWN_PER_KIND = 5


def _dtypes(state_dict: Mapping[str, torch.Tensor]) -> str:
    counts = Counter(str(t.dtype).removeprefix("torch.") for t in state_dict.values() if t.is_floating_point())
    return "+".join(name for name, _ in counts.most_common()) or "-"


def _parameter_count(module: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> int:
    names = {name for name, _ in module.named_parameters()}
    return sum(t.numel() for key, t in state_dict.items() if key in names)


def _mismatch_lines(mismatch: KeyMismatch) -> list[str]:
    lines = []
    for title, keys in (("missing", mismatch.missing), ("unexpected", mismatch.unexpected)):
        if keys:
            shown = ", ".join(keys[:_SHOWN_PER_KIND]) + (
                f", ... (+{len(keys) - _SHOWN_PER_KIND})" if len(keys) > _SHOWN_PER_KIND else ""
            )
            lines.append(f"      {len(keys)} {title}: {shown}")
    for key, want, got in mismatch.misshaped[:_SHOWN_PER_KIND]:
        lines.append(f"      mis-shaped: {key} is {list(got)}, the config needs {list(want)}")
    if len(mismatch.misshaped) > _SHOWN_PER_KIND:
        lines.append(f"      ... and {len(mismatch.misshaped) - _SHOWN_PER_KIND} more mis-shaped")
    return lines


def _component_rows(
    modules: Mapping[str, nn.Module], state_dicts: Mapping[str, Mapping[str, torch.Tensor]]
) -> tuple[list[str], bool]:
    rows = [f"  {'component':<13}{'tensors':>8}{'parameters':>16}  {'dtype':<10}result"]
    all_ok = True
    for name, module in modules.items():
        state_dict = state_dicts[name]
        mismatch = compare_state_dict(module, state_dict)
        all_ok &= mismatch.ok
        count = _parameter_count(module, state_dict)
        rows.append(
            f"  {name:<13}{len(state_dict):>8}{count:>16,}  {_dtypes(state_dict):<10}{'ok' if mismatch.ok else 'DOES NOT FIT'}"
        )
        rows.extend(_mismatch_lines(mismatch))
    return rows, all_ok


def _check(args: argparse.Namespace) -> int:
    config = load_difftsr_config(args.config) if args.config else DiffTSRConfig()
    config_name = args.config or "built-in official DiffTSR config"
    print(f"model config     {config_name}")
    found_any, all_ok = False, True

    ckpt = find_weights(DIFFTSR_WEIGHTS, args.ckpt)
    if ckpt is None:
        print(f"DiffTSR weights  not found: {where_looked(DIFFTSR_WEIGHTS)}")
    else:
        found_any = True
        read = read_difftsr_weights(ckpt)
        networks = build_difftsr_networks(config)
        print(f"DiffTSR weights  {ckpt}")
        print(f"  layout         {read.layout}")
        print(f"  TDM axial keys {read.axial_spelling}")
        modules = {key: networks.component(key) for key in read.components}
        rows, ok = _component_rows(modules, read.components)
        print("\n".join(rows))
        all_ok &= ok

    transocr = find_weights(TRANSOCR_WEIGHTS, args.transocr)
    if transocr is None:
        print(f"TransOCR weights not found: {where_looked(TRANSOCR_WEIGHTS)}")
    else:
        found_any = True
        read_ocr = read_transocr_weights(transocr)
        print(f"TransOCR weights {transocr}")
        print(f"  layout         {read_ocr.layout}")
        rows, ok = _component_rows({"TransOCR": build_transocr(config.text_prior)}, {"TransOCR": read_ocr.state_dict})
        print("\n".join(rows))
        all_ok &= ok

    if not found_any:
        print("result           FAIL: no weight file found")
        return int(ExitCode.missing_or_bad_weights)
    if not all_ok:
        print("result           FAIL: these files do not load strictly into this config (see above)")
        return int(ExitCode.missing_or_bad_weights)
    print("result           ok: every file found loads strictly into this config")
    return int(ExitCode.ok)


def _convert(args: argparse.Namespace) -> int:
    if args.transocr:
        written = [convert_transocr_weights(args.source, args.destination)]
    else:
        written = convert_difftsr_weights(args.source, args.destination, per_component=args.per_component)
    for path in written:
        print(f"wrote {path}")
    return int(ExitCode.ok)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m difftsr_ocr.weights_cli", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="say whether weight files load into the model config")
    check.add_argument(
        "--ckpt",
        help=f"DiffTSR.ckpt or its safetensors form (default: ${DIFFTSR_WEIGHTS.env_var}, then default places)",
    )
    check.add_argument(
        "--transocr",
        help=f"transocr.pth or its safetensors form (default: ${TRANSOCR_WEIGHTS.env_var}, then default places)",
    )
    check.add_argument("--config", help="model config in the official DiffTSR YAML shape (default: the official one)")
    check.set_defaults(run=_check)
    convert = commands.add_parser("convert", help="write weights as safetensors")
    convert.add_argument("source", type=Path, help="DiffTSR.ckpt (or transocr.pth with --transocr)")
    convert.add_argument("destination", type=Path, help="a .safetensors file, or a folder with --per-component")
    convert.add_argument(
        "--per-component", action="store_true", help="one file per component in the destination folder"
    )
    convert.add_argument("--transocr", action="store_true", help="the source is transocr.pth")
    convert.set_defaults(run=_convert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)


if __name__ == "__main__":
    sys.exit(main())
