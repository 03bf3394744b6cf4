"""Exporters: JSON round trip, hOCR and ALTO validity and values, plain text, preview, report."""

from __future__ import annotations

import base64
import json
import re

import cv2
import numpy as np
import pytest
from lxml import etree

from difftsr_ocr.export import (
    ExportError,
    ReportItem,
    before_after_preview,
    disagreement_report,
    document_from_json,
    document_to_alto,
    document_to_hocr,
    document_to_json,
    document_to_text,
    page_to_alto,
)
from difftsr_ocr.export.layout import line_frame, word_layout
from difftsr_ocr.export.preview import DECISION_COLOURS, MAX_PREVIEW_WIDTH
from difftsr_ocr.results import Block, Document, Evidence, Line, Page, Reading
from tests.validators import alto_schema, hocr_errors

ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
XHTML = "{http://www.w3.org/1999/xhtml}"

SKEWED = Line(
    polygon=[[40.5, 120.0], [360.0, 140.0], [358.0, 180.0], [38.0, 160.0]],
    text='Ünïcödé "quotes" <b>&amp;',
    confidence=0.5,
    readings=[
        Reading("ocr_original", "Unicode <quotes>", 0.41),
        Reading("ocr_restored", 'Ünïcödé "quotes" <b>&amp;', 0.88),
        Reading("difftsr", "Ünïcödé quotes", 0.62),
    ],
    decision="kept_original",
    reason="restored reading changed 3 characters",
    disagreements=["ocr_restored: ï"],
    evidence=Evidence(original_log_ratio=-3.25, restored_log_ratio=-11.5, inconsistency=2.125, changed=3),
)
# A vertical column as results store it: the ring starts at the page top-right, so the
# first edge runs down the page (the reading direction after the upright turn).
VERTICAL = Line(polygon=[[620.0, 20.0], [620.0, 300.0], [590.0, 300.0], [590.0, 20.0]], text="縦書き", vertical=True)


def _document() -> Document:
    first = Page(
        width=640,
        height=480,
        source="scans/página 1 <&>.png",
        index=0,
        restorer="difftsr",
        gate="safe",
        blocks=[
            Block(
                [
                    Line(
                        [[20.0, 20.0], [220.0, 20.0], [220.0, 60.0], [20.0, 60.0]],
                        "Hello world & <friends>",
                        0.93,
                        [Reading("ocr_original", "Hello world", 0.9)],
                        "restored",
                        "readings agree",
                    ),
                    SKEWED,
                    Line([[20.0, 200.0], [300.0, 200.0], [300.0, 240.0], [20.0, 240.0]], "漢字かな交じり文", 0.77),
                ]
            ),
            Block([VERTICAL]),
            Block(
                [
                    Line([[20.0, 260.0], [120.0, 260.0], [120.0, 280.0], [20.0, 280.0]], "", 0.0),
                    Line([[-15.0, 400.0], [700.0, 400.0], [700.0, 470.0], [-15.0, 470.0]], "off the page edge", 1.0),
                ]
            ),
        ],
    )
    curved = [[10.0, 10.0], [50.0, 5.0], [90.0, 10.0], [90.0, 30.0], [50.0, 25.0], [10.0, 30.0]]
    return Document(
        pages=[
            first,
            Page(width=100, height=50, index=1),
            Page(
                width=100, height=40, index=2, blocks=[Block([Line(curved, "curved line", 0.25, decision="restored")])]
            ),
        ],
        metadata={"job": "test", "steps": 20},
    )


# --- JSON ---------------------------------------------------------------------------


def test_json_round_trip_is_exact_and_tagged() -> None:
    doc = _document()
    text = document_to_json(doc)
    assert document_from_json(text) == doc
    assert document_from_json(text.encode("utf-8")) == doc
    data = json.loads(text)
    assert (data["format"], data["version"]) == ("difftsr-ocr.document", 2)
    assert "漢字かな交じり文" in text, "CJK must stay readable, not \\u-escaped"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"pages": []}', "not a difftsr-ocr results file"),
        ('{"format": "difftsr-ocr.document", "version": 3, "document": {}}', "version 3 is not supported"),
        ('{"format": "difftsr-ocr.document", "version": true, "document": {}}', "version True"),
        ('{"format": "difftsr-ocr.document", "version": 1, "document": {"pages": [{"width": 1}]}}', "malformed"),
        ('{"format": "difftsr-ocr.document", "version": 1, "document": {"pagez": []}}', "unknown key(s) pagez"),
        ('{"format": "difftsr-ocr.document", "version": 1, "document": {}, "extra": 1}', "top-level key(s) extra"),
    ],
)
def test_json_reader_rejects_with_one_line(text: str, fragment: str) -> None:
    with pytest.raises(ExportError) as caught:
        document_from_json(text)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_json_of_version_1_reads_each_page_as_one_block() -> None:
    # Version 1 pages held their lines directly; what such a file says must survive.
    doc = _document()
    body = doc.to_dict()
    for page in body["pages"]:
        page["lines"] = [line for block in page.pop("blocks") for line in block["lines"]]
    text = json.dumps({"format": "difftsr-ocr.document", "version": 1, "document": body})
    read = document_from_json(text)
    assert [len(page.blocks) for page in read.pages] == [1, 0, 1]
    assert [page.lines for page in read.pages] == [page.lines for page in doc.pages]


def test_json_reader_rejects_a_block_without_lines_in_one_line() -> None:
    text = '{"format": "difftsr-ocr.document", "version": 2, "document": {"pages": [{"width": 1, "height": 1, "blocks": [{"lines": []}]}]}}'
    with pytest.raises(ExportError, match="malformed results file: a block must hold at least one line"):
        document_from_json(text)
    with pytest.raises(ValueError, match="at least one line"):
        Block([])


def test_page_lines_run_through_its_blocks_in_order() -> None:
    page = _document().pages[0]
    assert page.lines == [line for block in page.blocks for line in block.lines]
    assert page.text.splitlines()[0] == "Hello world & <friends>"
    assert page.blocks[1].bbox == (590.0, 20.0, 620.0, 300.0)
    assert page.counts()["restored"] == 1


def test_json_refuses_nan_instead_of_writing_invalid_json() -> None:
    doc = Document([Page(10, 10, [Block([Line([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], "x", float("nan"))])])])
    with pytest.raises(ValueError, match="JSON"):
        document_to_json(doc)


# --- word geometry ------------------------------------------------------------------


def test_word_boxes_split_the_line_in_proportion_to_characters() -> None:
    line = Line([[0.0, 0.0], [100.0, 0.0], [100.0, 10.0], [0.0, 10.0]], "ab cd")
    words, gaps = word_layout(line, 200, 100)
    assert [(w.text, w.box.x0, w.box.x1) for w in words] == [("ab", 0, 40), ("cd", 60, 100)]
    assert [(g.x0, g.x1) for g in gaps] == [(40, 60)]
    assert all((w.box.y0, w.box.y1) == (0, 10) for w in words)


def test_vertical_words_run_down_the_page() -> None:
    line = Line(VERTICAL.polygon, "ab cd", vertical=True)
    assert line_frame(line.polygon).angle == pytest.approx(-90.0)
    words, _ = word_layout(line, 640, 480)
    assert [(w.box.y0, w.box.y1) for w in words] == [(20, 132), (188, 300)]
    assert all((w.box.x0, w.box.x1) == (590, 620) for w in words)


# --- hOCR ---------------------------------------------------------------------------


def _props(title: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in title.split(";"))


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split()]


def test_hocr_passes_the_hocr_spec_validator() -> None:
    assert hocr_errors(document_to_hocr(_document())) == []


def test_hocr_structure_and_values() -> None:
    doc = _document()
    root = etree.fromstring(document_to_hocr(doc).encode("utf-8"))  # well-formed XML, i.e. valid XHTML syntax
    metas = {m.get("name"): m.get("content") for m in root.iter(f"{XHTML}meta") if m.get("name")}
    assert [m.get("name") for m in root.iter(f"{XHTML}meta")].count("ocr-system") == 1
    assert metas["ocr-system"].startswith("difftsr-ocr ")
    assert set(metas["ocr-capabilities"].split()) >= {"ocr_page", "ocr_line", "ocrx_word"}
    assert metas["ocr-number-of-pages"] == "3"

    pages = root.findall(f".//{XHTML}div[@class='ocr_page']")
    assert len(pages) == 3
    for element, page in zip(pages, doc.pages, strict=True):
        props = _props(element.get("title"))
        assert _ints(props["bbox"]) == [0, 0, page.width, page.height]
        assert props["ppageno"] == str(page.index)
        assert ("image" in props) == (page.source is not None)
        lines = element.findall(f".//{XHTML}span[@class='ocr_line']")
        assert len(lines) == len(page.lines)
        for span, line in zip(lines, page.lines, strict=True):
            line_props = _props(span.get("title"))
            x0, y0, x1, y1 = _ints(line_props["bbox"])
            assert 0 <= x0 <= x1 <= page.width and 0 <= y0 <= y1 <= page.height
            assert line_props["x_difftsr_decision"] == line.decision
            assert line_props["x_wconf"] == str(round(line.confidence * 100))
            words = span.findall(f"{XHTML}span[@class='ocrx_word']")
            assert [w.text for w in words] == line.text.split()
            for word in words:
                wx0, wy0, wx1, wy1 = _ints(_props(word.get("title"))["bbox"])
                assert x0 <= wx0 <= wx1 <= x1 and y0 <= wy0 <= wy1 <= y1

    first = _props(pages[0].get("title"))
    assert first["image"] == '"scans/página 1 <&>.png"'
    spans = pages[0].findall(f".//{XHTML}span[@class='ocr_line']")
    skewed, vertical, clipped = (_props(spans[i].get("title")) for i in (1, 3, 5))
    assert float(skewed["baseline"].split()[0]) == pytest.approx(20 / 319.5, abs=1e-3)
    assert "textangle" not in skewed
    assert vertical["textangle"] == "270" and "baseline" not in vertical
    assert _ints(clipped["bbox"]) == [0, 400, 640, 470]


def test_hocr_writes_a_content_area_and_paragraph_per_block() -> None:
    doc = _document()
    root = etree.fromstring(document_to_hocr(doc).encode("utf-8"))
    for element, page in zip(root.findall(f".//{XHTML}div[@class='ocr_page']"), doc.pages, strict=True):
        areas = element.findall(f"{XHTML}div[@class='ocr_carea']")
        assert len(areas) == len(page.blocks)
        for area, block in zip(areas, page.blocks, strict=True):
            (paragraph,) = area.findall(f"{XHTML}p[@class='ocr_par']")
            assert paragraph.get("title") == area.get("title")
            spans = paragraph.findall(f"{XHTML}span[@class='ocr_line']")
            assert [" ".join(w.text for w in span) for span in spans] == [
                " ".join(li.text.split()) for li in block.lines
            ]
            x0, y0, x1, y1 = _ints(_props(area.get("title"))["bbox"])
            for span in spans:
                lx0, ly0, lx1, ly1 = _ints(_props(span.get("title"))["bbox"])
                assert x0 <= lx0 <= lx1 <= x1 and y0 <= ly0 <= ly1 <= y1
            assert min(_ints(_props(s.get("title"))["bbox"])[0] for s in spans) == x0
    ids = [span.get("id") for span in root.iter(f"{XHTML}span") if span.get("class") == "ocr_line"]
    assert ids[:6] == [f"line_1_{n}" for n in range(1, 7)], "lines are numbered through the page"
    assert len(set(ids)) == len(ids)


def test_hocr_page_numbers_are_left_out_when_not_unique() -> None:
    doc = Document([Page(10, 10, index=3), Page(10, 10, index=3)])
    assert "ppageno" not in document_to_hocr(doc)


def test_layout_formats_refuse_a_document_without_pages() -> None:
    for writer in (document_to_hocr, document_to_alto):
        with pytest.raises(ExportError, match="no pages"):
            writer(Document())


# --- ALTO ---------------------------------------------------------------------------


def test_alto_validates_against_the_official_schema() -> None:
    schema, version = alto_schema()
    # 4.4 only adds optional Page attributes (LANG, ROTATION, OTHERLANGS) we do not write,
    # so a file valid under 4.3 is valid under 4.4.
    assert version in ("4.3", "4.4")
    for text in (document_to_alto(_document()), page_to_alto(_document().pages[1])):
        root = etree.fromstring(text.encode("utf-8"))
        assert schema.validate(root), str(schema.error_log)


def test_alto_structure_and_values() -> None:
    doc = _document()
    root = etree.fromstring(document_to_alto(doc).encode("utf-8"))
    assert root.tag == f"{ALTO}alto" and root.get("SCHEMAVERSION") == "4.4"
    assert root.findtext(f"{ALTO}Description/{ALTO}MeasurementUnit") == "pixel"
    assert root.find(f".//{ALTO}sourceImageInformation") is None, "pages come from different sources"
    tags = {t.get("ID"): t.get("LABEL") for t in root.iter(f"{ALTO}OtherTag")}

    pages = root.findall(f"{ALTO}Layout/{ALTO}Page")
    assert [(p.get("PHYSICAL_IMG_NR"), p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == [
        ("1", "640", "480"),
        ("2", "100", "50"),
        ("3", "100", "40"),
    ]
    for element, page in zip(pages, doc.pages, strict=True):
        lines = element.findall(f".//{ALTO}TextLine")
        assert len(lines) == len(page.lines)
        for text_line, line in zip(lines, page.lines, strict=True):
            assert tags[text_line.get("TAGREFS")] == line.decision
            strings = text_line.findall(f"{ALTO}String")
            assert " ".join(s.get("CONTENT") for s in strings) == " ".join(line.text.split())
            assert len(text_line.findall(f"{ALTO}SP")) == max(len(strings) - 1, 0)
            for node in [text_line, *strings]:
                x, y, w, h = (int(node.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
                assert x >= 0 and x + w <= page.width and y >= 0 and y + h <= page.height
            assert [float(s.get("WC")) for s in strings] == pytest.approx([line.confidence] * len(strings))

    first_lines = pages[0].findall(f".//{ALTO}TextLine")
    assert first_lines[0].find(f"{ALTO}Shape") is None, "an upright rectangle needs no polygon"
    points = first_lines[1].find(f"{ALTO}Shape/{ALTO}Polygon").get("POINTS")
    assert points == "40,120 360,140 358,180 38,160"
    assert first_lines[3].get("BASEDIRECTION") == "ttb" and first_lines[0].get("BASEDIRECTION") is None
    assert first_lines[4].find(f"{ALTO}String").get("CONTENT") == "", "a line without text keeps its geometry"


def test_alto_writes_a_text_block_per_block_around_its_lines() -> None:
    doc = _document()
    root = etree.fromstring(document_to_alto(doc).encode("utf-8"))
    for element, page in zip(root.findall(f"{ALTO}Layout/{ALTO}Page"), doc.pages, strict=True):
        text_blocks = element.findall(f"{ALTO}PrintSpace/{ALTO}TextBlock")
        assert len(text_blocks) == len(page.blocks)
        for text_block, block in zip(text_blocks, page.blocks, strict=True):
            lines = text_block.findall(f"{ALTO}TextLine")
            assert len(lines) == len(block.lines)
            bx, by, bw, bh = (int(text_block.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
            for line in lines:
                x, y, w, h = (int(line.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
                assert bx <= x and x + w <= bx + bw and by <= y and y + h <= by + bh
    ids = [line.get("ID") for line in root.iter(f"{ALTO}TextLine")]
    assert len(set(ids)) == len(ids)


def test_alto_names_the_source_image_of_a_single_page() -> None:
    root = etree.fromstring(page_to_alto(_document().pages[0]).encode("utf-8"))
    assert root.findtext(f".//{ALTO}sourceImageInformation/{ALTO}fileName") == "scans/página 1 <&>.png"


# --- plain text ---------------------------------------------------------------------


def test_text_is_one_line_per_line_and_a_blank_line_between_pages() -> None:
    line = Line([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    doc = Document(
        [
            Page(10, 10, [Block([Line(line.polygon, "first")]), Block([Line(line.polygon, "two\nparts")])]),
            Page(10, 10),
            Page(10, 10, [Block([Line(line.polygon, "漢字")])]),
        ]
    )
    assert document_to_text(doc) == "first\ntwo parts\n\n\n\n漢字\n"
    assert document_to_text(Document()) == ""


# --- preview and report -------------------------------------------------------------


def _panel_pixel(image: np.ndarray, page: Page, panel: int, x: float, y: float, scale: float = 1.0) -> tuple:
    width = int(page.width * scale)
    top = image.shape[0] - int(page.height * scale)
    left = 0 if panel == 0 else image.shape[1] - width
    return tuple(int(v) for v in image[top + round(y * scale), left + round(x * scale)])


def test_preview_places_both_pages_and_colours_lines_by_decision() -> None:
    page = _document().pages[0]
    original = np.full((480, 640, 3), 90, np.uint8)
    restored = np.full((480, 640), 200, np.uint8)  # grayscale is accepted
    image = before_after_preview(original, restored, page)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert 2 * 640 < image.shape[1] <= 2 * 640 + 32 and 480 < image.shape[0] <= 480 + 80
    assert _panel_pixel(image, page, 0, 400, 300) == (90, 90, 90)
    assert _panel_pixel(image, page, 1, 400, 300) == (200, 200, 200)
    for panel in (0, 1):
        assert _panel_pixel(image, page, panel, 120, 20) == DECISION_COLOURS["restored"]
        assert _panel_pixel(image, page, panel, 20, 220) == DECISION_COLOURS["not_restored"]
        assert _panel_pixel(image, page, panel, 200, 130) == DECISION_COLOURS["kept_original"]


def test_preview_of_a_big_page_is_shrunk_but_keeps_outlines() -> None:
    page = Page(4000, 3000, [Block([Line([[400.0, 400.0], [3600.0, 400.0], [3600.0, 600.0], [400.0, 600.0]], "x")])])
    page.lines[0].decision = "kept_original"
    image = before_after_preview(np.zeros((3000, 4000, 3), np.uint8), np.zeros((3000, 4000, 3), np.uint8), page)
    assert image.shape[1] <= MAX_PREVIEW_WIDTH
    scale = (image.shape[1] - 8) / 8000
    assert _panel_pixel(image, page, 1, 2000, 400, scale) == DECISION_COLOURS["kept_original"]


def test_preview_rejects_images_that_are_not_the_page() -> None:
    page = Page(64, 32)
    good = np.zeros((32, 64, 3), np.uint8)
    with pytest.raises(Exception, match="64x32"):
        before_after_preview(np.zeros((30, 64, 3), np.uint8), good, page)
    with pytest.raises(Exception, match="uint8"):
        before_after_preview(good.astype(np.float32), good, page)


def _decode(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_report_shows_crops_readings_and_reason() -> None:
    original = np.zeros((12, 40, 3), np.uint8)
    original[:, :, 0] = 255  # pure red: a channel swap would show up as blue
    restored = np.full((12, 40), 128, np.uint8)
    items = [
        ReportItem(SKEWED, original, restored, page_index=0, line_index=1),
        ReportItem(Line([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], "x"), original, None, page_index=2, line_index=0),
    ]
    html = disagreement_report(items)
    assert html.count("<section") == 2 and "Page 1, line 2" in html and "Page 3, line 1" in html
    assert "Unicode &lt;quotes&gt;" in html and "41%" in html
    assert "Ünïcödé &quot;quotes&quot; &lt;b&gt;&amp;amp;" in html and "88%" in html
    assert "Ünïcödé quotes" in html and "62%" in html
    assert "restored reading changed 3 characters" in html and "ocr_restored: ï" in html
    assert "original crop -3.25" in html and "restored crop -11.50" in html, "the gate's evidence is shown"
    assert "pixel inconsistency 2.12" in html
    assert "<b>" not in html.replace("<b>Ünïcödé", "").replace("<b>x</b>", ""), "reading text must be escaped"
    uris = re.findall(r'src="(data:image/png;base64,[^"]+)"', html)
    assert len(uris) == 3, "two crops for the first item, one for the unrestored second"
    first, second = _decode(uris[0]), _decode(uris[1])
    assert first.shape == (12, 40, 3) and tuple(first[0, 0]) == (255, 0, 0)
    assert tuple(second[5, 5]) == (128, 128, 128)
    assert "not restored" in html and "none" in html
    assert "http" not in html, "the report must be self-contained"
    assert html.count('type="range"') == 1, "a before/after slider where there are two crops to compare"


def test_report_without_items_says_so() -> None:
    assert "No flagged lines." in disagreement_report([])
