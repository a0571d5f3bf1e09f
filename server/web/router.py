"""Which handler serves a path: exact paths, or patterns with `{name}` segments."""

from __future__ import annotations

import re
from collections.abc import Callable

from server.web.http_message import HttpRequest, HttpResponse

# handler(request, path parameters, respond): respond may be called later, from any thread.
Handler = Callable[[HttpRequest, dict[str, str], Callable[[HttpResponse], None]], None]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Router:
    """`{name}` matches one whole, non-empty path segment (no `/`); the first route added wins."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], Handler]] = []

    def add(self, pattern: str, handler: Handler) -> None:
        if not pattern.startswith("/"):
            raise ValueError(f"a route is an absolute path, not {pattern!r}")
        regex, end = "", 0
        for match in _PARAM.finditer(pattern):
            regex += re.escape(pattern[end:match.start()]) + f"(?P<{match.group(1)}>[^/]+)"
            end = match.end()
        self._routes.append((re.compile(regex + re.escape(pattern[end:])), handler))

    def match(self, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler for `path` and its path parameters, or None (a 404)."""
        for regex, handler in self._routes:
            found = regex.fullmatch(path)
            if found is not None:
                return handler, found.groupdict()
        return None

