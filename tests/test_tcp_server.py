"""TcpServer: connections spread round robin over loops, and stopping."""

import collections
import socket
import threading

import pytest

from tests.conftest import connection_count, recv_exactly, running_server, wait_until


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
