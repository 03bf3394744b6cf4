"""Super-resolved pages: does a restorer's detail reach a page written at 2x or 4x?

A truth restorer returns, for each degraded line, its clean pixels rendered at the
output resolution (:func:`.synthetic.pages.render_clean`): the ideal super-resolution. Its
lines go onto the page two ways, under the ``always`` gate so that only compositing is
measured:

- ``direct``: the pipeline's path, the restored crop warped once into the output page;
- ``via_crop``: the restored crop shrunk to the line crop's size first, then enlarged
  into the page (what the pipeline did before restorers kept their resolution).

Each composite is compared with the clean page rendered at the output scale: PSNR over
the pixels the lines cover, and the seam score along the feather bands, taken against
that clean page rather than the degraded input: a perfect restoration rightly makes
the bands sharper than the degraded page had them (text reaches into them), so only
energy beyond the clean page's (an edge where the patch meets the page) is a seam.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable

import cv2
import numpy as np

from difftsr_ocr.evaluation.metrics import SeamScore, seam_score
from difftsr_ocr.evaluation.oracles import OracleRestorer
from difftsr_ocr.evaluation.synthetic.pages import SyntheticPage, render_clean
from difftsr_ocr.geometry.rectify import rectify_line
from difftsr_ocr.pipeline import LineWork, Pipeline

__all__ = ["PATHS", "SuperResolutionScore", "score_super_resolution"]

PATHS = ("direct", "via_crop")


@dataclasses.dataclass
class SuperResolutionScore:
    """Squared error and pixel counts inside the lines, and seams, per path; sums over pages."""

    scale: int
    squared_error: dict[str, float] = dataclasses.field(default_factory=lambda: dict.fromkeys(PATHS, 0.0))
    pixels: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(PATHS, 0))
    seams: dict[str, SeamScore] = dataclasses.field(default_factory=lambda: {path: SeamScore() for path in PATHS})
    pages: int = 0
    lines: int = 0

    def psnr(self, path: str) -> float:
        """PSNR (dB) of the line regions against the clean page at the output scale."""
        mse = self.squared_error[path] / max(1, self.pixels[path])
        return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _target(clean: np.ndarray, line: LineWork, scale: int) -> np.ndarray:
    """The line's region of ``clean`` (the page at ``scale``), at ``scale`` times the crop's size."""
    target, _ = rectify_line(clean, line.warp.polygon * scale, height=line.crop.shape[0] * scale)
    return target


def score_super_resolution(
    pages: Iterable[SyntheticPage],
    pipeline: Pipeline,
    scale: int,
    on_page: Callable[[SyntheticPage, SuperResolutionScore], None] | None = None,
) -> SuperResolutionScore:
    """Composite each page's truth restoration at ``scale`` both ways and score them."""
    config = dataclasses.replace(
        pipeline.config,
        output_scale=scale,
        gate=dataclasses.replace(pipeline.config.gate, policy="always"),
    )
    reader = Pipeline(pipeline.detector, pipeline.recognizer, None, config, pipeline.upscaler)
    score = SuperResolutionScore(scale=scale)
    for page in pages:
        prepared = reader.prepare(page.degraded)
        clean = render_clean(page, scale)
        restorers = {path: OracleRestorer(f"truth-{path}") for path in PATHS}
        for line in prepared.lines:
            target = _target(clean, line, scale)
            restorers["direct"].add_line(line, target)
            size = (line.crop.shape[1], line.crop.shape[0])
            restorers["via_crop"].add_line(line, cv2.resize(target, size, interpolation=cv2.INTER_AREA))
        for path, restorer in restorers.items():
            staged = Pipeline(pipeline.detector, pipeline.recognizer, restorer, config, pipeline.upscaler)
            work = dataclasses.replace(prepared, lines=[dataclasses.replace(line) for line in prepared.lines])
            staged.restore([work])
            result = staged.finish(work)
            covered = np.zeros(result.image.shape[:2], bool)
            for patch in result.patches:
                x0, y0, x1, y1 = patch.bbox
                covered[y0:y1, x0:x1] |= patch.mask
            difference = result.image[covered].astype(np.float64) - clean[covered].astype(np.float64)
            score.squared_error[path] += float((difference**2).sum() / 3.0)
            score.pixels[path] += int(covered.sum())
            score.seams[path] += seam_score(clean, result.image, result.patches)
        score.pages += 1
        score.lines += len(prepared.lines)
        if on_page is not None:
            on_page(page, score)
    return score
