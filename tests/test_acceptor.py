"""Acceptor: running out of fds (EMFILE) neither spins nor wedges the server."""

import os
import socket
import subprocess
import sys
import textwrap
import time

from tests.conftest import recv_exactly, wait_until

LOW_FD_SERVER = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, sys.argv[1])
    resource.setrlimit(resource.RLIMIT_NOFILE, (48, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    from reactor.echo_server import EchoServer
    from reactor.event_loop import EventLoop
    loop = EventLoop()
    server = EchoServer(loop, "127.0.0.1", 0, threads=0)
    server.start()
    print(server.port, flush=True)
    loop.loop()
""")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _echoes(sock: socket.socket) -> bool:
    try:
        sock.sendall(b"ping")
        return recv_exactly(sock, 4) == b"ping"
    except OSError:
        return False


def test_emfile_sheds_new_connections_without_spinning_and_recovers():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-c", LOW_FD_SERVER, root],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        clients = []
        for _ in range(80):  # well past what 48 fds allow
            sock = socket.create_connection(("127.0.0.1", port))
            sock.settimeout(5)
            clients.append(sock)
        served = [s for s in clients if _echoes(s)]
        shed = len(clients) - len(served)
        assert 20 < len(served) < 48
        assert shed > 20  # these were accepted and closed, not left hanging

        # Out of fds with clients still knocking: the loop must not spin.
        extra = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        time.sleep(0.2)
        before = _cpu_seconds(proc.pid)
        time.sleep(1.0)
        assert _cpu_seconds(proc.pid) - before < 0.3

        for sock in clients + extra:
            sock.close()
        # Once fds free up (the server sees the closes), new ones are served again.
        def fresh_connection_echoes() -> bool:
            with socket.create_connection(("127.0.0.1", port)) as fresh:
                fresh.settimeout(2)
                return _echoes(fresh)

        assert wait_until(fresh_connection_echoes, timeout=10, interval=0.1)
        assert proc.poll() is None
    finally:
        proc.kill()
        _, stderr = proc.communicate(timeout=10)
    assert "Too many open files" in stderr
