"""The request/reply part of a load generator's life: accounts, media connections, rooms.

Each step is sent to every participant at once and then all replies are
awaited, so that setting up hundreds of participants costs a few round trips
(and the server's password hashing), not hundreds.
"""

from __future__ import annotations

import json
import selectors
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from protocol import PROTOCOL_VERSION
from protocol.framing import LENGTH, FrameKind
from protocol.messages import encode_message

SETUP_TIMEOUT = 120.0  # hundreds of argon2 hashes on a busy 2-core machine
PASSWORD = "relay-bench-password"
# Pushes that no step waits for; skipping them unparsed matters in a big room,
# where every join sends the whole member list to everyone.
_SKIPPED_PUSH = b'{"type":"members"'


class SetupError(RuntimeError):
    """The server refused or did not answer a setup step; the message says which and why."""


def client_tls() -> ssl.SSLContext:
    """TLS without checking the relay's throwaway certificate: the cost measured is the relay's."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class FrameSocket:
    """A blocking TCP connection (TLS with `tls`) that sends requests and reads whole frames."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=SETUP_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls.wrap_socket(sock, server_hostname="127.0.0.1") if tls is not None else sock
        self.buffer = bytearray()
        self._next_id = 0

    def send_request(self, kind: str, **fields: Any) -> int:
        self._next_id += 1
        self.sock.sendall(encode_message({"type": kind, "id": self._next_id, **fields}))
        return self._next_id

    def read_messages(self) -> list[dict[str, Any]]:
        """Control messages complete after one recv (the socket must be readable)."""
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise SetupError("the server closed a connection during setup")
        buffer = self.buffer
        buffer += chunk
        # TLS hands out one record per recv: what is decrypted already never makes the socket readable.
        while isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            buffer += self.sock.recv(1 << 20)
        messages, start = [], 0
        while len(buffer) - start >= LENGTH.size:
            (length,) = LENGTH.unpack_from(buffer, start)
            end = start + LENGTH.size + length
            if end > len(buffer):
                break
            payload_at = start + LENGTH.size + 1
            if (buffer[payload_at - 1] == FrameKind.CONTROL
                    and buffer[payload_at:payload_at + len(_SKIPPED_PUSH)] != _SKIPPED_PUSH):
                messages.append(json.loads(buffer[payload_at:end]))
            start = end
        del buffer[:start]
        return messages


def exchange(requests: list[tuple[FrameSocket, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send one request on each connection at once; the results in order, or SetupError."""
    waiting: dict[FrameSocket, tuple[int, int, str]] = {}
    with selectors.DefaultSelector() as selector:
        for index, (conn, kind, fields) in enumerate(requests):
            waiting[conn] = (index, conn.send_request(kind, **fields), kind)
            selector.register(conn.sock, selectors.EVENT_READ, conn)
        results: list[dict[str, Any]] = [{}] * len(requests)
        deadline = time.monotonic() + SETUP_TIMEOUT
        while waiting:
            events = selector.select(deadline - time.monotonic())
            if not events:
                raise SetupError(f"{len(waiting)} {next(iter(waiting.values()))[2]} request(s) "
                                 f"unanswered after {SETUP_TIMEOUT:.0f} s")
            for key, _ in events:
                conn = key.data
                index, request_id, kind = waiting[conn]
                for message in conn.read_messages():
                    if message.get("type") != "reply" or message.get("id") != request_id:
                        continue
                    if "error" in message:
                        raise SetupError(f"{kind} failed: {message['error']}")
                    results[index] = message["result"]
                    selector.unregister(conn.sock)
                    del waiting[conn]
    return results


@dataclass(eq=False)
class Participant:
    """One simulated person: a control connection and, once logged in, audio and video."""

    name: str
    room_key: str
    sends: bool
    creates: bool
    control: FrameSocket
    user_id: int = 0
    token: str = ""
    media: dict[str, FrameSocket] = field(default_factory=dict)


def make_participants(port: int, plan: dict[str, Any], tag: str,
                      tls: ssl.SSLContext | None = None) -> list[Participant]:
    """Connect the control connection of everyone this process plays, as the plan lays out."""
    people = []
    for room in plan["rooms"]:
        roles = [True] * room["senders"] + [False] * room["listeners"]
        for index, sends in enumerate(roles):
            people.append(Participant(f"{tag}-{room['key']}-{index}", room["key"], sends,
                                      room["create"] and index == 0, FrameSocket(port, tls)))
    return people


def log_in(people: list[Participant], port: int, tls: ssl.SSLContext | None = None) -> None:
    """hello, register, login, then media_hello on a fresh audio and video connection each."""
    exchange([(p.control, "hello", {"version": PROTOCOL_VERSION, "client": "relay_bench"}) for p in people])
    exchange([(p.control, "register", {"username": p.name, "password": PASSWORD}) for p in people])
    for person, result in zip(people, exchange(
            [(p.control, "login", {"username": p.name, "password": PASSWORD}) for p in people]), strict=True):
        person.token, person.user_id = result["token"], result["user"]["user_id"]
    hellos = []
    for person in people:
        for offset, stream in ((1, "audio"), (2, "video")):
            person.media[stream] = FrameSocket(port + offset, tls)
            hellos.append((person.media[stream], "media_hello", {"token": person.token, "stream": stream}))
    exchange(hellos)


def create_rooms(people: list[Participant]) -> dict[str, str]:
    """Room key -> room id, for the rooms this process opens."""
    owners = [p for p in people if p.creates]
    results = exchange([(p.control, "create_room", {"title": p.room_key}) for p in owners])
    return {owner.room_key: result["room"]["room_id"] for owner, result in zip(owners, results, strict=True)}


def join_rooms(people: list[Participant], room_ids: dict[str, str]) -> None:
    exchange([(p.control, "join_room", {"room_id": room_ids[p.room_key]}) for p in people if not p.creates])
