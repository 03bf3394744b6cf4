"""The one mapping-to-dataclass validator the pipeline config, the batch job and the model config share."""

from __future__ import annotations

import dataclasses

import pytest

from difftsr_ocr.configschema import check_keys, check_value, dataclass_from_mapping
from difftsr_ocr.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Inner:
    ratio: float = 0.5
    sizes: tuple[int, ...] = (1, 2)
    shape: tuple[int, int] = (32, 128)


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    count: int = 1
    limit: int | None = None
    flag: bool = False
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_defaults_fill_what_is_left_out_and_nested_mappings_recurse() -> None:
    built = dataclass_from_mapping(Outer, {"name": "a", "inner": {"ratio": 2, "sizes": [3, 4, 5]}})
    assert built == Outer(name="a", inner=Inner(ratio=2.0, sizes=(3, 4, 5)))
    assert isinstance(built.inner.ratio, float)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "a", "count": True}, r"^count must be int, not True$"),
        ({"name": "a", "count": 1.0}, r"^count must be int, not 1\.0$"),
        ({"name": "a", "count": None}, r"^count must be int, not None$"),
        ({"name": "a", "limit": "x"}, r"^limit must be int or null, not 'x'$"),
        ({"name": "a", "flag": 1}, r"^flag must be bool, not 1$"),
        ({"name": "a", "inner": {"ratio": False}}, r"^inner\.ratio must be float, not False$"),
        ({"name": "a", "inner": {"sizes": [1, "2"]}}, r"^inner\.sizes must be a list of int, not \[1, '2'\]$"),
        ({"name": "a", "inner": {"shape": [32]}}, r"^inner\.shape must be \[int, int\], not \[32\]$"),
        ({"name": "a", "inner": None}, r"^inner must be a mapping, not NoneType$"),
        ({"name": "a", "inner": {"ratoi": 1}}, r"^unknown key\(s\) inner\.ratoi; allowed: ratio, sizes, shape$"),
        ({"count": 2}, r"^name is required$"),
        ([], r"^config must be a mapping, not list$"),
    ],
)
def test_mistakes_name_the_dotted_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclass_from_mapping(Outer, data)


def test_where_prefixes_every_key() -> None:
    with pytest.raises(ConfigError, match=r"^job\.inner\.ratio must be float"):
        dataclass_from_mapping(Outer, {"name": "a", "inner": {"ratio": "high"}}, "job")
    with pytest.raises(ConfigError, match=r"^unknown key\(s\) job\.extra; allowed: a, b$"):
        check_keys({"a": 1, "extra": 2}, ("a", "b"), "job")


def test_single_values_take_unions() -> None:
    assert check_value("report.html", bool | str, "report") == "report.html"
    assert check_value(False, bool | str, "report") is False
    with pytest.raises(ConfigError, match=r"^report must be bool or str, not 3$"):
        check_value(3, bool | str, "report")
