"""How a client decides to trust a server's TLS key: system CAs, else a key pinned on first use."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from functools import partial

from protocol.fingerprint import public_key_fingerprint
from qt_client.net.pin_store import PinStore
from reactor.tcp_client import TcpClient
from reactor.tcp_connection import TcpConnection
from reactor.tls_context import pinning_client_context, verifying_client_context

# ask(host, port, fingerprint, reason) -> whether the user trusts this key from now on.
AskTrust = Callable[[str, int, str, str], bool]


class KeyMismatch(ssl.SSLError):
    """Raised inside a handshake's peer check: the connection is refused before it counts as up."""

    def __init__(self, expected: str, presented: str) -> None:
        super().__init__(f"server key {presented} is not the expected {expected}")
        self.expected, self.presented = expected, presented


class ServerTrust:
    """One per MeetingClient, shared by its control, audio and video connections.

    A server with a pinned key (in `pins`, or given as `fingerprint`) is
    checked against that key alone, whatever signed its certificate. Any
    other is verified against the system's CAs (or `cafile`) and its host
    name; when that fails, the client asks `accept_new_key` (TOFU: `tofu`
    accepts, `ask` asks the person) and pins the key it accepted. Whatever
    the mode, audio and video must present the key that control presented.
    `tls=False` speaks in clear (only to a server run with --no-tls).
    """

    def __init__(self, *, tls: bool = True, pins: PinStore | None = None, fingerprint: str | None = None,
                 tofu: bool = False, ask: AskTrust | None = None, cafile: str | None = None) -> None:
        self.tls = tls
        self.pins = pins
        self.fingerprint = fingerprint
        self.tofu = tofu
        self.ask = ask
        self.cafile = cafile
        # The key the control connection presented; audio and video must present it too.
        self.session_key: str | None = None
        self._verifying: ssl.SSLContext | None = None
        self._pinning: ssl.SSLContext | None = None

    def pinned_key(self, host: str, port: int) -> str | None:
        if self.fingerprint is not None:
            return self.fingerprint
        return self.pins.get(host, port) if self.pins is not None else None

    def configure(self, client: TcpClient, host: str, control_port: int, control: bool) -> None:
        """Set a connection's TLS before it dials; `control_port` names the server in the pin store."""
        if not self.tls:
            client.tls_context = None
            return
        pinned = self.pinned_key(host, control_port)
        if pinned is not None:
            if self._pinning is None:
                self._pinning = pinning_client_context()
            client.tls_context = self._pinning
        else:
            if self._verifying is None:
                self._verifying = verifying_client_context(self.cafile)
            client.tls_context = self._verifying
        client.tls_peer_check = partial(self._check, pinned, control)

    def _check(self, pinned: str | None, control: bool, conn: TcpConnection) -> None:
        assert conn.tls is not None
        presented = public_key_fingerprint(conn.tls.ssl_object.getpeercert(binary_form=True))
        if pinned is not None and presented != pinned:
            raise KeyMismatch(pinned, presented)
        if control:
            self.session_key = presented
        elif self.session_key is not None and presented != self.session_key:
            raise KeyMismatch(self.session_key, presented)

    def accept_new_key(self, host: str, port: int, fingerprint: str, reason: str) -> bool:
        """A server no CA vouches for: trust (and pin) its key if --tofu, or if the person says so."""
        if self.tofu:
            accepted = True
        elif self.ask is not None:
            accepted = self.ask(host, port, fingerprint, reason)
        else:
            accepted = False
        if accepted and self.pins is not None:
            self.pins.pin(host, port, fingerprint)
        elif accepted:
            self.fingerprint = fingerprint  # no store: trusted for this client's life
        return accepted


def probe_key(host: str, port: int, timeout: float) -> str:
    """The public key fingerprint a server presents, fetched with a blocking handshake (never on a loop).

    Nothing is sent past the handshake: this only learns what to show the person who decides.
    """
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            pinning_client_context().wrap_socket(raw, server_hostname=host) as tls:
        return public_key_fingerprint(tls.getpeercert(binary_form=True))
