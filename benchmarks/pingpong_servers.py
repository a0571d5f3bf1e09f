"""Echo servers for the ping-pong benchmark, one per process.

`python -m benchmarks.pingpong_servers IMPL` listens on 127.0.0.1, prints
"ready PORT" once it accepts connections, and serves until SIGTERM or SIGINT.
With --tls every connection speaks TLS (the project's policy, reactor/tls_context.py,
with a throwaway self-signed certificate), for the reactor's TLS layer and asyncio's sslproto alike.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from reactor.echo_server import EchoServer
from reactor.event_loop import EventLoop
from reactor.tls_context import server_context
from server.tls_identity import make_self_signed

HOST = "127.0.0.1"
IMPLS = ("reactor", "asyncio", "uvloop")


def announce(port: int) -> None:
    """Tell the parent, which waits for this line, that the port is open."""
    print(f"ready {port}", flush=True)


def throwaway_tls() -> ssl.SSLContext:
    """A server context with a self-signed ECDSA certificate made for this process alone."""
    with tempfile.TemporaryDirectory() as directory:
        cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
        make_self_signed(cert, key, names=["localhost"])
        return server_context(str(cert), str(key))


def serve_reactor(port: int, threads: int, tls: ssl.SSLContext | None = None) -> None:
    """The reactor's own EchoServer, run the way server_main.py runs it."""
    loop = EventLoop("main")
    server = EchoServer(loop, HOST, port, threads)
    server.server.tls_context = tls
    server.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: loop.quit())
    announce(server.port)
    loop.loop()
    server.stop()
    loop.close()


class EchoProtocol(asyncio.Protocol):
    """Echo as a careful asyncio programmer writes it: write back, and stop
    reading while the transport's buffer is above its high-water mark."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()


async def _serve_asyncio(port: int, tls: ssl.SSLContext | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(EchoProtocol, HOST, port, backlog=1024, ssl=tls)
    announce(server.sockets[0].getsockname()[1])
    async with server:
        await stop.wait()


def serve_asyncio(port: int, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
                  tls: ssl.SSLContext | None = None) -> None:
    """EchoProtocol on the default loop, or on the loop that loop_factory makes."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve_asyncio(port, tls))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="an echo server for benchmarks/pingpong.py")
    parser.add_argument("impl", choices=IMPLS)
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default)")
    parser.add_argument("--threads", type=int, default=1, help="reactor I/O loop threads (default 1)")
    parser.add_argument("--tls", action="store_true", help="serve over TLS (a throwaway certificate)")
    args = parser.parse_args(argv)
    tls = throwaway_tls() if args.tls else None
    # Per-connection INFO lines would cost the reactor time the others do not spend.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(threadName)s %(name)s: %(message)s")
    if args.impl == "reactor":
        serve_reactor(args.port, args.threads, tls)
    elif args.impl == "uvloop":
        import uvloop

        serve_asyncio(args.port, uvloop.new_event_loop, tls)
    else:
        serve_asyncio(args.port, tls=tls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
