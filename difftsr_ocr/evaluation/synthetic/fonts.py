"""The fonts synthetic lines are drawn with, from Debian packages so that every machine draws the same pixels."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

from difftsr_ocr.errors import ConfigError

__all__ = ["FONTS", "font_file", "load_font", "text_script"]

_FONT_DIR_LATIN = Path("/usr/share/fonts/truetype/dejavu")
_FONT_DIR_CJK = Path("/usr/share/fonts/truetype/wqy")

# Debian fonts-dejavu-core ships DejaVuSans(-Bold).ttf; fonts-wqy-zenhei covers GB2312.
FONTS: dict[str, Path] = {
    "latin": _FONT_DIR_LATIN / "DejaVuSans.ttf",
    "latin_bold": _FONT_DIR_LATIN / "DejaVuSans-Bold.ttf",
    "cjk": _FONT_DIR_CJK / "wqy-zenhei.ttc",
}


def font_file(key: str) -> Path:
    """The font file for a FONTS key, checked on every use so a missing package fails clearly."""
    if key not in FONTS:
        raise ValueError(f"unknown font {key!r}; choose one of {', '.join(sorted(FONTS))}")
    path = Path(FONTS[key])
    if not path.is_file():
        raise ConfigError(
            f"font file {path} is missing: install the Debian packages fonts-dejavu-core and fonts-wqy-zenhei"
        )
    return path


@functools.lru_cache(maxsize=128)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xFF00 <= code <= 0xFFEF


def text_script(text: str) -> str:
    return "cjk" if any(_is_cjk(char) for char in text) else "latin"
