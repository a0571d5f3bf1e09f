"""SSL contexts with the project's one TLS policy: 1.2 at least, 1.3 preferred, modern suites only."""

from __future__ import annotations

import ssl

# TLS 1.2 suites: forward secret (ECDHE) and AEAD only. TLS 1.3's own three are all modern and stay on.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def _harden(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return context


def server_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server context holding our certificate chain and key."""
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    context.load_cert_chain(certfile, keyfile)
    # Clients never resume sessions (every connection is new), so tickets would be sent for nothing.
    context.num_tickets = 0
    return context


def verifying_client_context(cafile: str | None = None) -> ssl.SSLContext:
    """Verify the server's chain and host name, against `cafile` or else the system's CAs."""
    context = _harden(ssl.create_default_context(cafile=cafile))
    return context


def pinning_client_context() -> ssl.SSLContext:
    """No chain check: the caller compares the server's public key with a pinned one after the handshake."""
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
