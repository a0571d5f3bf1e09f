"""TcpClient: talks over a TcpConnection and reconnects when asked to."""

import threading

from reactor.echo_server import EchoServer
from reactor.event_loop_thread import EventLoopThread
from reactor.tcp_client import TcpClient
from tests.conftest import call_in_loop, running_server, wait_until


def test_client_exchanges_data_with_an_echo_server(loop_thread):
    base = EventLoopThread("echo")
    server_loop = base.start_loop()

    def make_server():
        server = EchoServer(server_loop, "127.0.0.1", 0, threads=1)
        server.start()
        return server

    server = call_in_loop(server_loop, make_server)
    received = bytearray()
    client = TcpClient(loop_thread, ("127.0.0.1", server.port), "echo-client")
    client.connection_callback = lambda conn: conn.connected and conn.send(b"hello reactor")
    client.message_callback = lambda conn, buf: received.extend(buf.retrieve_all())
    client.connect()
    try:
        assert wait_until(lambda: bytes(received) == b"hello reactor", timeout=5)
        client.disconnect()
        assert wait_until(lambda: client.connection is None, timeout=5)
    finally:
        call_in_loop(server_loop, server.stop)
        base.stop()


def test_retrying_client_reconnects_after_the_server_drops_it(loop_thread):
    server_side = []

    def configure(server):
        server.connection_callback = lambda conn: conn.connected and server_side.append(conn)

    with running_server(threads=1, configure=configure) as server:
        ups = []
        lock = threading.Lock()

        def on_connection(conn):
            if conn.connected:
                with lock:
                    ups.append(conn.name)

        client = TcpClient(loop_thread, ("127.0.0.1", server.port), "retry-client", retry=True)
        client.connector.INITIAL_RETRY_DELAY = 0.05
        client.connection_callback = on_connection
        client.connect()
        assert wait_until(lambda: len(server_side) == 1, timeout=5)
        server_side[0].force_close()
        assert wait_until(lambda: len(ups) == 2 and len(server_side) == 2, timeout=5)
        assert ups[0] != ups[1]
        client.stop()
        client.disconnect()


def test_a_client_for_a_name_that_does_not_resolve_keeps_the_network_thread_alive(loop_thread):
    client = TcpClient(loop_thread, ("no-such-host.invalid", 9), "nowhere", retry=True)
    client.connector.INITIAL_RETRY_DELAY = client.connector.retry_delay = 0.05
    client.connect()
    try:
        assert wait_until(lambda: client.connector.attempts >= 2, timeout=20)
        assert client.connection is None
        assert call_in_loop(loop_thread, lambda: "alive", timeout=5) == "alive"
        assert loop_thread.callback_errors == 0
    finally:
        client.stop()


def test_a_client_callback_that_raises_closes_its_connection_not_the_loop(loop_thread):
    server_side = []

    def configure(server):
        server.connection_callback = lambda conn: server_side.append(conn.connected)

    with running_server(threads=1, configure=configure) as server:
        client = TcpClient(loop_thread, ("127.0.0.1", server.port), "fragile")

        def on_connection(conn):
            if conn.connected:
                raise RuntimeError("client set-up bug")

        client.connection_callback = on_connection
        client.connect()
        assert wait_until(lambda: server_side == [True, False], timeout=5)  # closed by the client
        assert client.connection is None
        assert call_in_loop(loop_thread, lambda: "alive", timeout=5) == "alive"
        assert loop_thread.callback_errors == 1
