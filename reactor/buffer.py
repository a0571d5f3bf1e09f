"""A growable byte buffer with a read index, filled straight from a socket."""

from __future__ import annotations

import socket
from collections.abc import Callable


class Buffer:
    """Bytes received but not yet consumed, as in muduo's Buffer.

    Data lives in one bytearray between a read index and a write index;
    `recv_into` lets the kernel write into the free tail, so no temporary
    bytes object is made per read. Consumed space is reclaimed by moving the
    unread bytes to the front only when the tail is too small.
    """

    __slots__ = ("_data", "_read", "_view", "_write")

    INITIAL_SIZE = 64 * 1024

    def __init__(self, initial_size: int = INITIAL_SIZE) -> None:
        self._data = bytearray(initial_size)
        # One long-lived view, so that a read or a copy-out needs no new one;
        # it is released whenever the bytearray must be resized.
        self._view = memoryview(self._data)
        self._read = 0
        self._write = 0

    def __len__(self) -> int:
        return self._write - self._read

    @property
    def capacity(self) -> int:
        return len(self._data)

    def peek(self, n: int | None = None) -> bytes:
        """A copy of the first n readable bytes (all by default), not consumed."""
        end = self._write if n is None else min(self._write, self._read + n)
        return bytes(self._view[self._read:end])

    def peek_uint32(self, offset: int = 0) -> int:
        """A big-endian 32-bit integer at `offset` into the readable bytes."""
        start = self._read + offset
        return int.from_bytes(self._view[start:start + 4], "big")

    def retrieve(self, n: int) -> bytes:
        """Consume and return the first n readable bytes."""
        start = self._read
        end = start + n
        if end > self._write:
            raise ValueError(f"retrieve({n}) with only {len(self)} bytes readable")
        out = bytes(self._view[start:end])
        if end == self._write:
            self._read = self._write = 0
        else:
            self._read = end
        return out

    def retrieve_all(self) -> bytes:
        out = bytes(self._view[self._read:self._write])
        self._read = self._write = 0
        return out

    def skip(self, n: int) -> None:
        """Consume n bytes without copying them."""
        self._read += n
        if self._read >= self._write:
            self._read = self._write = 0

    def append(self, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        self._make_room(n)
        self._view[self._write:self._write + n] = data
        self._write += n

    def recv_into(self, sock: socket.socket, min_room: int = 16 * 1024) -> int:
        """One recv_into the free tail; returns what recv_into returns."""
        if len(self._data) - self._write < min_room:
            self._make_room(min_room)
        n = sock.recv_into(self._view[self._write:])
        self._write += n
        return n

    def fill(self, read_into: Callable[[int, memoryview], int], min_room: int) -> int:
        """One `read_into(n, view)` (an SSLObject's read) into the free tail; returns its count."""
        if len(self._data) - self._write < min_room:
            self._make_room(min_room)
        n = read_into(min_room, self._view[self._write:])
        self._write += n
        return n

    def shrink(self, keep: int = INITIAL_SIZE) -> None:
        """Give back memory after a burst, keeping unread bytes."""
        if self.capacity > keep and len(self) <= keep:
            unread = self._view[self._read:self._write].tobytes()
            self._view.release()
            self._data = bytearray(unread) + bytearray(keep - len(unread))
            self._view = memoryview(self._data)
            self._read = 0
            self._write = len(unread)

    def _make_room(self, n: int) -> None:
        if len(self._data) - self._write >= n:
            return
        readable = self._write - self._read
        if self._read > 0:
            # Slide the unread bytes to the front to reuse consumed space.
            # (a bytearray slice is a copy: the two ranges may overlap)
            self._data[0:readable] = self._data[self._read:self._write]
            self._read = 0
            self._write = readable
        free = len(self._data) - readable
        if free < n:
            # Grow at least twofold so that a stream of appends costs O(n).
            self._view.release()
            self._data.extend(bytes(max(n - free, len(self._data))))
            self._view = memoryview(self._data)
