"""Length-prefixed frames: a 4-byte big-endian length, then that many bytes."""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable

from reactor.buffer import Buffer
from reactor.tcp_connection import TcpConnection

log = logging.getLogger(__name__)

HEADER = struct.Struct("!I")


class LengthFrameCodec:
    """Cuts a byte stream into frames; a bad length closes that connection only.

    Set `codec.on_message` as a connection's message callback; every whole
    frame goes to `frame_callback(conn, payload)`. With `keep_header`, the
    callback gets the frame with its length prefix, ready to be forwarded
    as it is (a relay then sends one buffer, not a rebuilt prefix and a body).
    With `frame_limit`, each connection's maximum is `frame_limit(conn)`, asked
    per frame: an application may allow more once a peer has proven who it is.
    A length over the limit closes the connection as soon as the 4-byte prefix
    is in, before any of the payload is buffered.
    """

    DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024

    def __init__(self, frame_callback: Callable[[TcpConnection, bytes], None],
                 max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, min_frame_size: int = 0,
                 keep_header: bool = False,
                 frame_limit: Callable[[TcpConnection], int] | None = None) -> None:
        self.frame_callback = frame_callback
        self.max_frame_size = max_frame_size
        self.frame_limit = frame_limit
        self.min_frame_size = min_frame_size
        self.keep_header = keep_header
        self.rejected_connections = 0

    def on_message(self, conn: TcpConnection, buffer: Buffer) -> None:
        frame_limit = self.frame_limit
        # A callback that stops reading (flow control) gets no more frames from this buffer either;
        # the connection hands over the rest when reading resumes.
        while len(buffer) >= HEADER.size and not conn.disconnected and conn.is_reading:
            length = buffer.peek_uint32()
            limit = self.max_frame_size if frame_limit is None else frame_limit(conn)
            if not self.min_frame_size <= length <= limit:
                self._reject(conn, buffer, length, limit)
                return
            if len(buffer) < HEADER.size + length:
                return
            if self.keep_header:
                self.frame_callback(conn, buffer.retrieve(HEADER.size + length))
            else:
                buffer.skip(HEADER.size)
                self.frame_callback(conn, buffer.retrieve(length))

    def _reject(self, conn: TcpConnection, buffer: Buffer, length: int, limit: int) -> None:
        self.rejected_connections += 1
        log.warning("%s from %s: frame length %d outside [%d, %d]; closing the connection",
                    conn.name, conn.peer_address, length, self.min_frame_size, limit)
        buffer.skip(len(buffer))
        conn.force_close()

    @staticmethod
    def encode(payload: bytes) -> bytes:
        return HEADER.pack(len(payload)) + payload

    def send(self, conn: TcpConnection, payload: bytes) -> None:
        """Send one frame without copying the payload (header and body gathered)."""
        if len(payload) > self.max_frame_size:
            raise ValueError(f"frame of {len(payload)} bytes exceeds {self.max_frame_size}")
        conn.send_buffers((HEADER.pack(len(payload)), payload))
