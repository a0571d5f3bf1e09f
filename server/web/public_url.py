"""The address people's browsers use to reach the HTTP endpoint: given by the operator, or derived."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

_ANY_ADDRESS = ("", "0.0.0.0", "::")


def derived_public_url(host: str, port: int, tls: bool) -> str:
    """`https://HOST:PORT` (http:// without TLS); a wildcard host becomes this machine's name."""
    if host in _ANY_ADDRESS:
        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{'https' if tls else 'http'}://{host}:{port}"


def checked_public_url(url: str) -> str:
    """The operator's --public-url without a trailing slash; ValueError says what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the public URL {url!r} must be http(s)://HOST[:PORT], e.g. https://meet.example.org")
    if parts.query or parts.fragment or parts.username or parts.password or parts.path.strip("/"):
        raise ValueError(f"the public URL {url!r} must hold no path, query, fragment or user name")
    return url.rstrip("/")
