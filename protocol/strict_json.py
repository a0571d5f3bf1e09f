"""JSON as the protocol allows it: UTF-8 without BOM, shallow, finite numbers, no lone surrogates.

Python's `json` is lenient where a hostile peer can hurt: `json.loads(bytes)` guesses UTF-16
and UTF-32, deep nesting raises RecursionError (not ValueError), `NaN`/`Infinity` and `1e999`
become floats that `json.dumps` writes back as invalid JSON, and a `\\ud800` escape yields a
string that fails later, wherever it is first encoded. Every such input is refused here, with
a message a person can read, before anything else looks at it.
"""

from __future__ import annotations

import json
import math
import operator
import re
from itertools import accumulate, count
from typing import Any

# Deeper than any message of the protocol (which nests 3 levels) by a wide margin.
MAX_DEPTH = 32

_BOM = b"\xef\xbb\xbf"
# A JSON string, escapes included; possessive, so that a long unterminated one costs one pass.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# The only way left to a surrogate once strict UTF-8 has refused encoded ones: a \\uD800-\\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# An opening bracket counts 2 and a closing one 0: the running sum minus the count so far is the depth.
_BRACKET_WEIGHT = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


class JsonError(ValueError):
    """Bytes that are not JSON as the protocol allows it; the message says why, in plain words."""


def loads(data: bytes | bytearray | memoryview) -> Any:
    """The value of a UTF-8 JSON document, or JsonError."""
    raw = bytes(data)
    if raw.startswith(_BOM):
        raise JsonError("JSON must be UTF-8 without a byte order mark.")
    try:
        text = raw.decode("utf-8")  # strict: UTF-16/32 and encoded surrogates fail here
    except UnicodeDecodeError:
        raise JsonError("JSON must be encoded as UTF-8.") from None
    if _depth_exceeds(raw, MAX_DEPTH):
        raise JsonError(f"JSON may nest at most {MAX_DEPTH} levels deep.")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JsonError:
        raise
    except (ValueError, RecursionError):
        raise JsonError("The request is not valid JSON.") from None
    if _SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(value)
    return value


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; a non-finite number is a bug of ours (ValueError), never sent."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit`; C-speed steps only (regex,
    translate, accumulate), since a hostile document may be megabytes of brackets."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    if len(brackets) <= 2 * limit:
        return False
    depths = map(operator.sub, accumulate(brackets.translate(_BRACKET_WEIGHT)), count(1))
    return max(depths) > limit


def _refuse_constant(name: str) -> Any:
    raise JsonError(f"JSON numbers must be finite ({name} is not allowed).")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError(f"JSON numbers must be finite ({text[:20]} is too large).")
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    # Pairs are joined by the parser; encoding the whole value finds a lone one anywhere, keys
    # included, in one C-speed pass.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonError("JSON strings must not contain unpaired surrogates (\\ud800-\\udfff).") from None
