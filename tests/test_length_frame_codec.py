"""LengthFrameCodec: frames across reads, and bad lengths close one connection."""

import logging
import socket
import struct
import time

from reactor.length_frame_codec import LengthFrameCodec
from tests.conftest import connection_count, recv_exactly, running_server, wait_until


def _echo_codec(max_frame_size=1024, min_frame_size=0):
    frames = []

    def configure(server):
        def on_frame(conn, frame):
            frames.append(frame)
            codec.send(conn, frame)

        codec = LengthFrameCodec(on_frame, max_frame_size, min_frame_size)
        server.message_callback = codec.on_message

    return configure, frames


def test_frames_split_and_merged_across_reads_come_out_whole():
    configure, frames = _echo_codec()
    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            stream = b"".join(LengthFrameCodec.encode(p) for p in [b"one", b"", b"three" * 50, b"4"])
            for i in range(0, len(stream), 7):  # dribble it in odd pieces
                sock.sendall(stream[i:i + 7])
                time.sleep(0.001)
            assert recv_exactly(sock, len(stream)) == stream
    assert frames == [b"one", b"", b"three" * 50, b"4"]


def test_oversize_length_closes_only_that_connection_and_says_why(caplog):
    configure, _ = _echo_codec(max_frame_size=1024)
    with running_server(threads=2, configure=configure) as server:
        good = socket.create_connection(("127.0.0.1", server.port))
        bad = socket.create_connection(("127.0.0.1", server.port))
        with caplog.at_level(logging.WARNING, logger="reactor.length_frame_codec"):
            bad.sendall(struct.pack("!I", 1_000_000) + b"garbage")
            bad.settimeout(5)
            assert bad.recv(10) == b""
        assert any("frame length 1000000 outside [0, 1024]" in r.getMessage() for r in caplog.records)
        assert wait_until(lambda: connection_count(server) == 1)
        good.sendall(LengthFrameCodec.encode(b"still fine"))
        assert recv_exactly(good, 14) == LengthFrameCodec.encode(b"still fine")
        good.close()
        bad.close()


def test_length_below_the_minimum_is_rejected():
    configure, frames = _echo_codec(min_frame_size=1)
    with running_server(configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(struct.pack("!I", 0))
            sock.settimeout(5)
            assert sock.recv(10) == b""
    assert frames == []


def test_send_refuses_a_frame_over_the_maximum():
    codec = LengthFrameCodec(lambda conn, frame: None, max_frame_size=4)
    try:
        codec.send(None, b"too long")
    except ValueError as exc:
        assert "exceeds 4" in str(exc)
    else:
        raise AssertionError("no ValueError")


def test_keep_header_hands_over_the_frame_as_it_came():
    frames = []

    def configure(server):
        def forward(conn, frame):
            frames.append(frame)
            conn.send(frame)

        codec = LengthFrameCodec(forward, keep_header=True)
        server.message_callback = codec.on_message

    with running_server(configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            stream = LengthFrameCodec.encode(b"forward me") + LengthFrameCodec.encode(b"")
            sock.sendall(stream)
            assert recv_exactly(sock, len(stream)) == stream
    assert frames == [LengthFrameCodec.encode(b"forward me"), LengthFrameCodec.encode(b"")]


def test_a_per_connection_limit_is_asked_per_frame_and_closes_before_the_payload():
    """An application raises a connection's limit once it has proven itself (the meeting server at login)."""
    frames = []
    proven = set()

    def configure(server):
        def on_frame(conn, frame):
            frames.append(frame)
            if frame == b"login":
                proven.add(conn.name)

        codec = LengthFrameCodec(on_frame, 1 << 20,
                                 frame_limit=lambda conn: 100 if conn.name in proven else 10)
        server.message_callback = codec.on_message

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(LengthFrameCodec.encode(b"login") + LengthFrameCodec.encode(b"x" * 100))
            assert wait_until(lambda: len(frames) == 2)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(struct.pack("!I", 11))  # no payload at all: the length is enough to refuse it
            sock.settimeout(5)
            assert sock.recv(1) == b""
    assert frames == [b"login", b"x" * 100]


def test_a_callback_that_stops_reading_gets_the_rest_of_the_buffer_only_when_reading_resumes():
    """Flow control: frames already read stay in the buffer while paused, and come without new data."""
    frames = []
    paused = []

    def configure(server):
        def on_frame(conn, frame):
            frames.append(frame)
            if len(frames) == 1:
                conn.stop_reading()
                paused.append(conn)

        codec = LengthFrameCodec(on_frame, 1024)
        server.message_callback = codec.on_message

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"".join(LengthFrameCodec.encode(p) for p in (b"1", b"2", b"3")))
            assert wait_until(lambda: paused)
            time.sleep(0.1)
            assert frames == [b"1"]
            paused[0].start_reading()
            assert wait_until(lambda: len(frames) == 3)
    assert frames == [b"1", b"2", b"3"]
