"""A receiver that never reads, in a room of 5 on a real server process: the four others' video
latency stays as it was (p95 within 5 ms), the server's memory stays flat, and the one that reads
nothing is removed once its queued media has not moved for 10 s (the default), the room told."""

from __future__ import annotations

import itertools
import os
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.soak import process_figures
from protocol.media import StreamKind
from tests.conftest import free_base_port
from tests.faults.test_chat_survives_a_crash import start_server
from tests.raw_client import Participant, ServerClosed

VIDEO = StreamKind.VIDEO
FPS = 15
FRAME_BYTES = 16 * 1024
PHASE_SECONDS = 6.0
STAMP = struct.Struct("!d")  # time.monotonic() at sending: one process, one clock


@dataclass
class Server:
    control_port: int


class Member:
    """Sends video at FPS and reads everyone else's, noting each frame's latency with the phase it fell in."""

    def __init__(self, server: Server, name: str) -> None:
        self.person = Participant(server, name)
        self.phase = "before"
        self.latencies: dict[str, list[float]] = {"before": [], "during": []}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, daemon=True),
                         threading.Thread(target=self._read, daemon=True)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.person.close()

    def _send(self) -> None:
        filler = os.urandom(FRAME_BYTES)
        next_at = time.monotonic()
        for count in itertools.count():
            if self._stop.is_set():
                return
            try:
                self.person.send_media(VIDEO, STAMP.pack(time.monotonic()) + filler)
                if count % FPS == 0:  # a heartbeat a second keeps the session (replies left unread)
                    self.person.control.send_json({"type": "heartbeat", "id": count})
            except OSError:
                return
            next_at += 1 / FPS
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                _, payload = self.person.read_media(VIDEO)
            except (OSError, AssertionError, ServerClosed):  # the server stopped at the test's end
                return
            (sent,) = STAMP.unpack_from(payload)
            if self.phase in self.latencies:
                self.latencies[self.phase].append(time.monotonic() - sent)


def p95_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return 1000 * ordered[int(0.95 * (len(ordered) - 1))]


def test_a_receiver_that_never_reads_costs_the_others_nothing_and_goes_after_10_s(tmp_path: Path) -> None:
    port = free_base_port()
    process = start_server(port, tmp_path / "m.db")
    server = Server(port)
    members: list[Member] = []
    stuck = None
    try:
        members = [Member(server, f"member{n}") for n in range(4)]
        room_id = members[0].person.control.ok("create_room")["room"]["room_id"]
        for member in members[1:]:
            member.person.control.ok("join_room", room_id=room_id)
        for member in members:
            member.start()
        time.sleep(1.0)  # settled
        for member in members:
            member.phase = "before"
        time.sleep(PHASE_SECONDS)

        stuck = Participant(server, "stuck")  # joins, then never reads a byte of media
        stuck.control.ok("join_room", room_id=room_id)
        joined = time.monotonic()
        time.sleep(1.0)  # its socket buffers fill: from here on the server holds its frames
        rss_start, _ = process_figures(process.pid)
        for member in members:
            member.phase = "during"
        time.sleep(PHASE_SECONDS)
        for member in members:
            member.phase = "after"
        rss_end, _ = process_figures(process.pid)

        before = [latency for member in members for latency in member.latencies["before"]]
        during = [latency for member in members for latency in member.latencies["during"]]
        expected = 4 * 3 * FPS * PHASE_SECONDS  # each of 4 receives 3 senders' frames
        assert len(before) > 0.8 * expected and len(during) > 0.8 * expected, (len(before), len(during))
        p95_before, p95_during = p95_ms(before), p95_ms(during)
        print(f"others' video latency p95: {p95_before:.2f} ms before, {p95_during:.2f} ms with a receiver "
              f"that never reads; server RSS {rss_start:.1f} -> {rss_end:.1f} MiB")
        assert abs(p95_during - p95_before) < 5.0
        assert rss_end - rss_start < 8.0  # MiB: latest-wins holds one frame per sender for it

        ended = stuck.control.wait_push("session_ended", timeout=20)
        removed_after = time.monotonic() - joined
        assert ended["reason"] == "too_slow"
        assert removed_after >= 10.0, removed_after  # not before its output stood still for 10 s
        first = members[0].person.control
        while any(m["username"] == "stuck" for m in first.wait_push("members")["members"]):
            pass  # an older list (its joining); wait_push fails the test if none without it comes
    finally:
        for member in members:
            member.stop()
        if stuck is not None:
            stuck.close()
        process.kill()
        process.wait(10)
