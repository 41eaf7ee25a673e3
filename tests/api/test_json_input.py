"""The two nesting-depth measures of app.api.json_input: raw bytes and a parsed value agree."""

import json

import pytest

from app.api.json_input import nesting_depth, value_depth

DEEP = {"a": [{"b": [[{"c": 1}]]}], "d": "[[[{{not brackets}}]]]"}


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ("[[x]]", 0), ({}, 1), ([], 1), ([1, [2, [3]]], 3), ({"a": {}, "b": [[]]}, 3), (DEEP, 6)],
)
def test_depth_of_a_value_and_of_its_text_agree(value, depth):
    """Objects and arrays count, strings holding brackets do not; the outermost container is level 1."""
    assert value_depth(value) == depth
    assert nesting_depth(json.dumps(value).encode()) == depth


def test_value_depth_needs_no_recursion():
    """Nesting far past Python's recursion limit is measured, not a RecursionError."""
    value: list = []
    for _ in range(5000):
        value = [value]
    assert value_depth(value) == 5001
