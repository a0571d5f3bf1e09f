"""TLS for one TcpConnection: an SSLObject between two memory BIOs, as asyncio's sslproto does it."""

from __future__ import annotations

import ssl
from collections.abc import Callable

# What one SSLObject.read asks for: a TLS record carries at most 16 KiB of plaintext.
_RECORD = 16 * 1024


class TlsLayer:
    """Turns ciphertext from the socket into plaintext for the connection, and back.

    Never touches the socket: the connection feeds it what it received
    (`feed`), takes what must be sent (`take_output`) and writes that itself,
    so that its queue, water marks and gathered writes work on ciphertext
    exactly as on plaintext. The handshake advances whenever bytes arrive,
    so it never blocks a loop.
    """

    __slots__ = ("_incoming", "_outgoing", "handshake_done", "ssl_object")

    def __init__(self, context: ssl.SSLContext, server_side: bool, server_hostname: str | None) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(self._incoming, self._outgoing, server_side=server_side,
                                           server_hostname=None if server_side else server_hostname)
        self.handshake_done = False

    def feed(self, ciphertext: bytes | memoryview) -> None:
        self._incoming.write(ciphertext)

    def feed_eof(self) -> None:
        self._incoming.write_eof()

    def do_handshake(self) -> bool:
        """Advance the handshake with what has arrived; True once it is done.

        Raises ssl.SSLError when the peer is no TLS peer (a plaintext client),
        offers nothing we accept, or fails verification.
        """
        try:
            self.ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            return False
        self.handshake_done = True
        return True

    def read_into(self, fill: Callable[[Callable[[int, memoryview], int], int], int]) -> bool:
        """Decrypt everything that has arrived, through `fill` (a Buffer's); False once the
        peer has closed TLS (close_notify, or EOF fed)."""
        ssl_object, incoming = self.ssl_object, self._incoming
        read = ssl_object.read
        try:
            while True:
                if fill(read, _RECORD) == 0:
                    return False
                # Nothing left to decrypt: stop here rather than pay for the exception of one more read.
                if not incoming.pending and not ssl_object.pending():
                    return True
        except ssl.SSLWantReadError:  # the rest of a record is still on its way
            return True
        except ssl.SSLZeroReturnError:  # close_notify: a clean end
            return False

    def encrypt(self, data: bytes | bytearray | memoryview) -> bytes:
        """The ciphertext of `data`, ready for the socket (one or more records)."""
        self.ssl_object.write(data)
        return self._outgoing.read()

    def take_output(self) -> bytes:
        """Handshake messages, alerts or key updates waiting to be sent (b"" when none)."""
        return self._outgoing.read() if self._outgoing.pending else b""

    def close_notify(self) -> None:
        """Write our close_notify alert (then `take_output`), to send before the FIN."""
        try:
            self.ssl_object.unwrap()
        except ssl.SSLError:
            pass  # want-read: the alert is written, the peer's answer is not waited for

    def describe(self) -> str:
        """Version and cipher, for the connection's log line."""
        cipher = self.ssl_object.cipher()
        return f"{self.ssl_object.version()} {cipher[0] if cipher else '?'}"
