"""EchoServer: many clients at once on several loops."""

import os
import socket
import threading

from reactor.echo_server import EchoServer
from reactor.event_loop_thread import EventLoopThread
from tests.conftest import call_in_loop, recv_exactly


def test_many_clients_in_parallel_each_get_their_own_bytes_back():
    base = EventLoopThread("echo")
    loop = base.start_loop()

    def make():
        server = EchoServer(loop, "127.0.0.1", 0, threads=2)
        server.start()
        return server

    server = call_in_loop(loop, make)
    failures = []

    def client(seed: int) -> None:
        payload = os.urandom(256 * 1024 + seed)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sender = threading.Thread(target=sock.sendall, args=(payload,))
            sender.start()
            if recv_exactly(sock, len(payload)) != payload:
                failures.append(seed)
            sender.join()

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not failures
    finally:
        call_in_loop(loop, server.stop)
        base.stop()
