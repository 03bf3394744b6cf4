"""Upside-down text through the whole pipeline: read upright, pasted back as it stands on the page."""

from __future__ import annotations

import numpy as np
import pytest

from difftsr_ocr.config import config_from_dict
from difftsr_ocr.detect.ppocr import PPOCRDetector
from difftsr_ocr.evaluation.metrics import assign_texts, text_score
from difftsr_ocr.evaluation.synthetic.degradation import apply_degradation
from difftsr_ocr.evaluation.synthetic.render import render_lines
from difftsr_ocr.evaluation.synthetic.variants import _turned_in_place
from difftsr_ocr.pipeline import Pipeline
from difftsr_ocr.recognize.ppocr import PPOCRRecognizer
from difftsr_ocr.recognize.ppocr_orientation import PPOCROrientationClassifier
from tests.layouts import MILD_SCAN, STANDARD_LAYOUT, crop_line, standard_page
from tests.pipeline.stubs import IdentityRestorer


@pytest.fixture(scope="module")
def classifier() -> PPOCROrientationClassifier:
    return PPOCROrientationClassifier(threads=2)


@pytest.fixture(scope="module")
def pipeline(classifier: PPOCROrientationClassifier) -> Pipeline:
    # The gate pastes every line, so the composite shows where each crop went.
    config = config_from_dict({"device": "cpu", "gate": {"policy": "always"}})
    return Pipeline(
        PPOCRDetector(threads=2), PPOCRRecognizer(threads=2), IdentityRestorer(), config, orientation=classifier
    )


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return apply_degradation(standard_page()[0], MILD_SCAN, seed=0)


def test_the_classifier_tells_which_way_up_a_line_reads(classifier: PPOCROrientationClassifier) -> None:
    image, lines = standard_page()
    crops = [crop_line(image, line.polygon) for line in lines if line.kind == "horizontal"]
    upright = classifier.upside_down(crops)
    turned = classifier.upside_down([np.ascontiguousarray(c[::-1, ::-1]) for c in crops])
    assert max(upright) < 0.5 < min(turned)


def test_a_page_turned_180_degrees_gives_the_upright_results_turned(pipeline: Pipeline, page: np.ndarray) -> None:
    upright = pipeline(page)
    turned = pipeline(np.ascontiguousarray(page[::-1, ::-1]))
    assert [line.text for line in turned.page.lines] == [line.text for line in upright.page.lines]
    corner = np.array([page.shape[1], page.shape[0]])
    for a, b in zip(upright.page.lines, turned.page.lines, strict=True):
        # Each polygon starts at the text's top-left as it reads: the upright one's, turned.
        np.testing.assert_allclose(corner - np.array(b.polygon), np.array(a.polygon), atol=1e-3)
    # The restored pixels land where the lines stand on the turned page.
    np.testing.assert_array_equal(turned.image[::-1, ::-1], upright.image)


def test_lines_turned_in_place_read_as_upright_and_stay_where_they_were(pipeline: Pipeline) -> None:
    specs = [_turned_in_place(spec) if index in (1, 3) else spec for index, spec in enumerate(STANDARD_LAYOUT)]
    clean, lines = render_lines(specs)
    image = apply_degradation(clean, MILD_SCAN, seed=0)
    result = pipeline(image)
    texts = assign_texts(
        [(np.asarray(line.polygon), line.text) for line in result.page.lines], [t.polygon for t in lines]
    )
    score = text_score([texts[1], texts[3]], [lines[1].text, lines[3].text])
    assert score.cer <= 0.05, texts
    # The identity restorer's pixels went back the page's way up: the page is as it was.
    assert np.abs(result.image.astype(int) - image.astype(int)).mean() < 1.0
    without = Pipeline(pipeline.detector, pipeline.recognizer, None, pipeline.config)(image).page.lines
    read = [(np.asarray(line.polygon), line.text) for line in without]
    texts_without = assign_texts(read, [t.polygon for t in lines])
    assert text_score([texts_without[1], texts_without[3]], [lines[1].text, lines[3].text]).cer > 0.5
