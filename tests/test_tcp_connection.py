"""TcpConnection: byte-exact transfer, flow control, half-close, errors."""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

from reactor.echo_server import EchoServer
from reactor.event_loop_thread import EventLoopThread
from reactor.tcp_connection import TcpConnection
from tests.conftest import call_in_loop, connection_count, recv_exactly, running_server, wait_until

MiB = 1024 * 1024


def _start_echo(threads: int, high_water_mark: int = 4 * MiB):
    base = EventLoopThread("echo-base")
    loop = base.start_loop()

    def make():
        server = EchoServer(loop, "127.0.0.1", 0, threads, high_water_mark)
        server.start()
        return server

    return base, call_in_loop(loop, make)


def _stop_echo(base, server):
    call_in_loop(base.loop, server.stop)
    base.stop()


def test_fifty_mib_echo_arrives_byte_exact():
    base, server = _start_echo(threads=2)
    try:
        payload = os.urandom(50 * MiB)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sender = threading.Thread(target=sock.sendall, args=(payload,))
            sender.start()
            echoed = recv_exactly(sock, len(payload))
            sender.join()
        assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    finally:
        _stop_echo(base, server)


def test_a_peer_that_never_reads_fires_the_high_water_mark_and_memory_stays_bounded():
    high_water = 1 * MiB
    base, server = _start_echo(threads=1, high_water_mark=high_water)
    fired = []
    original = server.server.high_water_mark_callback

    def record(conn, queued):
        fired.append(queued)
        original(conn, queued)

    server.server.high_water_mark_callback = record
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.setblocking(False)
            chunk = b"x" * 65536
            sent = 0
            stalled_since = None
            # Push until the kernel refuses more for half a second: the server
            # must have stopped reading from us by then.
            while sent < 256 * MiB:
                try:
                    sent += sock.send(chunk)
                    stalled_since = None
                except BlockingIOError:
                    stalled_since = stalled_since or time.monotonic()
                    if time.monotonic() - stalled_since > 0.5:
                        break
                    time.sleep(0.01)
            tcp_server = server.server
            conn = call_in_loop(tcp_server.loop, lambda: next(iter(tcp_server.connections.values())))
            queued = call_in_loop(conn.loop, lambda: conn.output_bytes)
            reading = call_in_loop(conn.loop, lambda: conn.is_reading)
        assert fired, "high-water-mark callback never fired"
        assert not reading
        # Bounded by the mark plus what one read can add, not by what was sent.
        assert high_water <= queued <= high_water + 2 * TcpConnection.RECV_ROOM + 65536
        assert sent < 64 * MiB
    finally:
        _stop_echo(base, server)


def test_reading_resumes_once_the_slow_peer_catches_up():
    base, server = _start_echo(threads=1, high_water_mark=256 * 1024)
    try:
        payload = os.urandom(8 * MiB)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sender = threading.Thread(target=sock.sendall, args=(payload,))
            sender.start()
            time.sleep(0.3)  # let the server hit the mark and pause
            echoed = recv_exactly(sock, len(payload))
            sender.join()
        assert echoed == payload
    finally:
        _stop_echo(base, server)


def test_shutdown_delivers_all_pending_output_before_fin():
    blob = os.urandom(8 * MiB)
    received_after_fin = []

    def configure(server):
        def on_connection(conn):
            if conn.connected:
                conn.send(blob)  # far more than the socket buffer holds
                conn.shutdown()

        def on_message(conn, buffer):
            received_after_fin.append(buffer.retrieve_all())

        server.connection_callback = on_connection
        server.message_callback = on_message

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            time.sleep(0.3)  # output is queued in the server meanwhile
            data = bytearray()
            while chunk := sock.recv(1 << 20):
                data += chunk
            assert bytes(data) == blob
            # Half-close: the server still reads what we send after its FIN.
            sock.sendall(b"bye")
            assert wait_until(lambda: b"".join(received_after_fin) == b"bye", timeout=3)


def test_peer_reset_mid_frame_closes_only_that_connection():
    from reactor.length_frame_codec import LengthFrameCodec

    def configure(server):
        codec = LengthFrameCodec(lambda conn, frame: codec.send(conn, frame))
        server.message_callback = codec.on_message

    with running_server(threads=2, configure=configure) as server:
        good = socket.create_connection(("127.0.0.1", server.port))
        bad = socket.create_connection(("127.0.0.1", server.port))
        assert wait_until(lambda: connection_count(server) == 2)
        bad.sendall(struct.pack("!I", 1000) + b"half a frame")
        time.sleep(0.05)
        bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        bad.close()  # RST instead of FIN
        assert wait_until(lambda: connection_count(server) == 1)
        good.sendall(struct.pack("!I", 5) + b"hello")
        assert recv_exactly(good, 9) == struct.pack("!I", 5) + b"hello"
        good.close()


def test_force_close_inside_a_callback_closes_once_after_the_callback():
    events = []

    def configure(server):
        def on_connection(conn):
            events.append("up" if conn.connected else "down")

        def on_message(conn, buffer):
            buffer.skip(len(buffer))
            conn.force_close()
            events.append("callback still running")
            conn.send(b"ignored")  # harmless once closing
            conn.force_close()

        server.connection_callback = on_connection
        server.message_callback = on_message

    with running_server(configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"close me")
            assert sock.recv(100) == b""
        assert wait_until(lambda: connection_count(server) == 0)
        assert events == ["up", "callback still running", "down"]


def test_send_from_another_thread_copies_a_mutable_buffer():
    conns = []

    def configure(server):
        server.connection_callback = lambda conn: conn.connected and conns.append(conn)

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            assert wait_until(lambda: conns)
            data = bytearray(b"original")
            conns[0].send(data)
            data[:] = b"changed!"
            assert recv_exactly(sock, 8) == b"original"


def test_write_complete_fires_when_output_drains():
    completed = threading.Event()

    def configure(server):
        server.connection_callback = lambda conn: conn.connected and conn.send(b"y" * (4 * MiB))
        server.write_complete_callback = lambda conn: completed.set()

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            time.sleep(0.2)
            assert not completed.is_set()  # still queued: we have not read
            recv_exactly(sock, 4 * MiB)
            assert completed.wait(3)


def test_a_paused_connection_whose_peer_hangs_up_does_not_make_the_loop_spin():
    conns = []

    def configure(server):
        def on_connection(conn):
            if conn.connected:
                conn.stop_reading()
                conns.append(conn)

        server.connection_callback = on_connection

    with running_server(threads=1, configure=configure) as server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        assert wait_until(lambda: conns)
        sock.close()
        loop = conns[0].loop
        time.sleep(0.05)
        before = loop.iterations
        time.sleep(1.0)
        assert loop.iterations - before <= 2
        # Once reading resumes, the hang-up is seen and the connection closes.
        conns[0].start_reading()
        assert wait_until(lambda: connection_count(server) == 0)


SIGPIPE_SCRIPT = textwrap.dedent("""
    import signal, socket, sys, time
    sys.path.insert(0, sys.argv[1])
    from tests.conftest import running_server, wait_until
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a C host program might leave it
    conns = []
    def on_connection(conn):
        if conn.connected:
            conn.stop_reading()  # so that only a write can find out the peer left
            conns.append(conn)
    def configure(server):
        server.connection_callback = on_connection
    with running_server(threads=1, configure=configure) as server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        wait_until(lambda: conns)
        sock.close()  # FIN; our next write draws an RST, the one after it EPIPE
        time.sleep(0.1)
        for _ in range(200):
            conns[0].send(b"z" * 65536)
            time.sleep(0.001)
        wait_until(lambda: conns[0].disconnected)
        print("survived", conns[0].disconnected)
""")


def test_writing_to_a_vanished_peer_does_not_kill_the_process_with_sigpipe():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", SIGPIPE_SCRIPT, root],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.strip() == "survived True"


def test_queued_output_does_not_alias_a_mutable_buffer_the_caller_reuses():
    original = os.urandom(8 * MiB)

    def configure(server):
        def on_connection(conn):
            if conn.connected:
                scratch = bytearray(original)
                conn.send(scratch)  # far more than the socket takes at once
                scratch[:] = bytes(len(scratch))  # reused at once, as a frame buffer would be

        server.connection_callback = on_connection

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            assert recv_exactly(sock, len(original)) == original


def test_an_idle_connection_asks_for_no_write_events():
    conns = []

    def configure(server):
        server.connection_callback = lambda conn: conn.connected and conns.append(conn)
        server.message_callback = lambda conn, buf: conn.send(buf.retrieve_all())

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"x" * 100_000)
            recv_exactly(sock, 100_000)
            conn = conns[0]
            assert not call_in_loop(conn.loop, lambda: conn.is_writing)
            before = conn.loop.iterations
            time.sleep(1.0)
            # EPOLLOUT left on would wake the loop at once, every time.
            assert conn.loop.iterations - before <= 2


def test_send_in_loop_goes_straight_out_or_behind_queued_output_in_order():
    big = os.urandom(4 * MiB)  # more than the socket takes at once: the tail must queue behind it
    conns = []

    def configure(server):
        def on_connection(conn):  # runs on the connection's loop thread, as the relay does
            if conn.connected:
                conn.send_in_loop(b"head")
                conn.send(big)
                conn.send_in_loop(b"tail")
                conns.append(conn)

        server.connection_callback = on_connection

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            assert recv_exactly(sock, 4 + len(big) + 4) == b"head" + big + b"tail"
            conn = conns[0]
            call_in_loop(conn.loop, conn.force_close)
            assert wait_until(lambda: conn.disconnected)
            call_in_loop(conn.loop, lambda: conn.send_in_loop(b"late"))  # closed: a no-op
            assert sock.recv(16) == b""


class _YieldingStateConnection(TcpConnection):
    """Lets other threads run at every read of `state`, as a free-threaded build or an
    unlucky GIL switch would: a check-then-set off the loop thread then shows its race."""

    @property
    def state(self):
        value = self._state
        time.sleep(0)  # the GIL goes to whoever waits, between the check and what follows
        return value

    @state.setter
    def state(self, value):
        self._state = value


def _close_from_twenty_threads_and_the_loop(conn, sock):
    start = threading.Barrier(21)

    def close_it():
        start.wait()
        for _ in range(3):
            conn.force_close()
            conn.shutdown()

    callers = [threading.Thread(target=close_it, daemon=True) for _ in range(20)]
    for thread in callers:
        thread.start()
    conn.loop.run_in_loop(conn.force_close)  # and from the loop itself
    start.wait()
    sock.close()  # the peer hangs up meanwhile: a close from the loop's side too
    for thread in callers:
        thread.join(10)
    assert wait_until(lambda: conn.disconnected)


def test_force_close_from_many_threads_at_once_reports_down_exactly_once(monkeypatch):
    import reactor.tcp_server

    monkeypatch.setattr(reactor.tcp_server, "TcpConnection", _YieldingStateConnection)
    rounds = 20
    events: dict[str, list[str]] = {}
    conns = []
    lock = threading.Lock()

    def configure(server):
        def on_connection(conn):
            with lock:
                events.setdefault(conn.name, []).append("up" if conn.connected else "down")
                if conn.connected:
                    conns.append(conn)

        server.connection_callback = on_connection

    with running_server(threads=1, configure=configure) as server:
        for i in range(1, rounds + 1):
            sock = socket.create_connection(("127.0.0.1", server.port))
            assert wait_until(lambda n=i: len(conns) == n)
            _close_from_twenty_threads_and_the_loop(conns[-1], sock)
        assert wait_until(lambda: connection_count(server) == 0)
        time.sleep(0.1)  # any second "down" would have been queued by now
    assert len(events) == rounds
    assert all(seen == ["up", "down"] for seen in events.values()), events


def test_the_input_buffer_shrinks_back_after_a_large_frame():
    from reactor.buffer import Buffer
    from reactor.length_frame_codec import LengthFrameCodec

    capacity_at_big_frame = []

    def configure(server):
        def on_frame(conn, frame):
            if len(frame) > MiB:
                capacity_at_big_frame.append(conn.input.capacity)
            codec.send(conn, frame[:16])

        codec = LengthFrameCodec(on_frame, max_frame_size=8 * MiB)
        server.message_callback = codec.on_message
        server.connection_callback = lambda conn: conn.connected and conns.append(conn)

    conns = []
    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            big = os.urandom(4 * MiB)
            sock.sendall(struct.pack("!I", len(big)) + big)
            assert recv_exactly(sock, 4 + 16) == struct.pack("!I", 16) + big[:16]
            assert capacity_at_big_frame and capacity_at_big_frame[0] >= 4 * MiB
            for i in range(5):
                small = bytes([i]) * 100
                sock.sendall(struct.pack("!I", len(small)) + small)
                assert recv_exactly(sock, 4 + 16) == struct.pack("!I", 16) + small[:16]
            conn = conns[0]
            assert call_in_loop(conn.loop, lambda: conn.input.capacity) == Buffer.INITIAL_SIZE


def test_a_write_complete_callback_that_raises_closes_that_connection():
    downs = []

    def configure(server):
        def on_connection(conn):
            if conn.connected:
                conn.send(b"hello")
            else:
                downs.append(conn.name)

        def on_write_complete(conn):
            raise RuntimeError("bookkeeping bug")

        server.connection_callback = on_connection
        server.write_complete_callback = on_write_complete

    with running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.settimeout(5)
            assert recv_exactly(sock, 5) == b"hello"
            assert sock.recv(10) == b""
        assert wait_until(lambda: connection_count(server) == 0)
        assert server.thread_pool.all_loops()[0].callback_errors == 1
    assert len(downs) == 1


def test_every_connection_has_tcp_keepalive_as_a_backstop_for_vanished_peers():
    base, server = _start_echo(threads=1)
    try:
        with socket.create_connection(("127.0.0.1", server.port)):
            assert wait_until(lambda: connection_count(server.server) == 1)
            conn = next(iter(server.server.connections.values()))
            sock = conn.socket
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
    finally:
        _stop_echo(base, server)
