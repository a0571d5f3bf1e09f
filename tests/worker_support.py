"""Shared by the Qt worker tests: a server on loopback, members in a room, and workers on threads."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from typing import Any

from PyQt5.QtCore import QObject

from protocol.media import MediaHeader, StreamKind
from qt_client.net import MeetingClient
from qt_client.workers.worker_thread import WorkerThread
from tests.tls_support import meeting_client

PASSWORD = "worker-password"


def member(port: int, username: str, room_id: str | None = None) -> MeetingClient:
    """A registered, logged-in client in a new room (room_id None) or in room_id."""
    client = meeting_client("127.0.0.1", port, request_timeout=3.0)
    client.connect()
    client.register(username, PASSWORD)
    client.login(username, PASSWORD)
    if room_id is None:
        client.create_room(title=f"{username}'s room")
    else:
        client.join_room(room_id)
    return client


@contextlib.contextmanager
def running(worker: QObject, name: str) -> Iterator[WorkerThread]:
    """The worker on its own started thread; after the test, its thread must have ended."""
    thread = WorkerThread(worker, name)
    thread.start()
    try:
        yield thread
    finally:
        assert thread.stop(3000), f"{name} did not stop"
        assert thread.qthread.isFinished()


def media_since(frames: queue.Queue, stream: StreamKind, seconds: float) -> list[tuple[MediaHeader, bytes]]:
    """The frames of one stream that arrive within the next `seconds` (others are discarded)."""
    out = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            header, payload = frames.get(timeout=remaining)
        except queue.Empty:
            break
        if header.stream is stream:
            out.append((header, bytes(payload)))
    return out


def drain(frames: queue.Queue) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            frames.get_nowait()


def ids(members: list[dict[str, Any]]) -> set[int]:
    return {m["user_id"] for m in members}


@contextlib.contextmanager
def sender_and_receiver(db_url: str) -> Iterator[tuple[MeetingClient, queue.Queue]]:
    """ada, who sends, and the queue of what bob, in her room, receives; on a fresh server."""
    from tests.conftest import running_meeting_server

    with running_meeting_server(db_url) as server:
        ada = member(server.control_port, "ada")
        bob = member(server.control_port, "bob", ada.room["room_id"])
        try:
            yield ada, bob.media_queue(1024)
        finally:
            bob.close()
            ada.close()

