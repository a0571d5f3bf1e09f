"""A request as a handler sees it, and the responses a handler can give."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reactor.event_loop import EventLoop

# On every response. The callback URL carries an authorization code: no cache may keep a page, and no
# link may leak the URL in a Referer. Nothing here is meant to be framed, sniffed or to run a script.
SECURITY_HEADERS: dict[str, str] = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'none'",
    "x-frame-options": "DENY",
}
# html_page's own style sheet is inline: allowed by a hash-free 'unsafe-inline' for styles only (no script).
_PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
                "form-action 'none'")

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>
"""


@dataclass(frozen=True)
class HttpRequest:
    """One GET or HEAD request: `path` percent-decoded without its query, `query` one value per key,
    header names in lower case. `loop` is the connection's I/O loop (for a handler's timers)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    peer_address: Any
    loop: EventLoop | None = None


@dataclass(frozen=True)
class HttpResponse:
    """Status, extra headers (lower-case names) and body; the endpoint adds the security headers,
    Content-Length and Connection: close."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def html_page(status: int, title: str, text: str) -> HttpResponse:
    """A small page a person reads in their browser; title and text are escaped (never markup)."""
    body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
    return HttpResponse(status, {"content-type": "text/html; charset=utf-8",
                                 "content-security-policy": _PAGE_POLICY}, body)


def redirect(url: str) -> HttpResponse:
    """302 to `url` (the provider's login page): the browser follows it at once."""
    if any(c in url for c in "\r\n\0"):
        raise ValueError("a redirect URL holds no control characters")
    return HttpResponse(302, {"location": url})


def json_response(status: int, obj: Any) -> HttpResponse:
    """For machines (health checks)."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return HttpResponse(status, {"content-type": "application/json"}, body)
