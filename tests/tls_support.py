"""One self-signed certificate for the whole test run, and clients that trust it."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from qt_client.net import MeetingClient
from qt_client.net.server_trust import ServerTrust
from server.tls_identity import TlsIdentity, load_identity


@functools.cache
def shared_identity() -> TlsIdentity:
    """Made once per test run (an ECDSA key takes a millisecond, but every server reusing one keeps
    pins valid across a restart, as a real server's data directory does)."""
    directory = tempfile.mkdtemp(prefix="mm-test-tls-")
    return load_identity(None, None, directory)


def server_tls_flags() -> list[str]:
    """server_main.py flags for a server process with the test certificate."""
    identity = shared_identity()
    return ["--cert", identity.cert_file, "--key", identity.key_file]


def bot_tls_flags() -> list[str]:
    """`python -m qt_client.bot` flags that trust the test server's key."""
    return ["--trust-fingerprint", shared_identity().fingerprint]


def pinned_trust() -> ServerTrust:
    """The test server's key, pinned (the way a bot given --trust-fingerprint trusts it)."""
    return ServerTrust(fingerprint=shared_identity().fingerprint)


def ca_trust() -> ServerTrust:
    """The test certificate as the only CA: the path a server with a real certificate takes."""
    return ServerTrust(cafile=shared_identity().cert_file)


def meeting_client(host: str, port: int, **options: Any) -> MeetingClient:
    """A MeetingClient over TLS that trusts the test server (unless `trust` is given)."""
    options.setdefault("trust", pinned_trust())
    return MeetingClient(host, port, **options)


def cert_path() -> Path:
    return Path(shared_identity().cert_file)
