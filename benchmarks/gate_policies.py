"""How many lines each trust-gate policy restores, and what that does to the text.

    python benchmarks/gate_policies.py [--pages 6]

Renders pages with known text (straight and slightly rotated lines, drawn by
difftsr_ocr.evaluation.synthetic) under mild scan damage (blur, resampling, noise, JPEG),
runs the pipeline with the classical restorer and with a restorer that draws different
characters into every crop (a stand-in for a hallucinating model, from
tests/pipeline/stubs.py), under each policy, and prints lines restored / kept / flagged
and the character error rate of the merged page text against the truth.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.synthetic.degradation import Degradation, apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, line_extent, render_lines
from difftsr_ocr.merge import char_error_rate
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.restore.classical import ClassicalRestorer
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


def _scan(downsampling: float) -> Degradation:
    """Mild scan damage: light blur, down-and-up resampling by the factor, a little noise, rough JPEG."""
    return Degradation(steps=(("gaussian_blur", 0.8), ("downup", downsampling), ("noise", 3.0), ("jpeg", 35.0)))


def _pages(count: int) -> list[tuple[object, list[str]]]:
    rng = random.Random(7)
    pages = []
    for index in range(count):
        specs = []
        top = 60.0  # each line's bounding box starts 40 px below the previous one's bottom
        for _ in range(8):
            text = " ".join(
                rng.choice(WORDS).capitalize() if i == 0 else rng.choice(WORDS) for i in range(rng.randint(2, 5))
            )
            text += f" {rng.randint(10, 9999)}"
            spec = LineSpec(text, 0, 0, size=rng.choice([22, 26, 30]), angle=rng.choice([0, 0, 0, 4, -6]))
            # A line turns about its top-left corner: stack it by its polygon's box.
            x0, y0, _, y1 = line_extent(spec)
            specs.append(dataclasses.replace(spec, x=60.0 - x0, y=top - y0))
            top += y1 - y0 + 40.0
        page, truth = render_lines(specs, size=(900, round(top + 20.0)))
        degraded = apply_degradation(page, _scan(1.0 / (0.3 + 0.05 * (index % 3))), seed=index)
        pages.append((degraded, [line.text for line in truth]))
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
