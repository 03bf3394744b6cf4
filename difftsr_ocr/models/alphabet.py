"""The two character sets of DiffTSR, read from the package data.

* The IDM alphabet (``alphabets/idm_alphabet.txt``): 6735 distinct characters; the
  diffusion models (IDM, TDM, MoM) use their indices plus one extra class, 6735,
  for padding and for characters outside the alphabet (6736 classes).
* The TransOCR classes (``alphabets/transocr_alphabet.txt``, upstream's
  ``benchmark.txt``): ``START``, U+00AD, the 7934 file characters, ``END`` (7937).

Upstream opened both files with the locale encoding; they are UTF-8, so we say so.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from importlib import resources

__all__ = [
    "IDM_NUM_CLASSES",
    "IDM_PAD_ID",
    "TRANSOCR_END",
    "TRANSOCR_NUM_CLASSES",
    "TRANSOCR_START",
    "idm_alphabet",
    "idm_index",
    "transocr_classes",
    "transocr_index",
]

IDM_PAD_ID = 6735
IDM_NUM_CLASSES = 6736
TRANSOCR_START = 0
TRANSOCR_NUM_CLASSES = 7937
TRANSOCR_END = TRANSOCR_NUM_CLASSES - 1


@functools.cache
def _read_alphabet_file(name: str) -> str:
    return (resources.files("difftsr_ocr.models") / "alphabets" / name).read_text(encoding="utf-8")


@functools.cache
def idm_alphabet() -> str:
    """The 6735 IDM characters in class order (class 6735, padding/unknown, has no character)."""
    return _read_alphabet_file("idm_alphabet.txt")


@functools.cache
def idm_index() -> Mapping[str, int]:
    """Character -> IDM class; equal to upstream's ``alphabet.find(char)`` because all characters are distinct."""
    return types.MappingProxyType({char: index for index, char in enumerate(idm_alphabet())})


@functools.cache
def _transocr_classes() -> tuple[str, ...]:
    # START and a leading soft hyphen are prepended, END appended, exactly as upstream's
    # get_alphabet builds the class list; strip() mirrors its read().strip().
    body = _read_alphabet_file("transocr_alphabet.txt").strip()
    return ("START", "\xad", *body, "END")


def transocr_classes() -> list[str]:
    """The 7937 TransOCR class names: 0 = ``START``, 1 = U+00AD, 2..7935 = characters, 7936 = ``END``."""
    return list(_transocr_classes())


@functools.cache
def transocr_index() -> Mapping[str, int]:
    """Class name -> TransOCR class.

    U+00AD is both class 1 and class 3267 (it also occurs in the file); upstream builds
    this map with a loop in which the later index overwrites the earlier, so it maps to
    3267 and class 1 can never be produced from text. We keep that.
    """
    return types.MappingProxyType({name: index for index, name in enumerate(_transocr_classes())})
