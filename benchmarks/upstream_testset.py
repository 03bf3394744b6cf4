"""Does our recogniser and gate see what a good restoration brings? PP-OCR on upstream's LR crops vs the official SR.

    python benchmarks/upstream_testset.py [--testset ../shared/upstream_testset]

The upstream test set holds degraded 512x128 lines (``*_lr_*``) and what the official
DiffTSR with its real weights made of them (``*_sr_*``); no transcripts ship with them.
Per set this prints PP-OCR's mean confidence on LR and SR, how many lines it reads more
confidently after restoration, how far the two readings are apart (character error rate
of the LR reading against the SR one), and what the trust gate (safe policy) and the
merge decide when handed the SR crop as the restoration of the LR one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.gate import decide
from difftsr_ocr.imageio import load_image
from difftsr_ocr.merge import char_error_rate, merge_readings
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.results import Reading

DEFAULT_TESTSET = Path(__file__).resolve().parents[2] / "shared" / "upstream_testset"


def _pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """(set name, LR file, SR file) for every LR file that has its SR counterpart."""
    pairs = []
    for lr_dir in sorted(folder.glob("*_lr_*")):
        sr_dir = folder / lr_dir.name.replace("_lr_", "_sr_")
        for lr in sorted(lr_dir.glob("*.png"), key=lambda p: (len(p.stem), p.stem)):
            sr = sr_dir / lr.name
            if sr.exists():
                pairs.append((lr_dir.name.replace("_lr_", "_"), lr, sr))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testset", type=Path, default=DEFAULT_TESTSET)
    parser.add_argument("--lines", action="store_true", help="also print every line's two readings")
    args = parser.parse_args()
    pairs = _pairs(args.testset)
    if not pairs:
        print(
            f"error: no *_lr_*/*.png with *_sr_* counterparts under {args.testset}; "
            "pass --testset with the folder of upstream's test set",
            file=sys.stderr,
        )
        return 2
    try:
        recognizer = PPOCRRecognizer()
        lr_images = [load_image(lr).pixels for _, lr, _ in pairs]
        sr_images = [load_image(sr).pixels for _, _, sr in pairs]
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    lr_readings = [Reading("ocr_original", r.text, r.confidence) for r in recognizer.recognize(lr_images)]
    sr_readings = [Reading("ocr_restored", r.text, r.confidence) for r in recognizer.recognize(sr_images)]

    print(
        f"{'set':<10}{'lines':>6}{'conf LR':>9}{'conf SR':>9}{'SR more sure':>14}{'CER LR vs SR':>14}{'gate restores':>15}"
    )
    sets = sorted({name for name, *_ in pairs})
    for name in [*sets, "all"]:
        rows = [i for i, (set_name, *_) in enumerate(pairs) if name in ("all", set_name)]
        lr_conf = np.mean([lr_readings[i].confidence for i in rows])
        sr_conf = np.mean([sr_readings[i].confidence for i in rows])
        surer = sum(sr_readings[i].confidence > lr_readings[i].confidence for i in rows)
        distance = np.mean([char_error_rate(lr_readings[i].text, sr_readings[i].text) for i in rows])
        restored = sum(decide(lr_readings[i], sr_readings[i], None).restore for i in rows)
        print(
            f"{name:<10}{len(rows):>6}{lr_conf:>9.3f}{sr_conf:>9.3f}{surer:>10}/{len(rows):<3}"
            f"{distance:>14.3f}{restored:>11}/{len(rows):<3}"
        )
    if args.lines:
        print()
        for (name, lr, _), lr_reading, sr_reading in zip(pairs, lr_readings, sr_readings, strict=True):
            verdict = decide(lr_reading, sr_reading, None)
            chosen = sr_reading if verdict.restore else lr_reading
            others = [] if verdict.restore else [sr_reading]
            merged = merge_readings(chosen, others)
            print(
                f"{name}/{lr.name}: LR {lr_reading.text!r} ({lr_reading.confidence:.2f})  "
                f"SR {sr_reading.text!r} ({sr_reading.confidence:.2f})  -> {merged.text!r}; {verdict.reason}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
