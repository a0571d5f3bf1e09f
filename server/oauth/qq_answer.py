"""QQ Connect answers in three shapes, depending on the call, `fmt` and its mood: JSON,
form-encoded (`access_token=...&expires_in=...`) and JSONP (`callback( {...} );`)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

_JSONP = re.compile(r"^\s*callback\s*\(\s*(?P<body>\{.*\})\s*\)\s*;?\s*$", re.DOTALL)
# QQ's own documented example of a JSONP error ends its object with a comma: `..., } );`.
_TRAILING_COMMA = re.compile(r",\s*}\s*$")


def parse_qq_answer(text: str) -> dict[str, object]:
    """The answer's fields, whatever its shape. Raises ValueError when it is none of the three."""
    stripped = text.strip()
    jsonp = _JSONP.match(stripped)
    if jsonp:
        return _json_object(_TRAILING_COMMA.sub("}", jsonp.group("body")))
    if stripped.startswith("{"):
        return _json_object(stripped)
    fields = parse_qsl(stripped, keep_blank_values=True, strict_parsing=True) if "=" in stripped else []
    if not fields:
        raise ValueError("not JSON, JSONP or form-encoded")
    return dict(fields)


def _json_object(text: str) -> dict[str, object]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a JSON answer that is not an object")
    return value
