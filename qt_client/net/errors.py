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


class UntrustedServerError(ConnectionError):
    """The server's certificate is not signed by a CA we trust (self-signed) and its key is not pinned:
    the user (or the bot's --tofu / --trust-fingerprint) has to accept `fingerprint` first."""

    def __init__(self, host: str, port: int, fingerprint: str, reason: str) -> None:
        super().__init__(f"{host}:{port} is not verified by any trusted certificate authority ({reason}); "
                         f"its public key SHA-256 fingerprint is {fingerprint}. Compare it with the one the "
                         f"server printed, then trust it (bot: --trust-fingerprint {fingerprint} or --tofu)")
        self.host, self.port, self.fingerprint, self.reason = host, port, fingerprint, reason


class ServerKeyChangedError(ConnectionError):
    """The server presented another key than the one pinned for it (or its connections disagree):
    someone may be in the middle. Never connected past this; the user must look into it."""

    def __init__(self, host: str, port: int, expected: str, presented: str) -> None:
        super().__init__(f"the key of {host}:{port} has CHANGED: pinned {expected}, presented {presented}. "
                         f"Someone may be intercepting the connection; not connecting. If the server's "
                         f"operator confirms a new key, remove the old one from the pin store")
        self.host, self.port, self.expected, self.presented = host, port, expected, presented
