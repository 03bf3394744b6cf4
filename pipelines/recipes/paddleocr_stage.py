"""Recipe: difftsr-ocr as a restoration stage in front of PaddleOCR 3.x, fully offline.

Copy this file and adapt it. PaddleOCR ships no weights, so the recipe wraps the PP-OCR
ONNX models bundled in the rapidocr wheel as PaddleOCR model folders and runs them on
PaddleOCR's onnxruntime engine (paddlepaddle itself is not needed). It prints PaddleOCR's
reading of the restored page and difftsr-ocr's own merged line texts.

    pip install "difftsr-ocr[paddle]"
    python pipelines/recipes/paddleocr_stage.py page.png --device cpu --restorer classical
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from paddleocr import PaddleOCR

from difftsr_ocr import restore_image
from difftsr_ocr.detect.paddle import DEFAULT_PADDLE_DET_MODEL_NAME, write_paddle_det_model_dir
from difftsr_ocr.recognize.paddle import DEFAULT_PADDLE_REC_MODEL_NAME, write_paddle_rec_model_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="a page image (PNG, JPEG, TIFF, ...)")
    parser.add_argument("--config", help="a difftsr-ocr pipeline YAML (see configs/pipeline_default.yaml)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto")
    parser.add_argument("--restorer", default="auto", choices=["auto", "difftsr", "classical", "none"])
    parser.add_argument("--models", help="keep PaddleOCR's model folders here (default: a temporary folder)")
    args = parser.parse_args()

    config = args.config or {"device": args.device, "restorer": {"kind": args.restorer}}
    restored = restore_image(args.image, config)

    with tempfile.TemporaryDirectory() as scratch:
        models = Path(args.models or scratch)
        det_dir = write_paddle_det_model_dir(models / "det")
        rec_dir = write_paddle_rec_model_dir(models / "rec")
        ocr = PaddleOCR(
            text_detection_model_name=DEFAULT_PADDLE_DET_MODEL_NAME,
            text_detection_model_dir=str(det_dir),
            text_recognition_model_name=DEFAULT_PADDLE_REC_MODEL_NAME,
            text_recognition_model_dir=str(rec_dir),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            engine="onnxruntime",
            device="cpu",
        )
        # PaddleOCR takes arrays in OpenCV's BGR order; difftsr-ocr returns RGB.
        results = ocr.predict(np.ascontiguousarray(restored.image[:, :, ::-1]))

    print("== PaddleOCR on the restored page ==")
    for result in results:
        for text, score in zip(result["rec_texts"], result["rec_scores"], strict=True):
            print(f"{score:.2f}  {text}")
    print("== difftsr-ocr merged lines ==")
    for line in restored.page.lines:
        print(f"{line.confidence:.2f}  {line.text}  [{line.decision}]")


if __name__ == "__main__":
    main()
