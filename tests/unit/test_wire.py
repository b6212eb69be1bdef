"""The one codec between the archive's shapes and JSON: camelCase out, every field checked in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.wire import WireError, camel, from_wire, to_wire


class Colour(StrEnum):
    RED = "Red"


@dataclass(frozen=True)
class Inner:
    size_bytes: int
    kind: Literal["a", "b"] = "a"


@dataclass(frozen=True)
class Outer:
    name: str
    parts: tuple[Inner, ...]
    colour: Colour
    note: str | None = None


def test_snake_case_fields_are_camel_case_on_the_wire() -> None:
    assert camel("delete_location") == "deleteLocation"
    assert to_wire(Outer("x", (Inner(3),), Colour.RED)) == {
        "name": "x",
        "parts": [{"sizeBytes": 3, "kind": "a"}],
        "colour": "Red",
        "note": None,
    }


@given(
    name=st.text(),
    sizes=st.lists(st.integers(), max_size=5),
    note=st.none() | st.text(),
)
def test_every_shape_reads_back_as_it_was_written(name: str, sizes: list[int], note: str | None) -> None:
    value = Outer(name, tuple(Inner(size) for size in sizes), Colour.RED, note)
    assert from_wire(Outer, to_wire(value)) == value


def test_a_missing_field_with_a_default_takes_it_and_unknown_keys_are_ignored() -> None:
    assert from_wire(Inner, {"sizeBytes": 1, "addedLater": True}) == Inner(1)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"parts": [], "colour": "Red"}, "Outer.name is missing"),
        ({"name": 1, "parts": [], "colour": "Red"}, "Outer.name must be str"),
        ({"name": "x", "parts": [{"sizeBytes": True}], "colour": "Red"}, r"Outer.parts\[0\].sizeBytes"),
        ({"name": "x", "parts": [{"sizeBytes": 1, "kind": "c"}], "colour": "Red"}, "kind must be one of"),
        ({"name": "x", "parts": {}, "colour": "Red"}, "Outer.parts must be an array"),
        ({"name": "x", "parts": [], "colour": "red"}, "Outer.colour must be one of"),
        ({"name": "x", "parts": [], "colour": "Red", "note": 5}, "Outer.note must be str"),
        ("not an object", "Outer must be an object"),
    ],
)
def test_a_payload_that_does_not_fit_is_refused_naming_the_field(data: object, problem: str) -> None:
    with pytest.raises(WireError, match=problem):
        from_wire(Outer, data)
