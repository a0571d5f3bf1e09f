"""TcpServer: connections spread round robin over loops, and stopping."""

import collections
import socket
import threading

import pytest

from tests.conftest import call_in_loop, connection_count, recv_exactly, running_server, wait_until


@pytest.mark.parametrize("threads", [1, 4])
def test_a_thousand_connections_spread_evenly_over_the_loops(threads):
    loop_of = {}
    lock = threading.Lock()

    def configure(server):
        def on_connection(conn):
            if conn.connected:
                with lock:
                    loop_of[conn.name] = conn.loop.name

        server.connection_callback = on_connection
        server.message_callback = lambda conn, buf: conn.send(buf.retrieve_all())

    with running_server(threads=threads, configure=configure) as server:
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(1000)]
        try:
            assert wait_until(lambda: len(loop_of) == 1000, timeout=20)
            per_loop = collections.Counter(loop_of.values())
            assert len(per_loop) == threads
            assert set(per_loop.values()) == {1000 // threads}
            # Every one of them is live and served.
            for i, sock in enumerate(clients):
                sock.sendall(i.to_bytes(2, "big"))
            for i, sock in enumerate(clients):
                assert recv_exactly(sock, 2) == i.to_bytes(2, "big")
        finally:
            for sock in clients:
                sock.close()
        assert wait_until(lambda: connection_count(server) == 0, timeout=20)


def test_zero_threads_serves_on_the_accepting_loop():
    names = []

    def configure(server):
        server.connection_callback = lambda conn: conn.connected and names.append(conn.loop.name)

    with running_server(threads=0, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)):
            assert wait_until(lambda: names == ["base"])


def test_stop_closes_every_live_connection():
    down = []

    def configure(server):
        server.connection_callback = lambda conn: conn.disconnected and down.append(conn.name)

    with running_server(threads=2, configure=configure) as server:
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
        assert wait_until(lambda: connection_count(server) == 4)
    # running_server stopped the server: every client sees the close.
    for sock in clients:
        sock.settimeout(5)
        assert sock.recv(10) == b""
        sock.close()
    assert len(down) == 4


def test_a_message_callback_that_raises_closes_only_its_connection():
    events = []

    def configure(server):
        def on_connection(conn):
            events.append((conn.name, "up" if conn.connected else "down"))

        def on_message(conn, buffer):
            data = buffer.retrieve_all()
            if data.startswith(b"boom"):
                raise ValueError("a bug in the application's handler")
            conn.send(data)

        server.connection_callback = on_connection
        server.message_callback = on_message

    with running_server(threads=1, configure=configure) as server:
        good = socket.create_connection(("127.0.0.1", server.port))
        bad = socket.create_connection(("127.0.0.1", server.port))
        good.settimeout(5)
        bad.settimeout(5)
        with good, bad:
            assert wait_until(lambda: connection_count(server) == 2)
            [io_loop] = server.thread_pool.all_loops()
            bad.sendall(b"boom")
            assert bad.recv(10) == b""  # closed by the server
            assert wait_until(lambda: connection_count(server) == 1)
            good.sendall(b"still served")
            assert recv_exactly(good, 12) == b"still served"
            assert io_loop.callback_errors == 1
            assert call_in_loop(io_loop, lambda: "alive", timeout=5) == "alive"
        assert wait_until(lambda: connection_count(server) == 0)
    downs = [name for name, event in events if event == "down"]
    assert len(downs) == 2 and len(set(downs)) == 2  # each closed once


def test_a_connection_callback_that_raises_on_up_closes_that_connection():
    def configure(server):
        def on_connection(conn):
            if conn.connected and conn.name.endswith("#1"):
                raise RuntimeError("set-up failed")

        server.connection_callback = on_connection
        server.message_callback = lambda conn, buf: conn.send(buf.retrieve_all())

    with running_server(threads=1, configure=configure) as server:
        first = socket.create_connection(("127.0.0.1", server.port))
        first.settimeout(5)
        with first:
            assert first.recv(10) == b""
        with socket.create_connection(("127.0.0.1", server.port)) as second:
            second.settimeout(5)
            second.sendall(b"hi")
            assert recv_exactly(second, 2) == b"hi"
        assert server.thread_pool.all_loops()[0].callback_errors == 1
