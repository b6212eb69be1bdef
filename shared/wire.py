"""Frozen dataclasses to and from JSON-ready values, camelCase on the wire: one codec, not a mapper
per type.

Payloads cross process boundaries (Durable's history, blobs, the catalog) and come back as plain
JSON, so reading one checks every field's type against the dataclass: a payload written by another
version of the app fails loudly here, with the field named, not as a KeyError deep in a transfer.
Unknown keys are ignored (a newer writer may add fields); a missing field takes its default.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
_Shape = TypeVar("_Shape", bound="Wire")


class WireError(ValueError):
    """A payload does not have the shape its type declares."""


def camel(name: str) -> str:
    """`document_id` -> `documentId`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Wire:
    """`to_json()` and `from_json()` for a frozen dataclass that inherits it, through this codec."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = to_wire(self)
        return document

    @classmethod
    def from_json(cls: type[_Shape], data: object) -> _Shape:
        return from_wire(cls, data)


def to_wire(value: object) -> Any:
    """A dataclass (nested ones, tuples, enums included) as JSON-ready dicts, lists and scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_wire(item) for key, item in value.items()}
    return value


def from_wire(cls: type[T], data: object) -> T:
    """The dataclass `cls` read from its wire form; WireError naming the field when it does not fit."""
    return _read(cls, data, cls.__name__)  # type: ignore[no-any-return]


@cache
def _fields(cls: type) -> tuple[tuple[str, str, Any, bool], ...]:
    """(attribute, wire key, type, required) of each field of a dataclass."""
    hints = get_type_hints(cls)
    return tuple(
        (
            f.name,
            camel(f.name),
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )


def _read(kind: Any, data: object, where: str) -> Any:
    origin = get_origin(kind)
    if kind is Any:
        return data
    if origin in (Union, types.UnionType):
        return _read_union(get_args(kind), data, where)
    if origin is Literal:
        if data not in get_args(kind):
            raise WireError(f"{where} must be one of {list(get_args(kind))}")
        return data
    if origin is tuple:
        item_type = get_args(kind)[0]
        if not isinstance(data, list | tuple):
            raise WireError(f"{where} must be an array")
        return tuple(_read(item_type, item, f"{where}[{i}]") for i, item in enumerate(data))
    if origin is dict:
        if not isinstance(data, dict):
            raise WireError(f"{where} must be an object")
        return dict(data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _read_dataclass(kind, data, where)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            raise WireError(f"{where} must be one of {[m.value for m in kind]}") from None
    return _read_scalar(kind, data, where)


def _read_union(options: tuple[Any, ...], data: object, where: str) -> Any:
    if data is None:
        if type(None) in options:
            return None
        raise WireError(f"{where} must not be null")
    problems = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _read(option, data, where)
        except WireError as error:
            problems.append(str(error))
    raise WireError(problems[0] if len(problems) == 1 else f"{where} has an unexpected shape")


def _read_dataclass(kind: type, data: object, where: str) -> Any:
    if not isinstance(data, dict):
        raise WireError(f"{where} must be an object")
    values = {}
    for name, key, field_type, required in _fields(kind):
        if key in data:
            values[name] = _read(field_type, data[key], f"{where}.{key}")
        elif required:
            raise WireError(f"{where}.{key} is missing")
    return kind(**values)


def _read_scalar(kind: Any, data: object, where: str) -> Any:
    if kind is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if kind is int and isinstance(data, bool):
        raise WireError(f"{where} must be an integer")
    if not isinstance(kind, type) or not isinstance(data, kind):
        raise WireError(f"{where} must be {getattr(kind, '__name__', kind)}")
    return data
