"""The relay never reorders one sender's frames: thousands of frames, several senders (a camera and a
screen share among them), a fast and a slow receiver, with 1, 2 and 4 I/O loops."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from protocol.media import MediaSource, StreamKind
from tests.conftest import running_meeting_server
from tests.raw_client import room_of

VIDEO = StreamKind.VIDEO
FRAMES_PER_STREAM = 800
LAST = b"last"


def receive_until_last(person: Any, streams: int, pause_every: int, seen: dict, errors: list) -> None:
    """Read video until the last frame of every stream came; `pause_every` > 0 makes a slow reader."""
    finished: set = set()
    count = 0
    try:
        while len(finished) < streams:
            header, payload = person.read_media(VIDEO)
            key = header.sender_id, header.source
            seen.setdefault(key, []).append(header.sequence)
            if payload == LAST:
                finished.add(key)
            count += 1
            if pause_every and count % pause_every == 0:
                time.sleep(0.002)
    except Exception as exc:  # reported by the test, not lost on a thread
        errors.append(exc)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_frames_of_each_sender_leave_in_the_order_they_came(tmp_path: Any, threads: int) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", threads=threads) as server:
        alice, bob, carol, fast, slow = room_of(server, "alice", "bob", "carol", "fast", "slow")
        time.sleep(0.1)  # the routes reach every loop
        streams = [(alice, MediaSource.CAMERA), (alice, MediaSource.SCREEN), (bob, MediaSource.CAMERA),
                   (carol, MediaSource.CAMERA)]
        seen: dict[str, dict] = {"fast": {}, "slow": {}}
        errors: list = []
        readers = [threading.Thread(target=receive_until_last, daemon=True,
                                    args=(person, len(streams), pause_every, seen[name], errors))
                   for person, pause_every, name in ((fast, 0, "fast"), (slow, 10, "slow"))]
        for reader in readers:
            reader.start()
        payload = os.urandom(8 * 1024)
        # Alice's camera and screen share one video connection (and sequence counter), as in a client.
        locks = {person.user_id: threading.Lock() for person in (alice, bob, carol)}

        def send(person: Any, source: MediaSource) -> None:
            for index in range(FRAMES_PER_STREAM):
                with locks[person.user_id]:
                    person.send_media(VIDEO, LAST if index == FRAMES_PER_STREAM - 1 else payload,
                                      source=source)

        senders = [threading.Thread(target=send, args=stream, daemon=True) for stream in streams]
        for sender in senders:
            sender.start()
        for thread in senders + readers:
            thread.join(60)
        assert not errors, errors
        assert not any(thread.is_alive() for thread in readers), "a receiver never got every last frame"
        for name, received in seen.items():
            assert set(received) == {(person.user_id, source) for person, source in streams}, name
            for key, sequences in received.items():
                assert sequences == sorted(sequences), (name, key)  # no reversal, ever
                assert len(set(sequences)) == len(sequences), (name, key)  # no duplicate
        # The fast one kept up; the slow one skipped stale frames, but of every stream it got the last.
        assert sum(map(len, seen["fast"].values())) > sum(map(len, seen["slow"].values())) * 0.5
