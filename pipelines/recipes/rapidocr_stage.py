"""Recipe: difftsr-ocr as a restoration stage in front of RapidOCR.

Copy this file and adapt it. It restores the text lines of a page, then runs RapidOCR on
the restored page, and prints both readings: RapidOCR's, and difftsr-ocr's own merged
line texts (which also consider the original pixels and the DiffTSR transcript).

    python pipelines/recipes/rapidocr_stage.py page.png --device cpu --restorer classical
"""

from __future__ import annotations

import argparse

import numpy as np
from rapidocr import RapidOCR

from difftsr_ocr import restore_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="a page image (PNG, JPEG, TIFF, ...)")
    parser.add_argument("--config", help="a difftsr-ocr pipeline YAML (see configs/pipeline_default.yaml)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto")
    parser.add_argument("--restorer", default="auto", choices=["auto", "difftsr", "classical", "none"])
    args = parser.parse_args()

    # A YAML file wins; otherwise two common settings as a mapping.
    config = args.config or {"device": args.device, "restorer": {"kind": args.restorer}}
    restored = restore_image(args.image, config)

    engine = RapidOCR()
    # RapidOCR remembers these flags between calls, so say all three every time.
    # RapidOCR takes arrays in OpenCV's BGR order; difftsr-ocr returns RGB.
    bgr = np.ascontiguousarray(restored.image[:, :, ::-1])
    result = engine(bgr, use_det=True, use_cls=False, use_rec=True)

    print("== RapidOCR on the restored page ==")
    for text, score in zip(result.txts or (), result.scores or (), strict=True):
        print(f"{score:.2f}  {text}")
    print("== difftsr-ocr merged lines ==")
    for line in restored.page.lines:
        print(f"{line.confidence:.2f}  {line.text}  [{line.decision}]")


if __name__ == "__main__":
    main()
