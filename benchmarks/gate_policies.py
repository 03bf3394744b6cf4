"""How many lines each trust-gate policy restores, and what that does to the text.

    python benchmarks/gate_policies.py [--pages 6]

Renders degraded pages with known text (tests/pages.py; run from the repository root),
runs the pipeline with the classical restorer and with a restorer that draws different
characters into every crop (a stand-in for a hallucinating model), under each policy,
and prints lines restored / kept / flagged and the character error rate of the merged
page text against the truth.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.merge import char_error_rate
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.restore.classical import ClassicalRestorer
from tests.pages import LineSpec, degrade, render_page
from tests.pipeline.stubs import CharacterChangingRestorer

WORDS = [
    "invoice",
    "total",
    "amount",
    "delivery",
    "address",
    "order",
    "number",
    "date",
    "customer",
    "account",
    "balance",
    "paid",
    "due",
    "reference",
]


def _pages(count: int) -> list[tuple[object, list[str]]]:
    rng = random.Random(7)
    pages = []
    for index in range(count):
        specs = []
        for row in range(8):
            text = " ".join(
                rng.choice(WORDS).capitalize() if i == 0 else rng.choice(WORDS) for i in range(rng.randint(2, 5))
            )
            text += f" {rng.randint(10, 9999)}"
            specs.append(
                LineSpec(text, 60, 60 + row * 80, size=rng.choice([22, 26, 30]), angle=rng.choice([0, 0, 0, 4, -6]))
            )
        page, truth = render_page(specs, size=(900, 720))
        pages.append((degrade(page, scale=0.3 + 0.05 * (index % 3), seed=index), [line.text for line in truth]))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=6)
    args = parser.parse_args()
    detector, recognizer = PPOCRDetector(), PPOCRRecognizer()
    pages = _pages(args.pages)
    truth_lines = sum(len(truth) for _, truth in pages)
    print(f"{args.pages} degraded pages, {truth_lines} lines of known text")
    print(f"{'restorer':<14}{'policy':<8}{'restored':>9}{'kept':>6}{'flagged':>8}{'CER':>8}")
    for restorer in (ClassicalRestorer(), CharacterChangingRestorer()):
        for policy in ("safe", "always", "never"):
            pipeline = Pipeline(
                detector, recognizer, restorer, config_from_dict({"device": "cpu", "gate": {"policy": policy}})
            )
            restored = kept = flagged = 0
            errors = characters = 0.0
            for image, truth in pages:
                result = pipeline(image)
                counts = result.page.counts()
                restored, kept, flagged = (
                    restored + counts["restored"],
                    kept + counts["kept_original"],
                    flagged + counts["flagged"],
                )
                reference = "\n".join(truth)
                errors += char_error_rate(result.page.text, reference) * len(reference)
                characters += len(reference)
            print(f"{restorer.name:<14}{policy:<8}{restored:>9}{kept:>6}{flagged:>8}{errors / characters:>8.3f}")


if __name__ == "__main__":
    main()
