"""What a caller of the client session can catch, each failure its own type."""

from __future__ import annotations

from protocol.errors import ProtocolError


class ServerError(ProtocolError):
    """The server answered a request with an error reply; `.code` says which (protocol.errors.ErrorCode)."""

    def __init__(self, code: str, message: str | None = None, request_type: str | None = None) -> None:
        super().__init__(code, message)
        # Which request failed, so that a log line or dialog can say what the user was doing.
        self.request_type = request_type

    @classmethod
    def from_reply(cls, error: object, request_type: str | None = None) -> ServerError:
        """Build from a reply's `error` object, tolerating a server that sends a malformed one."""
        if not isinstance(error, dict):
            return cls("INTERNAL_ERROR", f"malformed error reply: {error!r}", request_type)
        message = error.get("message")
        return cls(str(error.get("code", "INTERNAL_ERROR")), message if isinstance(message, str) else None,
                   request_type)


class NotConnectedError(ConnectionError):
    """The connection a request needs is not up (never opened, dropped, or the client is closed)."""


class ClientTimeout(TimeoutError):
    """No reply (or no connection) within the client's timeout: the server may be down or overloaded."""
