"""One load-generator process of relay_bench: many participants on one epoll loop, no threads.

    python -m benchmarks.relay_load --port BASE --plan JSON --clips PATH --latencies PATH \\
        --tag NAME --warmup S --seconds S --drain S

It talks to relay_bench in lines: prints `rooms {key: id}` for the rooms it
opened, reads `rooms {key: id}` naming all of them, prints `ready` once its
participants are in, reads `go T0` (epoch seconds), sends from T0 for warmup +
seconds, keeps receiving for up to drain seconds, writes the latencies (µs,
int64) to the file, prints `result {...}`, and hangs up at the end of its
input. Frames captured inside the measured window count: each is expected by
`fanout` receivers, and what did not arrive by the end is dropped.
"""

from __future__ import annotations

import argparse
import heapq
import json
import select
import socket
import ssl
import struct
import sys
from array import array
from pathlib import Path
from time import time
from typing import Any

from benchmarks.relay_clips import AUDIO_FPS, FPS, Clips
from benchmarks.relay_setup import (
    Participant,
    SetupError,
    client_tls,
    create_rooms,
    join_rooms,
    log_in,
    make_participants,
)
from protocol.framing import LENGTH, FrameKind
from protocol.media import MEDIA_HEADER, Codec, StreamKind
from protocol.messages import encode_message

# A whole media frame's start: length, kind, then the media header.
FRAME_HEAD = struct.Struct("!IB" + MEDIA_HEADER.format.lstrip("!"))
SEQ_CAPTURE = struct.Struct("!Iq")
SEQ_AT = LENGTH.size + 1 + 1 + 4  # after length, kind, stream and sender id
# What a receiver reads of each frame: its length and its capture time.
LENGTH_CAPTURE = struct.Struct(f"!I{SEQ_AT + 4 - LENGTH.size}xq")
RECV_BUFFER = {"audio": 16 * 1024, "video": 128 * 1024}
HEARTBEAT_EVERY = 5.0
_HEARTBEAT = encode_message({"type": "heartbeat", "id": 0})  # replies are read and ignored
LATE = 0.005  # a send this far behind its tick means the generator itself is short of CPU
IN, OUT = select.EPOLLIN, select.EPOLLOUT


class LoadError(RuntimeError):
    """A connection failed while the load ran."""


class MediaConn:
    """One audio or video connection: the frames it sends on its tick and the frames it receives."""

    __slots__ = ("buf", "end", "fanout", "fd", "heads", "index", "payloads", "pending", "period", "seq",
                 "sock", "tls", "view")

    def __init__(self, sock: socket.socket, leftover: bytes, size: int) -> None:
        self.sock = sock
        self.tls = isinstance(sock, ssl.SSLSocket)  # no sendmsg; a read may leave records decrypted
        self.fd = sock.fileno()
        self.buf = bytearray(max(size, 2 * len(leftover)))
        self.buf[:len(leftover)] = leftover
        self.view = memoryview(self.buf)
        self.end = len(leftover)
        self.period = 0.0
        self.fanout = 0
        self.heads: list[bytearray] = []
        self.payloads: list[bytes] = []
        self.index = self.seq = 0
        self.pending: memoryview | None = None

    def prepare_sending(self, stream: StreamKind, user_id: int, codec: int, payloads: list[bytes],
                        keyframes: list[bool], rate: float, fanout: int) -> None:
        """Headers built once per clip frame: each send only packs the sequence and the capture time."""
        self.payloads = payloads
        self.heads = [bytearray(FRAME_HEAD.pack(1 + MEDIA_HEADER.size + len(payload), FrameKind.MEDIA, stream,
                                                user_id, 0, 0, codec, int(keyframe)))
                      for payload, keyframe in zip(payloads, keyframes, strict=True)]
        self.period = 1.0 / rate
        self.fanout = fanout

    def grow(self, size: int) -> None:
        """Room for a frame larger than the buffer (a big key frame)."""
        self.view.release()
        buf = bytearray(size)
        buf[:self.end] = self.buf[:self.end]
        self.buf, self.view = buf, memoryview(buf)


class LoadLoop:
    """Timers for the senders, epoll for everything received; counters for the measured window."""

    def __init__(self, conns: list[MediaConn], controls: list[socket.socket], start: float, warmup: float,
                 seconds: float, drain: float, all_local: bool) -> None:
        self.conns = {conn.fd: conn for conn in conns}
        self.controls = {sock.fileno(): sock for sock in controls}
        self.start = start
        self.w0, self.w1 = start + warmup, start + warmup + seconds
        self.w0_us, self.w1_us = int(self.w0 * 1e6), int(self.w1 * 1e6)
        self.end = self.w1 + drain
        # Rooms wholly inside this process: it sees every delivery and can stop once all arrived.
        self.all_local = all_local
        self.epoll = select.epoll()
        for fd in self.conns:
            self.epoll.register(fd, IN)
        for fd in self.controls:
            self.epoll.register(fd, IN)
        self.latencies: list[int] = []
        self.expected = self.delivered = self.delivered_bytes = self.sent = self.late = self.stalls = 0
        self._scratch = bytearray(64 * 1024)

    def run(self) -> None:
        heap = self._schedule()
        poll, conns = self.epoll.poll, self.conns
        next_heartbeat = self.start + HEARTBEAT_EVERY
        while True:
            now = time()
            while heap and heap[0][0] <= now:
                due, order, conn = heap[0]
                self._send(conn, due)
                due += conn.period  # no skipping ahead: the offered load stays what it claims
                if due < self.w1:
                    heapq.heapreplace(heap, (due, order, conn))
                else:
                    heapq.heappop(heap)
            if now >= self.end or (self.all_local and now >= self.w1 and self.delivered >= self.expected):
                return
            if now >= next_heartbeat:
                self._heartbeat()
                next_heartbeat += HEARTBEAT_EVERY
            wake = min(heap[0][0] if heap else self.end, self.end, next_heartbeat)
            for fd, events in poll(max(0.0, wake - now)):
                conn = conns.get(fd)
                if conn is None:
                    self._drain_control(fd)
                    continue
                if events & OUT:
                    self._flush(conn)
                if events & ~OUT:
                    self._receive(conn)

    def _schedule(self) -> list[tuple[float, int, MediaConn]]:
        """Senders spread over their period (golden-ratio steps), as unsynchronised cameras are."""
        heap = []
        for order, conn in enumerate(c for c in self.conns.values() if c.payloads):
            heap.append((self.start + (order * 0.6180339887 % 1.0) * conn.period, order, conn))
        heapq.heapify(heap)
        return heap

    def _send(self, conn: MediaConn, due: float) -> None:
        now = time()
        capture = int(now * 1e6)
        if self.w0_us <= capture < self.w1_us:
            self.expected += conn.fanout
            self.sent += 1
            if now - due > LATE:
                self.late += 1
        if conn.pending is not None:
            self.stalls += 1  # the server has not taken the last frame yet: this one is lost
            return
        index = conn.index
        head, payload = conn.heads[index], conn.payloads[index]
        SEQ_CAPTURE.pack_into(head, SEQ_AT, conn.seq, capture)
        conn.seq = (conn.seq + 1) & 0xFFFFFFFF
        conn.index = index + 1 if index + 1 < len(conn.payloads) else 0
        try:
            sent = conn.sock.send(bytes(head) + payload) if conn.tls else conn.sock.sendmsg((head, payload))
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        if sent < len(head) + len(payload):
            conn.pending = memoryview(bytes(head) + payload)[sent:]
            self.epoll.modify(conn.fd, IN | OUT)

    def _flush(self, conn: MediaConn) -> None:
        try:
            sent = conn.sock.send(conn.pending)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return
        conn.pending = conn.pending[sent:] if sent < len(conn.pending) else None
        if conn.pending is None:
            self.epoll.modify(conn.fd, IN)

    def _receive(self, conn: MediaConn) -> None:
        """The hot path: one recv_into (under TLS, until nothing is left decrypted), then each whole
        frame costs one unpack_from."""
        while True:
            try:
                received = conn.sock.recv_into(conn.view[conn.end:])
            except (BlockingIOError, ssl.SSLWantReadError):
                return
            if not received:
                raise LoadError("the server closed a media connection")
            self._parse(conn, received)
            if not conn.tls:
                return

    def _parse(self, conn: MediaConn, received: int) -> None:
        now_us = int(time() * 1e6)
        buf, end, pos = conn.buf, conn.end + received, 0
        w0, w1, record = self.w0_us, self.w1_us, self.latencies.append
        count = size = 0
        while end - pos >= LENGTH_CAPTURE.size:
            length, capture = LENGTH_CAPTURE.unpack_from(buf, pos)
            stop = pos + LENGTH.size + length
            if stop > end:
                break
            if w0 <= capture < w1:
                record(now_us - capture)
                count += 1
                size += stop - pos
            pos = stop
        self.delivered += count
        self.delivered_bytes += size
        rest = end - pos
        if pos and rest:
            buf[:rest] = buf[pos:end]
        conn.end = rest
        if rest >= LENGTH.size:
            needed = LENGTH.size + LENGTH.unpack_from(buf)[0]
            if needed > len(buf):
                conn.grow(2 * needed)

    def _drain_control(self, fd: int) -> None:
        """Replies to heartbeats and pushes: read and forgotten, so the server never queues them."""
        sock = self.controls[fd]
        if not sock.recv_into(self._scratch):
            raise LoadError("the server closed a control connection")
        while isinstance(sock, ssl.SSLSocket) and sock.pending():
            sock.recv_into(self._scratch)

    def _heartbeat(self) -> None:
        for sock in self.controls.values():
            sock.sendall(_HEARTBEAT)

    def result(self) -> dict[str, Any]:
        return {"expected": self.expected, "delivered": self.delivered, "bytes": self.delivered_bytes,
                "sent": self.sent, "late": self.late, "stalls": self.stalls}


def media_conns(people: list[Participant], clips: Clips, fanouts: dict[str, int]) -> list[MediaConn]:
    """Turn the set-up sockets into non-blocking MediaConns, senders primed with the clips."""
    conns = []
    for person in people:
        for stream, setup in person.media.items():
            setup.sock.setblocking(False)
            conn = MediaConn(setup.sock, bytes(setup.buffer), RECV_BUFFER[stream])
            if person.sends and stream == "video":
                conn.prepare_sending(StreamKind.VIDEO, person.user_id, clips.video_codec, clips.video,
                                     clips.video_keyframes, FPS, fanouts[person.room_key])
            elif person.sends:
                conn.prepare_sending(StreamKind.AUDIO, person.user_id, Codec.OPUS, clips.audio,
                                     [False] * len(clips.audio), AUDIO_FPS, fanouts[person.room_key])
            conns.append(conn)
    return conns


def say(word: str, value: Any = None) -> None:
    print(word if value is None else f"{word} {json.dumps(value)}", flush=True)


def expect(word: str) -> Any:
    """The value of the next line from relay_bench, which must start with `word`."""
    line = sys.stdin.readline()
    head, _, rest = line.strip().partition(" ")
    if head != word:
        raise SetupError(f"expected {word!r} from relay_bench, got {line[:80]!r}")
    return json.loads(rest)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="relay_bench's load generator (one process)")
    parser.add_argument("--port", type=int, required=True, help="the server's base (control) port")
    parser.add_argument("--plan", required=True, help='JSON: {"rooms": [{key, create, senders, listeners, '
                                                      'fanout}]}')
    parser.add_argument("--clips", type=Path, required=True, help="pre-encoded media from relay_clips")
    parser.add_argument("--latencies", type=Path, required=True, help="where to write latencies (µs)")
    parser.add_argument("--tag", required=True, help="prefix of user names, unique per process and run")
    parser.add_argument("--warmup", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--drain", type=float, required=True)
    parser.add_argument("--tls", action="store_true", help="speak TLS on all three connections")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = json.loads(args.plan)
    clips = Clips.load(args.clips)
    try:
        tls = client_tls() if args.tls else None
        people = make_participants(args.port, plan, args.tag, tls)
        log_in(people, args.port, tls)
        say("rooms", create_rooms(people))
        join_rooms(people, expect("rooms"))
        say("ready")
        start = expect("go")
        fanouts = {room["key"]: room["fanout"] for room in plan["rooms"]}
        all_local = all(room["fanout"] == room["senders"] + room["listeners"] - 1 for room in plan["rooms"])
        load = LoadLoop(media_conns(people, clips, fanouts), [p.control.sock for p in people], start,
                        args.warmup, args.seconds, args.drain, all_local)
        load.run()
    except (SetupError, LoadError, OSError) as exc:
        print(f"relay_load: {exc}", file=sys.stderr, flush=True)
        return 1
    with args.latencies.open("wb") as file:
        array("q", load.latencies).tofile(file)
    say("result", load.result())
    sys.stdin.read()  # hang up only when told (end of input), after relay_bench has stopped the relay
    return 0


if __name__ == "__main__":
    sys.exit(main())
