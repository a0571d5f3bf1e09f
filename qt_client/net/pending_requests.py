"""Requests waiting for their replies, matched by id; completed on the network thread."""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from qt_client.net.errors import ServerError

log = logging.getLogger(__name__)

ResultHook = Callable[[dict[str, Any]], None]


class PendingRequests:
    """Ids for new requests and the futures their replies complete.

    A result hook runs on the network thread before the future completes, so
    that state it records (the current room, say) is ordered with the pushes
    arriving on the same connection and is in place when the caller wakes up.
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[str, concurrent.futures.Future, ResultHook | None]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)

    def add(self, request_type: str, on_result: ResultHook | None = None,
            ) -> tuple[int, concurrent.futures.Future]:
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            request_id = next(self._ids)
            self._waiting[request_id] = (request_type, future, on_result)
        return request_id, future

    def discard(self, request_id: int) -> None:
        """Forget a request whose caller gave up; a late reply is then ignored."""
        with self._lock:
            self._waiting.pop(request_id, None)

    def resolve(self, reply: dict[str, Any]) -> bool:
        """Complete the request this reply answers; False if none is waiting for it."""
        with self._lock:
            entry = self._waiting.pop(reply.get("id"), None)
        if entry is None:
            return False
        request_type, future, on_result = entry
        if "error" in reply:
            future.set_exception(ServerError.from_reply(reply["error"], request_type))
            return True
        result = reply.get("result")
        if not isinstance(result, dict):
            future.set_exception(ServerError("INTERNAL_ERROR", f"reply without a result: {reply!r}",
                                             request_type))
            return True
        if on_result is not None:
            try:
                on_result(result)
            except Exception as exc:
                # The caller must learn that its state update failed, not wait for ever.
                log.exception("handling the %s reply failed", request_type)
                future.set_exception(exc)
                return True
        future.set_result(result)
        return True

    def fail_all(self, make_error: Callable[[str], BaseException]) -> None:
        """Fail every waiting request (the connection is gone): each gets its own exception."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for request_type, future, _ in waiting.values():
            future.set_exception(make_error(request_type))
