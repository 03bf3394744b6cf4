"""Turning a mapping a user wrote (YAML, a dict) into a frozen config dataclass.

The dataclass is the schema: its field names are the allowed keys, its annotations the
allowed types and its defaults the values of keys left out. Every mistake is one
:class:`~difftsr_ocr.errors.ConfigError` line naming the key by its dotted path. The
pipeline config, the batch job and the DiffTSR model config all read their YAML here.
Range and choice checks stay in each dataclass's ``__post_init__``, next to the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from difftsr_ocr.errors import ConfigError

__all__ = ["check_keys", "check_value", "dataclass_from_mapping", "field_names"]

ConfigT = TypeVar("ConfigT")


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def _dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def check_keys(data: Any, allowed: Iterable[str], where: str) -> Mapping[str, Any]:
    """``data`` itself once it is a mapping whose keys are all in ``allowed``; ``where`` ("" at the top) names it."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'} must be a mapping, not {type(data).__name__}")
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        names = ", ".join(_dotted(where, key) for key in unknown)
        raise ConfigError(f"unknown key(s) {names}; allowed: {', '.join(allowed)}")
    return data


def dataclass_from_mapping(cls: type[ConfigT], data: Any, where: str = "") -> ConfigT:
    """``cls`` built from ``data``: keys checked, values checked against the annotations, nested dataclasses recursed."""
    check_keys(data, field_names(cls), where)
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        key = _dotted(where, field.name)
        if field.name in data:
            values[field.name] = check_value(data[field.name], hints[field.name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key} is required")
    return cls(**values)


def check_value(value: Any, annotation: Any, where: str) -> Any:
    """``value`` as ``annotation`` wants it (ints promoted to float, lists to tuples), else a ConfigError."""
    if dataclasses.is_dataclass(annotation):
        return dataclass_from_mapping(annotation, value, where)
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if value is None and type(None) in options:
        return None
    for option in options:
        accepted, converted = _as(value, option)
        if accepted:
            return converted
    names = " or ".join(_type_name(option) for option in options)
    raise ConfigError(f"{where} must be {names}, not {value!r}")


def _as(value: Any, annotation: Any) -> tuple[bool, Any]:
    """(True, the value as ``annotation`` wants it) or (False, None); bools are never numbers."""
    if isinstance(value, bool):
        return (annotation is bool, value)
    if annotation is float and isinstance(value, int | float):
        return True, float(value)
    if annotation in (int, str):
        return isinstance(value, annotation), value
    if typing.get_origin(annotation) is tuple and isinstance(value, list | tuple):
        return _as_tuple(value, typing.get_args(annotation))
    return False, None


def _as_tuple(items: list[Any] | tuple[Any, ...], item_types: tuple[Any, ...]) -> tuple[bool, Any]:
    # YAML has only lists; tuple[int, ...] is any length, tuple[int, int] exactly two.
    if len(item_types) == 2 and item_types[1] is Ellipsis:
        item_types = (item_types[0],) * len(items)
    if len(items) != len(item_types):
        return False, None
    converted = []
    for item, item_type in zip(items, item_types, strict=True):
        accepted, value = _as(item, item_type)
        if not accepted:
            return False, None
        converted.append(value)
    return True, tuple(converted)


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    if typing.get_origin(annotation) is tuple:
        item_types = typing.get_args(annotation)
        if len(item_types) == 2 and item_types[1] is Ellipsis:
            return f"a list of {_type_name(item_types[0])}"
        return f"[{', '.join(_type_name(item) for item in item_types)}]"
    return getattr(annotation, "__name__", str(annotation))
