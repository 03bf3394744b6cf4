"""What a user with the real weights gets: upstream's LR crops through the pipeline, the official SR as the restorer.

    python benchmarks/upstream_testset.py [--testset ../shared/upstream_testset] [--lines]

The upstream test set holds degraded 512x128 lines (``*_lr_*``) and what the official
DiffTSR with its real weights made of them (``*_sr_*``); no transcripts ship with them.
First, per set: PP-OCR's mean confidence on the LR and SR images read whole, how many
lines it reads more confidently after restoration, and how far the two readings are
apart. Then the LR images are stacked on a white page and run through the pipeline
(detection, cutting, reading) with a restorer that returns, for each line region it is
given, the same region of the page of official SR outputs; under each gate policy,
every changed line is printed with its evidence and decision, and the lines checked by
eye (named in EXPECTED) are scored: corrections to accept, DiffTSR's mistakes to refuse.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.errors import DifftsrError
from difftsr_ocr.evaluation.upstream import official_sr_restorer, upstream_pages, upstream_pairs
from difftsr_ocr.imageio import load_image
from difftsr_ocr.merge import char_error_rate, reading_key
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer

DEFAULT_TESTSET = Path(__file__).resolve().parents[2] / "shared" / "upstream_testset"

# Checked by eye (issue 12): restored reading -> what the gate must do with it.
EXPECTED = {
    "图文制作": True,
    "特色农家菜": True,
    "厨彩阳光": True,
    "口水鸡排": True,
    "净含量.500g": True,
    "秦芒了": False,  # DiffTSR's mistake: the LR image shows 泰
    "GTX1080π": False,  # DiffTSR dropped the i of 1080Ti
}


def _whole_images(pairs: list[tuple[str, Path, Path]], recognizer: PPOCRRecognizer) -> None:
    """PP-OCR on the LR and SR images read whole."""
    lr = recognizer.recognize([load_image(path).pixels for _, path, _ in pairs])
    sr = recognizer.recognize([load_image(path).pixels for _, _, path in pairs])
    print("PP-OCR on the line images read whole")
    print(f"{'set':<10}{'lines':>6}{'conf LR':>9}{'conf SR':>9}{'SR more sure':>14}{'CER LR vs SR':>14}")
    for name in [*sorted({name for name, *_ in pairs}), "all"]:
        rows = [i for i, (set_name, *_) in enumerate(pairs) if name in ("all", set_name)]
        surer = sum(sr[i].confidence > lr[i].confidence for i in rows)
        distance = np.mean([char_error_rate(lr[i].text, sr[i].text) for i in rows])
        print(
            f"{name:<10}{len(rows):>6}{np.mean([lr[i].confidence for i in rows]):>9.3f}"
            f"{np.mean([sr[i].confidence for i in rows]):>9.3f}{surer:>10}/{len(rows):<3}{distance:>14.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testset", type=Path, default=DEFAULT_TESTSET)
    parser.add_argument("--lines", action="store_true", help="also print every line under every policy")
    args = parser.parse_args()
    pairs = upstream_pairs(args.testset)
    if not pairs:
        print(
            f"error: no *_lr_*/*.png with *_sr_* counterparts under {args.testset}; "
            "pass --testset with the folder of upstream's test set",
            file=sys.stderr,
        )
        return 2
    try:
        recognizer = PPOCRRecognizer()
        lr_page, sr_page = upstream_pages(pairs)
        detector = PPOCRDetector()
    except DifftsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _whole_images(pairs, recognizer)

    reader = Pipeline(detector, recognizer, None, config_from_dict({"device": "cpu"}))
    prepared = reader.prepare(lr_page)
    upstream = official_sr_restorer(prepared, sr_page)
    Pipeline(detector, recognizer, upstream, reader.config).restore([prepared])
    print(f"\nThe pipeline on the stacked LR page ({len(prepared.lines)} lines detected), the official SR as restorer")
    judged: dict[str, bool] = {}
    for policy in ("safe", "always", "never"):
        config = config_from_dict({"device": "cpu", "gate": {"policy": policy}})
        result = Pipeline(detector, recognizer, upstream, config).finish(copy.deepcopy(prepared))
        changed = [
            line
            for line in result.page.lines
            if line.reading("ocr_restored") is not None
            and reading_key(line.reading("ocr_restored").text) != reading_key(line.reading("ocr_original").text)
        ]
        accepted = sum(line.decision == "restored" for line in changed)
        print(f"\ngate {policy}: {accepted} of {len(changed)} changed readings accepted")
        for line in result.page.lines if args.lines else changed:
            original, restored = line.reading("ocr_original"), line.reading("ocr_restored")
            evidence = f" [{line.evidence.describe()}]" if line.evidence is not None else ""
            expected = EXPECTED.get(reading_key(restored.text)) if restored is not None else None
            verdict = ""
            if policy == "safe" and expected is not None:
                ok = (line.decision == "restored") == expected
                judged[reading_key(restored.text)] = ok
                verdict = f"  [{'ok' if ok else 'WRONG'}: should {'accept' if expected else 'refuse'}]"
            print(
                f"  {original.text!r} ({original.confidence:.2f}) -> {restored.text if restored else None!r} "
                f"({restored.confidence if restored else 0:.2f}): {line.decision}; {line.reason}{evidence}{verdict}"
            )
    right = sum(judged.values())
    print(f"\nlines checked by eye, decided right by the safe gate: {right} of {len(judged)}")
    for text in EXPECTED:
        if text not in judged:
            print(
                f"  {text!r} did not come up as a change (the original reading already says it, or the SR reads otherwise)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
