"""A few hundred hostile inputs through the command line: every one must get a defined outcome.

    python benchmarks/hostile_corpus.py                 # 240 files
    python benchmarks/hostile_corpus.py --files 60      # quicker

From generated pages, the script writes valid inputs (PNG, JPEG, TIFF, multi-page TIFF,
PDF, odd modes: L, LA, RGBA, CMYK, P, I;16, 1-bit; odd names: spaces, non-ASCII, very
long, leading dashes) and hostile ones made from them (truncated at random, random byte
flips, empty files, a decompression bomb's header, a PDF cut short, text named .png,
FIFOs named as images, folders named as images). All of them go through one
``python -m difftsr_ocr.run`` (classical restorer) under a time limit. Printed: hangs,
tracebacks, inputs reported as "unexpected" errors, and valid inputs without their
restored image. The goal is zero of each.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from difftsr_ocr.evaluation.synthetic.pages import generate_page

_NAMES = ("plain", "with space", "ünïcödé", "-dash", "x" * 180)


# The modes each format can store.
_MODES_OF = {
    "png": ("RGB", "L", "LA", "RGBA", "P", "I;16", "1"),
    "jpg": ("RGB", "L", "CMYK"),
    "tif": ("RGB", "L", "LA", "RGBA", "CMYK", "P", "I;16", "1"),
    "multi.tif": ("RGB", "L", "CMYK", "1"),
    "pdf": ("RGB",),
}


def _valid(folder: Path, number: int, rng: random.Random, page: Image.Image) -> Path:
    kind = rng.choice(list(_MODES_OF))
    mode = rng.choice(_MODES_OF[kind])
    image = page.convert("L").convert("I;16") if mode == "I;16" else page.convert(mode)
    path = folder / f"{rng.choice(_NAMES)}-{number}.{kind}"
    if kind == "multi.tif":
        image.save(path, save_all=True, append_images=[image.rotate(180)])
    elif kind == "pdf":
        image.save(path, save_all=True, append_images=[image])
    else:
        image.save(path)
    return path


def _hostile(folder: Path, number: int, rng: random.Random, source: Path) -> Path:
    data = source.read_bytes()
    kind = rng.choice(("truncated", "flipped", "empty", "bomb", "text", "fifo", "folder"))
    path = folder / f"hostile-{kind}-{number}{source.suffix}"
    if kind == "truncated":
        path.write_bytes(data[: rng.randrange(1, max(2, len(data)))])
    elif kind == "flipped":
        corrupted = bytearray(data)
        for _ in range(rng.randrange(1, 32)):
            corrupted[rng.randrange(len(corrupted))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(corrupted))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "bomb":
        path = path.with_suffix(".png")
        Image.new("1", (60000, 60000)).save(path, optimize=True)
    elif kind == "text":
        path.write_text("not an image at all\n", encoding="utf-8")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before the run counts as hung")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pages = [Image.fromarray(generate_page(seed, size=(640, 480)).degraded) for seed in range(3)]
    with tempfile.TemporaryDirectory(prefix="difftsr_hostile_") as root:
        folder, out = Path(root) / "in", Path(root) / "out"
        folder.mkdir()
        valid: list[Path] = []
        hostile: list[Path] = []
        for number in range(args.files):
            path = _valid(folder, number, rng, pages[number % len(pages)])
            if rng.random() < 0.5:
                hostile.append(_hostile(folder, number, rng, path))
                path.unlink()
            else:
                valid.append(path)
        inputs = [str(p) for p in valid + hostile]
        rng.shuffle(inputs)
        command = [sys.executable, "-m", "difftsr_ocr.run", *inputs, "-o", str(out), "--restorer", "classical"]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, check=False)
            hung, output = False, done.stdout + done.stderr
        except subprocess.TimeoutExpired as expired:
            hung, output = True, str(expired.stdout or "") + str(expired.stderr or "")
        seconds = time.perf_counter() - started
        written = {p.name for p in out.iterdir()} if out.is_dir() else set()
        missing = [p.name for p in valid if not any(name.startswith(p.stem[:150]) for name in written)]
        print(f"{len(valid)} valid and {len(hostile)} hostile inputs, {seconds:.0f} s")
        print(f"hung: {int(hung)}")
        print(f"tracebacks: {output.count('Traceback (most recent call last)')}")
        print(f"unexpected errors: {output.count('unexpected ')}")
        print(f"valid inputs without outputs: {len(missing)} {missing[:5]}")
        return 0 if not hung and "Traceback" not in output and "unexpected " not in output and not missing else 1


if __name__ == "__main__":
    raise SystemExit(main())
