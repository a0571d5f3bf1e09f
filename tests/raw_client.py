"""A deliberately plain, blocking protocol client for server tests.

It speaks the bytes of docs/PROTOCOL.md directly (not through qt_client), so
tests can also send what a real client never would. Over TLS by default (with
Python's own ssl module and the test certificate as its CA), in clear with
`tls=False` against a server run without TLS.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
import struct
import time
from typing import Any

from protocol import PROTOCOL_VERSION
from protocol.framing import FrameKind, encode_frame
from protocol.media import MEDIA_HEADER, Codec, MediaHeader, MediaSource, StreamKind, parse_media_header


class ServerClosed(Exception):
    """The server closed the connection."""


class RawConnection:
    """One TCP connection: frames out, frames in, requests matched by id."""

    def __init__(self, port: int, timeout: float = 5.0, tls: bool = True, source: str | None = None) -> None:
        # source: a loopback address of 127.0.0.0/8 to connect from, so that one test can be
        # several client addresses (rate limits and the hashing queue key on the address).
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                        source_address=None if source is None else (source, 0))
        if tls:
            from tests.tls_support import cert_path

            try:
                sock = ssl.create_default_context(cafile=str(cert_path())).wrap_socket(
                    sock, server_hostname="127.0.0.1")
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        # A byte read to see whether anything arrives (TLS sockets cannot peek), served first.
        self._stash = b""
        self.pushes: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_raw(encode_frame(FrameKind.CONTROL, json.dumps(message).encode()))

    def read_frame(self) -> tuple[int, bytes]:
        header = self._read_exactly(4)
        body = self._read_exactly(struct.unpack("!I", header)[0])
        return body[0], body[1:]

    def _read_exactly(self, n: int) -> bytes:
        data = bytearray(self._stash[:n])
        self._stash = self._stash[n:]
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ServerClosed(f"closed after {len(data)} of {n} bytes")
            data += chunk
        return bytes(data)

    def read_message(self) -> dict[str, Any]:
        kind, payload = self.read_frame()
        assert kind == FrameKind.CONTROL, kind
        return json.loads(payload)

    def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a request; return its reply, keeping pushes that come first."""
        request_id = next(self._ids)
        self.send_json({"type": kind, "id": request_id, **fields})
        return self.wait_reply(request_id)

    def wait_reply(self, request_id: Any) -> dict[str, Any]:
        while True:
            message = self.read_message()
            if message.get("type") == "reply" and message.get("id") == request_id:
                return message
            self.pushes.append(message)

    def ok(self, kind: str, **fields: Any) -> dict[str, Any]:
        """The result of a request that must succeed."""
        answer = self.request(kind, **fields)
        assert "result" in answer, answer
        return answer["result"]

    def error_code(self, kind: str, **fields: Any) -> str:
        answer = self.request(kind, **fields)
        assert "error" in answer, answer
        assert answer["error"]["message"], answer
        return answer["error"]["code"]

    def wait_push(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The first push of this type (and these field values), kept or yet to come."""
        deadline = time.monotonic() + timeout
        while True:
            for push in self.pushes:
                if push.get("type") == kind and all(push.get(k) == v for k, v in match.items()):
                    self.pushes.remove(push)
                    return push
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} push {match} within {timeout}s; got {self.pushes}")
            self.sock.settimeout(remaining)
            try:
                self.pushes.append(self.read_message())
            finally:
                self.sock.settimeout(5.0)

    def nothing_arrives(self, seconds: float = 0.3) -> bool:
        """True if no byte arrives within `seconds` (nothing is consumed)."""
        if self._stash:
            return False
        self.sock.settimeout(seconds)
        try:
            self._stash = self.sock.recv(1)
            return not self._stash
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(5.0)

    def is_closed_by_server(self, timeout: float = 5.0) -> bool:
        """True once the server has closed (reading what is still queued)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, ssl.SSLEOFError):  # ssl: closed without close_notify
            return True
        except TimeoutError:
            return False


class Participant:
    """A logged-in user with control, audio and video connections."""

    def __init__(self, server, username: str, password: str = "secret-pw", register: bool = True,
                 source: str | None = None) -> None:
        # TLS unless the server is a MeetingServer run without it (a server process says whether it has it).
        self.tls = getattr(server, "tls", True) not in (None, False)
        self.source = source
        self.control = RawConnection(server.control_port, tls=self.tls, source=source)
        self.control.ok("hello", version=PROTOCOL_VERSION)
        if register:
            self.user_id = self.control.ok("register", username=username, password=password)["user_id"]
        login = self.control.ok("login", username=username, password=password)
        self.user_id = login["user"]["user_id"]
        self.username = username
        self.token = login["token"]
        self.audio = self._media(login["audio_port"], "audio")
        self.video = self._media(login["video_port"], "video")
        self.sequence = 0

    def _media(self, port: int, stream: str) -> RawConnection:
        conn = RawConnection(port, tls=self.tls, source=self.source)
        assert conn.ok("media_hello", token=self.token, stream=stream)["user_id"] == self.user_id
        return conn

    def send_media(self, stream: StreamKind, payload: bytes, codec: Codec | None = None,
                   keyframe: bool = False, source: MediaSource = MediaSource.CAMERA) -> MediaHeader:
        self.sequence += 1
        header = MediaHeader(stream, self.user_id, self.sequence, int(time.time() * 1e6),
                             codec or (Codec.OPUS if stream is StreamKind.AUDIO else Codec.JPEG),
                             keyframe, source)
        conn = self.audio if stream is StreamKind.AUDIO else self.video
        conn.send_raw(encode_frame(FrameKind.MEDIA, header.pack() + payload))
        return header

    def read_media(self, stream: StreamKind) -> tuple[MediaHeader, bytes]:
        conn = self.audio if stream is StreamKind.AUDIO else self.video
        kind, body = conn.read_frame()
        assert kind == FrameKind.MEDIA, kind
        return parse_media_header(body), body[MEDIA_HEADER.size:]

    def close(self) -> None:
        for conn in (self.control, self.audio, self.video):
            conn.close()


def room_of(server, *names: str) -> list[Participant]:
    """Participants with these names, all in one new room (the first one created it)."""
    people = [Participant(server, name) for name in names]
    room_id = people[0].control.ok("create_room")["room"]["room_id"]
    for person in people[1:]:
        person.control.ok("join_room", room_id=room_id)
    return people

