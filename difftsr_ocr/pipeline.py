"""The page pipeline: detect, rectify, restore in batches, recognise, gate, composite, merge.

``Pipeline`` composes stages it is given (docTR style): any detector, recogniser and
restorer that follow the protocols in ``detect/``, ``recognize/`` and ``restore/``.
:func:`build_pipeline` is the one place where a :class:`PipelineConfig` becomes
concrete classes.

A page runs in three phases so that batch jobs can pool the crops of many pages into
full restorer batches: :meth:`Pipeline.prepare` (detection, rectification, reading the
original), :meth:`Pipeline.restore` (all chunks of all given pages in one restorer call,
then reading each page's restored crops on their own), :meth:`Pipeline.finish` (gate, composite, merge).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from difftsr_ocr.config import PipelineConfig
from difftsr_ocr.detect.base import Detector, TextRegion
from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.export.preview import ReportItem
from difftsr_ocr.gate import decide, weigh_evidence
from difftsr_ocr.geometry.chunks import Chunk, plan_chunks, split_crop, stitch_chunks
from difftsr_ocr.geometry.composite import composite
from difftsr_ocr.geometry.curves import region_from_outline
from difftsr_ocr.geometry.layout import arrange_lines
from difftsr_ocr.geometry.polygons import is_vertical, pad_polygon, upright_polygon
from difftsr_ocr.geometry.rectify import (
    LineWarp,
    Patch,
    rectify_line,
    turn_over,
    turned_page_warp,
    unrectify,
    upright_column,
)
from difftsr_ocr.imageio import PageImage, load_image, page_from_array
from difftsr_ocr.merge import join_chunk_texts, merge_readings, same_reading
from difftsr_ocr.recognize.base import Recognition, Recognizer
from difftsr_ocr.recognize.ctc import CTCFrames
from difftsr_ocr.recognize.orientation import OrientationClassifier, orient_lines
from difftsr_ocr.recognize.restored import read_restored
from difftsr_ocr.restore.background import BackgroundUpscaler, LanczosUpscaler
from difftsr_ocr.restore.base import ProgressCallback, RestoredCrop, Restorer
from difftsr_ocr.results import Block, Evidence, Line, Page, Reading

__all__ = ["LineWork", "PageResult", "Pipeline", "PreparedPage", "build_pipeline", "crop_seed"]

logger = logging.getLogger(__name__)

# Characters per line height of width, for chunk planning when a line has no reading.
_CHARS_PER_HEIGHT = 2.0
# How far a quad's corners may sit from its bounding box to be cut as that box: this many
# page pixels, or this fraction of the box's short side when that is more.
_SNAP_TOLERANCE_PX = 2.0
_SNAP_TOLERANCE_FRACTION = 0.1


def crop_seed(seed: int, page: int, line: int, chunk: int) -> int:
    """The seed of one chunk: the same crop gets the same noise whatever batch it lands in."""
    return int(np.random.SeedSequence([seed, page, line, chunk]).generate_state(1, dtype=np.uint32)[0])


@dataclasses.dataclass
class LineWork:
    """One line between the phases: where it is, its crop and chunks, and its readings so far.

    ``original_frames`` / ``restored_frames`` are the recogniser's per-frame evidence on
    the original and the restored crop, which the trust gate weighs a changed reading by.
    """

    region: TextRegion
    warp: LineWarp
    crop: np.ndarray
    vertical: bool
    original: Reading
    chunks: list[Chunk]
    original_frames: CTCFrames | None = None
    restored_crop: np.ndarray | None = None
    restored: Reading | None = None
    restored_frames: CTCFrames | None = None
    transcript: Reading | None = None
    skipped: str | None = None


@dataclasses.dataclass
class PreparedPage:
    """A page between the phases; ``timings`` accumulates seconds per stage.

    ``lines`` are in reading order, block after block; ``block_sizes`` says how many
    lines each block takes, in the same order.
    """

    image: PageImage
    index: int
    lines: list[LineWork]
    timings: dict[str, float]
    block_sizes: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class PageResult:
    """One processed page: its results, the restored image (upright RGB), and what a person may check.

    ``patches`` are the restored lines as they were blended into ``image`` (page pixels,
    in line order, accepted lines only), for measuring or re-compositing them.
    """

    page: Page
    image: np.ndarray
    original: PageImage
    report_items: list[ReportItem]
    timings: dict[str, float]
    patches: list[Patch] = dataclasses.field(default_factory=list)


class _Timer:
    def __init__(self, timings: dict[str, float], stage: str) -> None:
        self.timings, self.stage = timings, stage

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + time.perf_counter() - self.start


class Pipeline:
    """Restores the text lines of pages and reads them; stages are passed in, already built."""

    def __init__(
        self,
        detector: Detector,
        recognizer: Recognizer,
        restorer: Restorer | None,
        config: PipelineConfig | None = None,
        upscaler: BackgroundUpscaler | None = None,
        orientation: OrientationClassifier | None = None,
    ) -> None:
        self.detector = detector
        self.recognizer = recognizer
        self.restorer = restorer
        self.config = config or PipelineConfig()
        # What paints the page under the lines at an output scale > 1.
        self.upscaler = upscaler or LanczosUpscaler()
        # Finds upside-down lines (None: every line is taken to read the right way up).
        self.orientation = orientation

    def __call__(
        self,
        image: PageImage | np.ndarray | str | os.PathLike[str],
        index: int = 0,
        on_progress: ProgressCallback | None = None,
    ) -> PageResult:
        """Run one page end to end; ``on_progress`` follows the restorer's work."""
        prepared = self.prepare(image, index)
        self.restore([prepared], on_progress)
        return self.finish(prepared)

    def process(
        self,
        images: Sequence[PageImage | np.ndarray | str | os.PathLike[str]],
        on_progress: ProgressCallback | None = None,
    ) -> list[PageResult]:
        """Several pages, their crops restored together in full batches."""
        prepared = [self.prepare(image, index) for index, image in enumerate(images)]
        self.restore(prepared, on_progress)
        return [self.finish(page) for page in prepared]

    # --- phase 1 -------------------------------------------------------------------------

    def prepare(self, image: PageImage | np.ndarray | str | os.PathLike[str], index: int = 0) -> PreparedPage:
        """Detect the lines, cut each into an upright crop, read it, and plan its chunks."""
        page_image = self._as_page_image(image)
        timings: dict[str, float] = {}
        cuts, readings, block_sizes = self._read_lines(page_image.pixels, timings, may_turn_page=True)
        lines = [self._plan_line(cut, reading) for cut, reading in zip(cuts, readings, strict=True)]
        return PreparedPage(image=page_image, index=index, lines=lines, timings=timings, block_sizes=block_sizes)

    def _as_page_image(self, image: PageImage | np.ndarray | str | os.PathLike[str]) -> PageImage:
        if isinstance(image, PageImage):
            return image
        if isinstance(image, np.ndarray):
            return page_from_array(image)
        return load_image(Path(image), max_pixels=self.config.max_image_pixels)

    def _cut_line(self, pixels: np.ndarray, region: TextRegion) -> _LineCut | None:
        """The line's upright crop, or None (logged) for a region no line can be cut from.

        Vertical lines are cut as ``lines.vertical_layout`` says; ``auto`` cuts them
        turned 90 degrees first (see :meth:`_columns_read_upright_if_better`).
        """
        size = (pixels.shape[1], pixels.shape[0])
        polygon = region.polygon
        if len(polygon) < 4 or len(polygon) % 2:
            # An outline rather than a line polygon (another detector's): its quad or bent line.
            polygon = region_from_outline(polygon, pixels)
        try:
            if polygon is None:
                raise InputImageError("it has no area")
            region = dataclasses.replace(region, polygon=polygon)
            padded = pad_polygon(region.polygon, size, along=self.config.lines.pad_x, across=self.config.lines.pad_y)
            upright_columns = self.config.lines.vertical_layout == "upright"
            crop, warp = rectify_line(pixels, _snap_to_pixels(padded, size), upright_columns=upright_columns)
        except InputImageError as error:
            logger.warning("skipped a detected region at %s: %s", np.round(region.polygon).tolist(), error)
            return None
        return _LineCut(region, crop, warp, is_vertical(region.polygon))

    def _read_lines(
        self, pixels: np.ndarray, timings: dict[str, float], *, may_turn_page: bool
    ) -> tuple[list[_LineCut], list[Recognition], tuple[int, ...]]:
        """Detect, cut, order and read the lines, each the right way up (see :mod:`.recognize.orientation`).

        Returns the cuts and readings in reading order and the sizes of the page's blocks
        (consecutive runs of those lines). Lines take their reading order before they are
        read, so line numbers (crop seeds, report cards, result lines) all count in the
        order the page is read. Lines standing on their heads are turned over (read and
        restored upright, pasted back through their warp as they stand). A page whose lines
        mostly stand on their heads is a page turned 180 degrees: it is read again turned
        upright, so that it is detected, ordered and read exactly as the upright page would
        be, and its lines are mapped back onto the page as it stands.
        """
        with _Timer(timings, "detect"):
            regions = self.detector.detect(pixels)
        with _Timer(timings, "rectify"):
            cuts = [cut for region in regions if (cut := self._cut_line(pixels, region)) is not None]
            layout = arrange_lines([cut.region.polygon for cut in cuts])
            cuts = [cuts[index] for index in layout.order]
            block_sizes = tuple(len(block) for block in layout.blocks)
        with _Timer(timings, "recognize"):
            readings = self.recognizer.recognize([cut.crop for cut in cuts]) if cuts else []
            if self.config.lines.vertical_layout == "auto":
                cuts, readings = self._columns_read_upright_if_better(cuts, readings)
        if self.orientation is None or not cuts:
            return cuts, readings, block_sizes
        with _Timer(timings, "orient"):
            verdict = orient_lines(
                [cut.crop for cut in cuts],
                readings,
                self.orientation,
                self.recognizer,
                self.config.orientation.threshold,
            )
        if verdict.page_upside_down and may_turn_page:
            upright = np.ascontiguousarray(pixels[::-1, ::-1])
            cuts, readings, block_sizes = self._read_lines(upright, timings, may_turn_page=False)
            return [_cut_on_turned_page(cut) for cut in cuts], readings, block_sizes
        turned = [
            cut._replace(**dict(zip(("crop", "warp"), turn_over(cut.crop, cut.warp), strict=True))) if flag else cut
            for cut, flag in zip(cuts, verdict.upside_down, strict=True)
        ]
        return turned, verdict.readings, block_sizes

    def _columns_read_upright_if_better(
        self, cuts: list[_LineCut], readings: list[Recognition]
    ) -> tuple[list[_LineCut], list[Recognition]]:
        """Vertical lines laid out again with their characters upright, kept where that reads more confidently.

        A CJK column reads best as its characters set upright side by side; a line of
        Latin text on a page scanned sideways reads best turned 90 degrees (laid out
        upright, it would be cut letter by letter). The recogniser's confidence tells the
        two apart.
        """
        upright = {
            number: cut._replace(**dict(zip(("crop", "warp"), upright_column(cut.crop, cut.warp), strict=True)))
            for number, cut in enumerate(cuts)
            if cut.warp.rotated and cut.warp.strip is None
        }
        if not upright:
            return cuts, readings
        cuts, readings = list(cuts), list(readings)
        second = self.recognizer.recognize([cut.crop for cut in upright.values()])
        for (number, cut), reading in zip(upright.items(), second, strict=True):
            if reading.confidence > readings[number].confidence:
                cuts[number], readings[number] = cut, reading
        return cuts, readings

    def _plan_line(self, cut: _LineCut, reading: Recognition) -> LineWork:
        height, width = cut.crop.shape[:2]
        chunks = plan_chunks(
            width,
            height,
            max_aspect=self.config.lines.max_aspect,
            max_chars=self.config.lines.max_chars,
            text_length=len(reading.text) or None,
            chars_per_height=_CHARS_PER_HEIGHT,
            overlap=self.config.lines.chunk_overlap,
        )
        original = Reading("ocr_original", reading.text, reading.confidence)
        return LineWork(cut.region, cut.warp, cut.crop, cut.vertical, original, chunks, reading.frames)

    # --- phase 2 -------------------------------------------------------------------------

    def restore(self, pages: Sequence[PreparedPage], on_progress: ProgressCallback | None = None) -> None:
        """Restore every chunk of every line of ``pages`` in one restorer call, then read each page's results."""
        if self.restorer is None:
            return
        crops, seeds = self._chunk_crops(pages)
        results = _restore_crops(self.restorer, pages, crops, seeds, on_progress)
        lines = [line for page in pages for line in page.lines]
        for line, chunk_results in zip(lines, _split_by_line(results, lines), strict=True):
            _take_restoration(line, chunk_results)
        for page in pages:
            self._read_restorations(page)

    def _chunk_crops(self, pages: Sequence[PreparedPage]) -> tuple[list[np.ndarray], list[int]]:
        """Every chunk of every line in page and line order, each with its own seed."""
        crops, seeds = [], []
        for page in pages:
            for line_number, line in enumerate(page.lines):
                for chunk_number, chunk_crop in enumerate(split_crop(line.crop, line.chunks)):
                    crops.append(chunk_crop)
                    seeds.append(crop_seed(self.config.seed, page.index, line_number, chunk_number))
        return crops, seeds

    def _read_restorations(self, page: PreparedPage) -> None:
        # Page by page: the recogniser pads a batch to its widest crop, which moves readings
        # a little, so a page reads the same whichever pages it was restored with (or resumed after).
        # Pooling pages would save little anyway: on the CPU the cost follows the padded pixels
        # (benchmarks/rapidocr_cost.py: 5% less CPU pooled, and 8 of 71 readings changed).
        restored = [line for line in page.lines if line.restored_crop is not None]
        with _Timer(page.timings, "recognize"):
            readings = read_restored(
                self.recognizer,
                [line.crop for line in restored],
                [line.restored_crop for line in restored],
                [Recognition(line.original.text, line.original.confidence, line.original_frames) for line in restored],
            )
        for line, reading in zip(restored, readings, strict=True):
            line.restored = Reading("ocr_restored", reading.text, reading.confidence)
            line.restored_frames = reading.frames

    # --- phase 3 -------------------------------------------------------------------------

    def finish(self, prepared: PreparedPage) -> PageResult:
        """Gate each line, composite the accepted ones, and merge the readings into results."""
        scale = int(self.config.output_scale)
        with _Timer(prepared.timings, "merge"):
            judged = [self._line_result(work, scale) for work in prepared.lines]
            lines = [line for line, _ in judged]
            patches = _accepted_patches(prepared.lines, [accepted for _, accepted in judged], scale)
            report = _report_items(prepared, lines)
        with _Timer(prepared.timings, "composite"):
            image = self._composite(prepared.image.pixels, patches, scale)
        return PageResult(
            page=self._page(prepared, image, lines),
            image=image,
            original=prepared.image,
            report_items=report,
            timings=prepared.timings,
            patches=patches,
        )

    def _composite(self, pixels: np.ndarray, patches: list[Patch], scale: int) -> np.ndarray:
        canvas = self.upscaler.upscale(pixels, scale)
        return composite(canvas, patches, match_colors=self.config.lines.match_colors, in_place=True)

    def _page(self, prepared: PreparedPage, image: np.ndarray, lines: list[Line]) -> Page:
        return Page(
            width=image.shape[1],
            height=image.shape[0],
            blocks=_blocks(lines, prepared.block_sizes),
            source=prepared.image.source,
            index=prepared.index,
            restorer=self.restorer.name if self.restorer is not None else "none",
            gate=self.config.gate.policy,
        )

    def _line_result(self, work: LineWork, scale: int) -> tuple[Line, bool]:
        verdict = self._verdict(work)
        merged = merge_readings(verdict.chosen, verdict.others)
        polygon = _reading_polygon(work)
        line = Line(
            polygon=[[float(x), float(y)] for x, y in np.asarray(polygon, np.float64) * scale],
            text=merged.text,
            confidence=merged.confidence,
            readings=[work.original] + [r for r in (work.restored, work.transcript) if r is not None],
            decision=verdict.decision,
            reason=verdict.reason,
            vertical=work.vertical,
            chunks=len(work.chunks),
            disagreements=merged.disagreements,
            evidence=verdict.evidence,
        )
        return line, verdict.accepted

    def _verdict(self, work: LineWork) -> _Verdict:
        if work.restored is None:
            reason = work.skipped or ("no restorer" if self.restorer is None else "")
            return _Verdict("not_restored", reason, False, work.original, [])
        changed = not same_reading(work.restored.text, work.original.text)
        evidence = None
        if changed:
            evidence = weigh_evidence(
                work.original, work.restored, work.original_frames, work.restored_frames, work.crop, work.restored_crop
            )
        gate = decide(work.original, work.restored, work.transcript, evidence, self.config.gate)
        decision = "restored" if gate.restore else "kept_original"
        if gate.restore and changed:
            # Nothing hidden: an accepted change lists what the original reading said.
            return _Verdict(decision, gate.reason, True, work.restored, [work.original], evidence)
        # An unchanged reading keeps the original's spelling (whitespace, width forms):
        # the restored crops' reading depends on which crops shared its batch.
        others = [work.restored] if gate.restore else [r for r in (work.restored, work.transcript) if r is not None]
        return _Verdict(decision, gate.reason, gate.restore, work.original, others, evidence)


class _LineCut(NamedTuple):
    region: TextRegion
    crop: np.ndarray
    warp: LineWarp
    vertical: bool


@dataclasses.dataclass(frozen=True)
class _Verdict:
    """What the gate made of a line: which reading leads, which others it lists, and why."""

    decision: str
    reason: str
    accepted: bool
    chosen: Reading
    others: list[Reading]
    evidence: Evidence | None = None


@contextlib.contextmanager
def _pooled_timer(pages: Sequence[PreparedPage], stage: str) -> Iterator[None]:
    """Time a stage run for several pages at once and share the time out (not when it fails)."""
    started = time.perf_counter()
    yield
    _share_time(pages, stage, time.perf_counter() - started)


def _restore_crops(
    restorer: Restorer,
    pages: Sequence[PreparedPage],
    crops: list[np.ndarray],
    seeds: list[int],
    on_progress: ProgressCallback | None,
) -> list[RestoredCrop]:
    """One restorer call for the chunks of all ``pages``, its time shared among them."""
    with _pooled_timer(pages, "restore"):
        results = restorer.restore(crops, seeds=seeds, on_progress=on_progress) if crops else []
    if len(results) != len(crops):
        raise ValueError(f"restorer {restorer.name!r} returned {len(results)} results for {len(crops)} crops")
    return results


def _split_by_line(results: list[RestoredCrop], lines: list[LineWork]) -> list[list[RestoredCrop]]:
    """Results come back in crop order: each line's chunks are the next len(line.chunks)."""
    grouped, start = [], 0
    for line in lines:
        grouped.append(results[start : start + len(line.chunks)])
        start += len(line.chunks)
    return grouped


def _take_restoration(line: LineWork, chunk_results: list[RestoredCrop]) -> None:
    """Stitch a line's restored chunks back into one crop, and join the restorer's readings of them."""
    skipped = [r.skipped for r in chunk_results if r.skipped]
    if skipped:
        line.skipped = skipped[0]
        return
    images = [r.image for r in chunk_results]
    line.restored_crop = images[0] if len(images) == 1 else stitch_chunks(images, line.chunks, line.crop.shape[1])
    texts = [r.text for r in chunk_results]
    if any(texts):
        confidence = float(np.mean([r.confidence for r in chunk_results]))
        text = join_chunk_texts(texts, _overlap_chars(line))
        line.transcript = Reading(chunk_results[0].text_source, text, confidence)


def _accepted_patches(works: list[LineWork], accepted: list[bool], scale: int) -> list[Patch]:
    # The restorer's own resolution goes straight into the output page.
    return [
        unrectify(work.restored_crop, work.warp, scale=scale)
        for work, keep in zip(works, accepted, strict=True)
        if keep
    ]


def _report_items(prepared: PreparedPage, lines: list[Line]) -> list[ReportItem]:
    """The lines whose readings disagree, for a person to check."""
    return [
        ReportItem(line, work.crop, work.restored_crop, prepared.index, number)
        for number, (work, line) in enumerate(zip(prepared.lines, lines, strict=True))
        if line.disagreements
    ]


def _blocks(lines: list[Line], sizes: Sequence[int]) -> list[Block]:
    """``lines`` (in reading order) cut into consecutive blocks of the given sizes."""
    if sum(sizes) != len(lines):
        raise ValueError(f"blocks of {sum(sizes)} lines in all do not fit a page of {len(lines)} lines")
    ends = np.cumsum(sizes, dtype=int)
    return [Block(lines[end - size : end]) for size, end in zip(sizes, ends, strict=True)]


def _cut_on_turned_page(cut: _LineCut) -> _LineCut:
    """A line cut from the page turned 180 degrees, placed on the page as it stands (same crop)."""
    warp = turned_page_warp(cut.warp)
    width, height = warp.page_size
    region = dataclasses.replace(cut.region, polygon=np.array([width, height], np.float32) - cut.region.polygon)
    return cut._replace(region=region, warp=warp)


def _reading_polygon(line: LineWork) -> np.ndarray:
    """The line's polygon restarted at the top-left of its text as it reads (vertical or upside down)."""
    polygon = np.asarray(line.region.polygon, dtype=np.float64)
    if line.vertical:
        polygon = upright_polygon(polygon)
    # Half way round the ring is the same line turned 180 degrees.
    return np.roll(polygon, len(polygon) // 2, axis=0) if line.warp.upside_down else polygon


def _snap_to_pixels(polygon: np.ndarray, page_size: tuple[int, int]) -> np.ndarray:
    """A quad within a pixel or so of an axis-aligned box becomes that box, on whole pixels.

    Detectors return near-rectangles tilted by a fraction of a degree; cutting them as
    exact integer boxes makes rectification a plain copy, so pixels a restorer did not
    change come back bit-identical instead of twice resampled.
    """
    if len(polygon) != 4:
        return polygon
    x0, y0 = np.floor(polygon.min(axis=0))
    x1, y1 = np.ceil(polygon.max(axis=0))
    box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    tolerance = max(_SNAP_TOLERANCE_PX, _SNAP_TOLERANCE_FRACTION * min(x1 - x0, y1 - y0))
    if np.abs(polygon - box).max() > tolerance:
        return polygon
    width, height = page_size
    return np.clip(box, 0, [width, height])


def _overlap_chars(line: LineWork) -> int:
    """How many characters two neighbouring chunks of a line can both have read (an upper bound)."""
    if len(line.chunks) < 2:
        return 0
    shared = line.chunks[0].x1 - line.chunks[1].x0
    width = line.crop.shape[1]
    density = len(line.original.text) / width if line.original.text else _CHARS_PER_HEIGHT / line.crop.shape[0]
    return int(np.ceil(shared * density)) + 1


def _share_time(pages: Sequence[PreparedPage], stage: str, seconds: float) -> None:
    """Split a pooled stage's time over the pages in proportion to their line counts."""
    total = sum(len(page.lines) for page in pages) or 1
    for page in pages:
        page.timings[stage] = page.timings.get(stage, 0.0) + seconds * len(page.lines) / total


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def build_pipeline(config: PipelineConfig | None = None) -> Pipeline:
    """The one factory: configuration names become detector, recogniser and restorer objects."""
    config = config or PipelineConfig()
    from difftsr_ocr.runtime.onnx import ocr_device

    device = ocr_device(config.device)
    stages = {"detector": config.detector, "recognizer": config.recognizer}
    for name, stage in stages.items():
        if stage.backend == "paddle" and stage.model is None:
            raise ConfigError(f"{name}.backend paddle needs {name}.model (a PaddleOCR model folder)")
    settings = config.detector
    tuning = {
        "limit_side_len": settings.limit_side_len,
        "thresh": settings.thresh,
        "box_thresh": settings.box_thresh,
        "unclip_ratio": settings.unclip_ratio,
        "box_type": settings.box_type,
        "threads": config.threads,
        "device": device,
    }
    if settings.backend == "paddle":
        from difftsr_ocr.detect.paddle import PaddleDetector

        detector: Detector = PaddleDetector(settings.model, **tuning)
    else:
        from difftsr_ocr.detect.ppocr import PPOCRDetector

        detector = PPOCRDetector(settings.model, **tuning)
    if config.recognizer.backend == "paddle":
        from difftsr_ocr.recognize.paddle import PaddleRecognizer

        recognizer: Recognizer = PaddleRecognizer(config.recognizer.model, threads=config.threads, device=device)
    else:
        from difftsr_ocr.recognize.ppocr import PPOCRRecognizer

        recognizer = PPOCRRecognizer(
            config.recognizer.model, batch_size=config.recognizer.batch_size, threads=config.threads, device=device
        )
    orientation = None
    if config.orientation.enabled:
        from difftsr_ocr.recognize.ppocr_orientation import PPOCROrientationClassifier

        orientation = PPOCROrientationClassifier(config.orientation.model, threads=config.threads, device=device)
    return Pipeline(detector, recognizer, _build_restorer(config), config, orientation=orientation)


def _build_restorer(config: PipelineConfig) -> Restorer | None:
    """The configured restorer (None: no restoration), built by :func:`~difftsr_ocr.restore.factory.build_restorer`."""
    settings = config.restorer
    if settings.kind == "none":
        return None
    from difftsr_ocr.restore.factory import build_restorer

    if settings.kind == "classical":
        # The DiffTSR settings below would read a model config file and probe the device for nothing.
        return build_restorer(kind="classical")
    from difftsr_ocr.models.config import DiffTSRConfig, load_difftsr_config
    from difftsr_ocr.restore.difftsr import DiffTSRRestorerConfig
    from difftsr_ocr.restore.sampling import SamplingConfig

    restorer_config = DiffTSRRestorerConfig(
        sampling=SamplingConfig(
            steps=settings.steps, eta=settings.eta, refine_text=settings.refine_text, sampler=settings.sampler
        ),
        posterior=settings.posterior,
        precision=settings.precision,
        batch_size=settings.batch_size,
        seed=config.seed,
        compile=settings.compile,
    )
    model_config = load_difftsr_config(settings.model_config) if settings.model_config else DiffTSRConfig()
    device = resolve_device(config.device)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    return build_restorer(settings.ckpt, settings.transocr, model_config, restorer_config, device, kind=settings.kind)
