"""The page pipeline with the DiffTSR restorer (tiny reference model, random weights): plumbing and shapes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import LineSpec, render_lines
from difftsr_ocr.export import document_from_json, document_to_json
from difftsr_ocr.geometry.composite import feather_mask
from difftsr_ocr.geometry.rectify import unrectify
from difftsr_ocr.models.config import load_difftsr_config
from difftsr_ocr.models.difftsr import build_difftsr_networks, build_transocr
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.restore.difftsr import DiffTSRRestorer, DiffTSRRestorerConfig
from difftsr_ocr.restore.sampling import SamplingConfig
from difftsr_ocr.results import Document
from difftsr_ocr.weights import load_difftsr_weights
from tests.hash_weights import transocr_hash_state_dict
from tests.layouts import MILD_SCAN
from tests.reference import TINY_A_DIR


@pytest.fixture(scope="module")
def restorer() -> DiffTSRRestorer:
    config = load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")
    networks = build_difftsr_networks(config)
    load_difftsr_weights(networks, TINY_A_DIR / "difftsr_tiny_A.ckpt")
    text_prior = build_transocr(config.text_prior, device="cpu")
    text_prior.load_state_dict(transocr_hash_state_dict(text_prior.state_dict()))
    sampling = SamplingConfig(steps=2, eta=0.2, refine_text=True)
    return DiffTSRRestorer(networks, text_prior, DiffTSRRestorerConfig(sampling=sampling))


@pytest.mark.parametrize("policy", ["safe", "always"])
def test_tiny_difftsr_page_end_to_end(restorer: DiffTSRRestorer, policy: str) -> None:
    page, truth = render_lines(
        [
            LineSpec("Invoice number 2024-117", 40, 40, size=30),
            LineSpec("发票号码 二零二四年", 40, 120, size=32, font="cjk"),
        ],
        size=(600, 220),
    )
    image = apply_degradation(page, MILD_SCAN, seed=0)
    pipeline = Pipeline(
        PPOCRDetector(), PPOCRRecognizer(), restorer, config_from_dict({"device": "cpu", "gate": {"policy": policy}})
    )
    result = pipeline(image)
    assert result.image.shape == image.shape and len(result.page.lines) == len(truth)
    assert result.page.restorer == "difftsr"
    for line in result.page.lines:
        sources = [reading.source for reading in line.readings]
        assert sources == ["ocr_original", "ocr_restored", "difftsr"], "the TDM transcript is kept as a reading"
        assert 0.0 <= line.reading("difftsr").confidence <= 1.0
    if policy == "always":
        assert all(line.decision == "restored" for line in result.page.lines)
        assert not np.array_equal(result.image, image), "random weights draw something else"
    else:
        # Random weights draw noise: the safe gate must keep every original line.
        assert all(line.decision == "kept_original" for line in result.page.lines)
        assert np.array_equal(result.image, image)
    document = Document(pages=[result.page])
    assert document_from_json(document_to_json(document)) == document


def test_a_4x_page_carries_difftsrs_own_resolution(restorer: DiffTSRRestorer) -> None:
    page, _ = render_lines([LineSpec("Invoice 2024-117", 40, 40, size=30)], size=(420, 120))
    image = apply_degradation(page, MILD_SCAN, seed=0)
    config = config_from_dict({"device": "cpu", "output_scale": 4, "gate": {"policy": "always"}})
    pipeline = Pipeline(PPOCRDetector(), PPOCRRecognizer(), restorer, config)
    prepared = pipeline.prepare(image)
    pipeline.restore([prepared])
    work = prepared.lines[0]
    # DiffTSR's 512x128 per chunk, stitched: finer than the line's crop along both axes.
    assert work.restored_crop.shape[0] == 128 and work.restored_crop.shape[1] > work.crop.shape[1]
    result = pipeline.finish(prepared)
    assert result.image.shape == (480, 1680, 3) and (result.page.width, result.page.height) == (1680, 480)
    patch = result.patches[0]
    assert patch.image.shape == (*patch.mask.shape, 3)
    # Inside the line the page holds the restorer's crop warped once at 4x ...
    inner = feather_mask(patch.mask, patch.text_height) >= 1.0
    x0, y0, x1, y1 = patch.bbox
    assert np.abs(result.image[y0:y1, x0:x1][inner].astype(int) - patch.image[inner]).max() <= 1
    # ... which is not what shrinking it to the crop and enlarging that would give.
    shrunk = cv2.resize(work.restored_crop, (work.crop.shape[1], work.crop.shape[0]), interpolation=cv2.INTER_AREA)
    coarse = unrectify(shrunk, work.warp, scale=4)

    def detail(pixels: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), cv2.CV_32F))[inner].mean())

    assert detail(patch.image) > 2 * detail(coarse.image), "the 4x page keeps detail the crop size cannot hold"
