"""The request target (`/path?query`) split and decoded, strictly: anything odd is a 400."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

# More query fields than any of our routes take, by far.
MAX_QUERY_FIELDS = 32


class BadTarget(ValueError):
    """The request target cannot be read; the message says why (for the log)."""


def split_target(target: bytes) -> tuple[str, dict[str, str]]:
    """(percent-decoded path, query with one value per key) of an origin-form target."""
    try:
        text = target.decode("ascii")
    except UnicodeDecodeError:
        raise BadTarget("the target is not ASCII") from None
    if not text.startswith("/"):
        raise BadTarget("the target is not a path (absolute-form or asterisk-form)")
    raw_path, _, raw_query = text.partition("?")
    raw_query = raw_query.partition("#")[0]
    try:
        path = unquote(raw_path, errors="strict")
        pairs = parse_qsl(raw_query, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS)
    except UnicodeDecodeError:
        raise BadTarget("the target's percent-escapes are not UTF-8") from None
    except ValueError:
        raise BadTarget(f"more than {MAX_QUERY_FIELDS} query fields") from None
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise BadTarget("the path holds control characters")
    query: dict[str, str] = {}
    for key, value in pairs:
        if key in query:
            raise BadTarget(f"the query names {key!r} twice")
        query[key] = value
    return path, query
