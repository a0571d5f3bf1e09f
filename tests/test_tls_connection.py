"""TcpConnection over TLS: the same bytes, water marks, write-complete and half-close as in clear;
handshakes that fail or stall never reach the user's callbacks."""

from __future__ import annotations

import hashlib
import os
import select
import socket
import ssl
import threading
import time

from reactor.echo_server import EchoServer
from reactor.event_loop_thread import EventLoopThread
from reactor.tcp_client import TcpClient
from reactor.tcp_connection import TcpConnection
from reactor.tls_context import server_context, verifying_client_context
from tests.conftest import call_in_loop, connection_count, running_server, wait_until
from tests.tls_support import cert_path, shared_identity

MiB = 1024 * 1024


def _server_tls() -> ssl.SSLContext:
    identity = shared_identity()
    return server_context(identity.cert_file, identity.key_file)


def _tls_socket(port: int) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ssl.create_default_context(cafile=str(cert_path())).wrap_socket(raw, server_hostname="127.0.0.1")


def _start_echo(high_water_mark: int = 4 * MiB):
    base = EventLoopThread("echo-base")
    loop = base.start_loop()

    def make():
        server = EchoServer(loop, "127.0.0.1", 0, 1, high_water_mark)
        server.server.tls_context = _server_tls()
        server.start()
        return server

    return base, call_in_loop(loop, make)


def _stop_echo(base, server):
    call_in_loop(base.loop, server.stop)
    base.stop()


def _echo_through(sock: ssl.SSLSocket, payload: bytes) -> bytes:
    """Send payload and read its echo on one thread (an SSL socket is not safe for a reader and a
    writer thread at once), non-blocking, so that neither direction waits for the other."""
    sock.setblocking(False)
    sent, echoed = 0, bytearray()
    deadline = time.monotonic() + 60
    while len(echoed) < len(payload) and time.monotonic() < deadline:
        select.select([sock], [sock] if sent < len(payload) else [], [], 1.0)
        if sent < len(payload):
            try:
                sent += sock.send(payload[sent:sent + 256 * 1024])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise ConnectionError(f"closed after {len(echoed)} bytes")
                echoed += chunk
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    return bytes(echoed)


def test_twenty_mib_echo_over_tls_arrives_byte_exact():
    base, server = _start_echo()
    try:
        payload = os.urandom(20 * MiB)
        with _tls_socket(server.port) as sock:
            echoed = _echo_through(sock, payload)
        assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    finally:
        _stop_echo(base, server)


def test_a_tls_peer_that_never_reads_fires_the_high_water_mark_and_memory_stays_bounded():
    high_water = 1 * MiB
    base, server = _start_echo(high_water_mark=high_water)
    try:
        with _tls_socket(server.port) as sock:
            sock.settimeout(0.5)
            sent = 0
            chunk = b"x" * 65536
            try:
                while sent < 256 * MiB:
                    sock.sendall(chunk)  # blocks, then times out, once the server stops reading
                    sent += len(chunk)
            except TimeoutError:
                pass
            tcp_server = server.server
            conn = call_in_loop(tcp_server.loop, lambda: next(iter(tcp_server.connections.values())))
            queued = call_in_loop(conn.loop, lambda: conn.output_bytes)
            reading = call_in_loop(conn.loop, lambda: conn.is_reading)
        assert not reading
        # The mark, plus what one read decrypts (a 64 KiB recv), plus record overhead.
        assert high_water <= queued <= high_water + 2 * TcpConnection.TLS_RECV_SIZE + 65536
        assert sent < 64 * MiB
    finally:
        _stop_echo(base, server)


def test_shutdown_over_tls_delivers_everything_then_close_notify_and_still_reads():
    blob = os.urandom(8 * MiB)
    received_after = []
    write_completes = []

    def configure(server):
        server.tls_context = _server_tls()

        def on_connection(conn):
            if conn.connected:
                conn.send(blob)
                conn.shutdown()

        server.connection_callback = on_connection
        server.message_callback = lambda conn, buffer: received_after.append(buffer.retrieve_all())
        server.write_complete_callback = lambda conn: write_completes.append(conn.output_bytes)

    with running_server(threads=1, configure=configure) as server, _tls_socket(server.port) as sock:
        time.sleep(0.3)  # output queues in the server meanwhile
        data = bytearray()
        while chunk := sock.recv(1 << 20):  # b"" only on a close_notify: a ragged EOF would raise
            data += chunk
        assert bytes(data) == blob
        sock.sendall(b"bye")  # half-close: the server still reads
        assert wait_until(lambda: b"".join(received_after) == b"bye", timeout=5)
    assert write_completes and write_completes[-1] == 0  # once the queue drained, and not for the handshake


def test_a_reactor_client_and_server_speak_tls_with_gathered_writes():
    identity = shared_identity()
    frames = [os.urandom(n) for n in (5, 70_000, 1, 300_000)]
    expected = b"".join(frames) * 20
    got = bytearray()
    done = threading.Event()

    def configure(server):
        server.tls_context = server_context(identity.cert_file, identity.key_file)

        def on_message(conn, buffer):
            got.extend(buffer.retrieve_all())
            if len(got) >= len(expected):
                done.set()

        server.message_callback = on_message

    client_loop = EventLoopThread("client")
    loop = client_loop.start_loop()
    try:
        with running_server(threads=1, configure=configure) as server:
            client = TcpClient(loop, ("127.0.0.1", server.port), "tls-client")
            client.tls_context = verifying_client_context(identity.cert_file)
            up = threading.Event()
            client.connection_callback = lambda conn: up.set() if conn.connected else None
            client.connect()
            assert up.wait(10)
            conn = client.connection
            assert conn.tls is not None and conn.tls.ssl_object.version() == "TLSv1.3"
            for _ in range(20):
                conn.send_buffers(frames)  # from this thread: queued to the loop, one encryption each
            assert done.wait(20)
            call_in_loop(loop, client.disconnect)
        assert bytes(got) == expected
    finally:
        client_loop.stop()


def test_failed_and_stalled_handshakes_never_reach_the_connection_callback(caplog):
    seen = []

    def configure(server):
        server.tls_context = _server_tls()
        server.handshake_timeout = 0.3  # injectable: the 10 s default is not waited for here
        server.connection_callback = seen.append

    def failures() -> list[str]:
        return [r.getMessage() for r in caplog.records if "TLS handshake failed" in r.getMessage()]

    with caplog.at_level("INFO", logger="reactor.tcp_connection"), \
            running_server(threads=1, configure=configure) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as silent, \
                socket.create_connection(("127.0.0.1", server.port)) as plain:
            plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert wait_until(lambda: len(failures()) == 2, timeout=5)
            assert silent.recv(10) == b""
        assert any("not done within 0.3 s" in line for line in failures())
        assert any("HTTP_REQUEST" in line for line in failures())
        assert wait_until(lambda: connection_count(server) == 0, timeout=5)
        assert seen == []  # the user never heard of either
        with _tls_socket(server.port) as good:
            good.sendall(b"hi")
            assert wait_until(lambda: len(seen) == 1 and seen[0].connected, timeout=5)
