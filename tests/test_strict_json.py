"""strict_json: what a hostile document may not contain, and what it still may."""

from __future__ import annotations

import math

import pytest

from protocol import strict_json
from protocol.strict_json import MAX_DEPTH, JsonError


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert strict_json.loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    with pytest.raises(JsonError, match="nest"):
        strict_json.loads(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    with pytest.raises(JsonError, match="nest"):
        strict_json.loads(b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1))
    # Brackets and escaped quotes inside strings are text, however many.
    text = '"' + "[{" * 100 + '\\"' + "]" * 300 + '"'
    assert strict_json.loads(("[" + text + "]").encode()) == ["[{" * 100 + '"' + "]" * 300]
    # Wide is fine: depth, not size, is limited here (the frame size limits size).
    assert len(strict_json.loads(b"[" + b"[[]]," * 5000 + b"[]]")) == 5001


def test_unbalanced_or_broken_documents_are_invalid_json() -> None:
    for broken in (b"[{]}", b"[[[", b"]]][[[", b'{"a":"unterminated'):
        with pytest.raises(JsonError, match="not valid JSON"):
            strict_json.loads(broken)


def test_surrogate_pairs_are_characters_lone_ones_are_refused() -> None:
    assert strict_json.loads(b'"\\ud83d\\ude00"') == "\U0001F600"
    assert strict_json.loads(b'"\\\\ud800"') == "\\ud800"  # an escaped backslash, then text
    for lone in (b'"\\ud800"', b'"\\uDFFF x"', b'{"\\udc00":1}', b'["\\ude00\\ud83d"]'):
        with pytest.raises(JsonError, match="surrogate"):
            strict_json.loads(lone)


def test_dumps_never_writes_non_finite_numbers() -> None:
    assert strict_json.dumps({"a": [1, 2.5, "é"]}) == b'{"a":[1,2.5,"\\u00e9"]}'
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            strict_json.dumps({"x": value})
