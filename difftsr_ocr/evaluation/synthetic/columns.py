"""The column layout family: articles set in two or three columns, with headings, scanned a little skewed.

A page has a bold title across it, sometimes a subtitle, then one or two sections. A
second section opens with a bold heading set at the left margin or centred, so it may
cover a single column. A section sets running text in two or three columns (one count
per page), filled one after the other to the same depth. The text is paragraphs,
separated by a blank line or by a first-line indent (one style per page), some opening
with a bold heading inside the column. Lines sit on baselines a fixed pitch apart, as
type does. The finished page is turned by up to ``MAX_SKEW`` degrees about its centre
(a sheet fed in crooked) and lightly damaged.

The truth is what a layout analysis should find: the lines in reading order (title,
subtitle, then per section its heading and its columns left to right, each top to
bottom), each line's block (the title, the subtitle, each heading, and each paragraph,
or the part of one that falls in one column) and each line's column.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from difftsr_ocr.evaluation.synthetic.degradation import Degradation, apply_degradation
from difftsr_ocr.evaluation.synthetic.fonts import font_file, load_font
from difftsr_ocr.evaluation.synthetic.phrases import PhrasePicker, latin_words
from difftsr_ocr.evaluation.synthetic.placement import EDGE
from difftsr_ocr.evaluation.synthetic.render import DEFAULT_SIZE, LineSpec, TruthLine, line_outline, render_lines

__all__ = ["ACROSS", "MAX_SKEW", "ColumnPage", "generate_column_page"]

ACROSS = -1  # the column of a line set across the page: title, subtitle, section heading
MAX_SKEW = 3.0  # degrees either way
# A light scan: enough to move the detector's boxes a little, not to lose lines.
SCAN = Degradation(steps=(("gaussian_blur", 0.7), ("noise", 3.0), ("jpeg", 50.0)))
# Running text uses short words, as prose mostly does: a line never ends far short of
# its column because one long word did not fit.
_LONGEST_WORD = 10
_STREAM = 3  # this family's random stream, apart from the document and scene families


@dataclasses.dataclass(frozen=True, eq=False)
class ColumnPage:
    """One column page: the damaged image, the truth lines in reading order, and their blocks and columns.

    ``blocks[i]`` numbers line i's block (counting in reading order); ``columns[i]`` is
    ``(section, column)`` with column ``ACROSS`` for lines set across the page.
    ``skew``: degrees counter-clockwise the page was turned by.
    """

    name: str
    seed: int
    image: np.ndarray
    lines: list[TruthLine]
    blocks: list[int]
    columns: list[tuple[int, int]]
    column_count: int
    skew: float

    def block_lines(self) -> list[list[int]]:
        """The truth blocks as lists of line indices, in reading order."""
        grouped: dict[int, list[int]] = {}
        for index, block in enumerate(self.blocks):
            grouped.setdefault(block, []).append(index)
        return [grouped[block] for block in sorted(grouped)]


class _Setter:
    """Sets lines on baselines in reading order, noting each line's block and column."""

    def __init__(self, rng: np.random.Generator, ink: tuple[int, int, int]) -> None:
        self.rng = rng
        self.ink = ink
        self.specs: list[LineSpec] = []
        self.blocks: list[int] = []
        self.columns: list[tuple[int, int]] = []
        self._block = -1

    @staticmethod
    def width(text: str, size: int, font: str) -> float:
        """The width of the line's box: the advance of its text plus the renderer's margin on both sides."""
        return load_font(str(font_file(font)), size).getlength(text) + 2 * max(2, round(size / 8))

    @staticmethod
    def metrics(size: int, font: str) -> tuple[int, int]:
        """(ascent, descent) of the font at that size, in pixels."""
        ascent, descent = load_font(str(font_file(font)), size).getmetrics()
        return int(ascent), int(descent)

    def new_block(self) -> None:
        self._block += 1

    def put(self, text: str, x: float, baseline: float, size: int, font: str, column: tuple[int, int]) -> None:
        """A line whose text starts at x and sits on the baseline (the renderer places boxes by their top)."""
        loaded = load_font(str(font_file(font)), size)
        ascent, _ = loaded.getmetrics()
        ink_top = loaded.getbbox(text)[1]
        top = baseline - (ascent - ink_top) - max(2, round(size / 8))
        self.specs.append(LineSpec(text, float(x), float(top), size=size, font=font, color=self.ink))
        self.blocks.append(self._block)
        self.columns.append(column)

    def words_to(self, limit: float, size: int, words: tuple[str, ...], *, at_least_one: bool = True) -> str:
        """Words drawn at random while the line stays within ``limit`` pixels."""
        text = ""
        while True:
            word = words[int(self.rng.integers(len(words)))]
            candidate = f"{text} {word}" if text else word
            if self.width(candidate, size, "latin") > limit:
                return text or (word if at_least_one else "")
            text = candidate


def _fit_heading(setter: _Setter, text: str, size: int, limit: float) -> str:
    """The heading's leading words that fit ``limit`` pixels (at least one word)."""
    words = text.split()
    while len(words) > 1 and setter.width(" ".join(words), size, "latin_bold") > limit:
        words.pop()
    return " ".join(words)


def _plan(rng: np.random.Generator, width: int, height: int) -> tuple[list[LineSpec], _Setter, int]:
    grey = int(rng.integers(0, 40))
    setter = _Setter(rng, (grey, grey, grey))
    phrases = PhrasePicker(rng)
    words = latin_words(_LONGEST_WORD)
    count = 2 if rng.random() < 0.5 else 3
    size = int(rng.integers(15, 20)) if count == 2 else int(rng.integers(13, 16))
    pitch = round(size * float(rng.uniform(1.3, 1.55)))
    margin = int(rng.integers(70, 101))
    bottom = height - int(rng.integers(70, 101))
    gutter = round(size * float(rng.uniform(2.0, 3.0)))
    column_width = (width - 2 * margin - (count - 1) * gutter) / count
    spaced = rng.random() < 0.5
    ascent, descent = setter.metrics(size, "latin")

    title_size = int(rng.integers(28, 41))
    title = _fit_heading(setter, phrases.latin(36), title_size, width - 2 * margin)
    t_ascent, t_descent = setter.metrics(title_size, "latin_bold")
    baseline = int(rng.integers(60, 91)) + t_ascent
    setter.new_block()
    setter.put(title, margin, baseline, title_size, "latin_bold", (0, ACROSS))
    below = baseline + t_descent
    if rng.random() < 0.5:
        sub_size = size + 3
        s_ascent, s_descent = setter.metrics(sub_size, "latin")
        baseline = below + title_size * float(rng.uniform(0.9, 1.4)) + s_ascent
        setter.new_block()
        setter.put(phrases.latin(40), margin, baseline, sub_size, "latin", (0, ACROSS))
        below = baseline + s_descent

    sections = 2 if rng.random() < 0.5 else 1
    lines_left = 0  # of the paragraph being set
    for section in range(sections):
        if section:
            head_size = round(size * float(rng.uniform(1.4, 1.7)))
            heading = _fit_heading(setter, phrases.latin(28), head_size, 0.6 * (width - 2 * margin))
            h_ascent, h_descent = setter.metrics(head_size, "latin_bold")
            baseline = below + pitch * float(rng.uniform(2.5, 3.5)) + h_ascent
            head_width = setter.width(heading, head_size, "latin_bold")
            x = margin if rng.random() < 0.5 else (width - head_width) / 2.0
            setter.new_block()
            setter.put(heading, x, baseline, head_size, "latin_bold", (section, ACROSS))
            below = baseline + h_descent
            lines_left = 0  # a new section starts a new paragraph
        first = below + pitch * float(rng.uniform(1.2, 2.0)) + ascent
        depth = bottom - first - descent
        if section == 0 and sections == 2:
            depth *= float(rng.uniform(0.4, 0.55))
        column_bottom = first + depth
        last = first
        for column in range(count):
            x0 = margin + column * (column_width + gutter)
            baseline = first
            setter.new_block()  # a paragraph running on from the previous column is a block of its own here
            at_top = True
            while True:
                if lines_left == 0:
                    gap = 0.0 if at_top else (pitch * float(rng.uniform(0.8, 1.0)) if spaced else 0.0)
                    if rng.random() < 0.2 and baseline + gap + 5 * pitch <= column_bottom:
                        head_size = round(size * float(rng.uniform(1.3, 1.5)))
                        heading = _fit_heading(setter, phrases.latin(24), head_size, 0.4 * column_width)
                        extra = 0.0 if at_top else pitch * float(rng.uniform(1.0, 1.5))
                        head_baseline = baseline + extra + (head_size - size) * 0.8
                        setter.new_block()
                        setter.put(heading, x0, head_baseline, head_size, "latin_bold", (section, column))
                        baseline = head_baseline + head_size * float(rng.uniform(1.4, 1.7))
                        gap, at_top = 0.0, False
                    if baseline + gap + descent > column_bottom:
                        break
                    baseline += gap
                    lines_left = int(rng.integers(2, 8))
                    indent = 0.0 if spaced or at_top else size * float(rng.uniform(1.5, 3.0))
                    setter.new_block()
                else:
                    indent = 0.0
                if baseline + descent > column_bottom:
                    break
                room = column_width - indent
                if lines_left == 1:  # a paragraph's last line ends anywhere
                    text = setter.words_to(room * float(rng.uniform(0.15, 0.95)), size, words)
                else:
                    text = setter.words_to(room, size, words)
                setter.put(text, x0 + indent, baseline, size, "latin", (section, column))
                last = max(last, baseline)
                lines_left -= 1
                baseline += pitch
                at_top = False
        below = last + descent
    return setter.specs, setter, count


def _turn(specs: list[LineSpec], degrees: float, centre: tuple[float, float]) -> list[LineSpec]:
    """The whole layout turned counter-clockwise on screen about ``centre``, each line about its own corner too."""
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    turned = []
    for spec in specs:
        dx, dy = spec.x - centre[0], spec.y - centre[1]
        x, y = centre[0] + cos * dx + sin * dy, centre[1] - sin * dx + cos * dy
        turned.append(dataclasses.replace(spec, x=float(x), y=float(y), angle=float(degrees)))
    return turned


def generate_column_page(seed: int, size: tuple[int, int] = DEFAULT_SIZE) -> ColumnPage:
    """The column page for (seed, size), identical on every call and every machine with the same fonts."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    width, height = int(size[0]), int(size[1])
    if width < 600 or height < 800:
        raise ValueError(f"page size {size} is too small for columns; use at least 600 x 800")
    rng = np.random.default_rng((int(seed), _STREAM))
    specs, setter, count = _plan(rng, width, height)
    skew = round(float(rng.uniform(-MAX_SKEW, MAX_SKEW)), 2)
    specs = _turn(specs, skew, (width / 2.0, height / 2.0))
    for spec in specs:
        outline = line_outline(spec)
        if outline.min() < EDGE or outline[:, 0].max() > width - EDGE or outline[:, 1].max() > height - EDGE:
            raise ValueError(f"column page {seed}: line {spec.text!r} leaves the page; the margins are too small")
    tint = 255 - int(rng.integers(0, 8))
    clean, lines = render_lines(specs, background=np.full((height, width, 3), tint, np.uint8))
    return ColumnPage(
        name=f"columns-{int(seed):04d}",
        seed=int(seed),
        image=apply_degradation(clean, SCAN, int(seed)),
        lines=lines,
        blocks=setter.blocks,
        columns=setter.columns,
        column_count=count,
        skew=skew,
    )
