"""muduo's ping-pong client on uvloop: the same load for every server.

Each connection sends one block and then echoes back every byte it gets, so
the bytes in flight stay at conns * size and the server alone sets the pace.
Prints one JSON object with the bytes received in the measuring window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time

import uvloop


class PingPong(asyncio.Protocol):
    """One connection: count what arrives and send it straight back."""

    def __init__(self, block: bytes) -> None:
        self.block = block
        self.received = 0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.block)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


def _client_tls() -> ssl.SSLContext:
    """TLS without checking the benchmark's throwaway certificate: the cost measured is the server's."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def measure(port: int, size: int, conns: int, warmup: float, seconds: float, tls: bool = False) -> dict:
    """Connect, let the connections warm up, then count bytes over `seconds`."""
    loop = asyncio.get_running_loop()
    block = bytes(size)
    context = _client_tls() if tls else None
    pairs = await asyncio.gather(*(loop.create_connection(lambda: PingPong(block), "127.0.0.1", port,
                                                          ssl=context)
                                   for _ in range(conns)))
    peers = [protocol for _, protocol in pairs]
    await asyncio.sleep(warmup)
    first, start = sum(p.received for p in peers), time.perf_counter()
    await asyncio.sleep(seconds)
    last, elapsed = sum(p.received for p in peers), time.perf_counter() - start
    lost = sum(p.lost for p in peers)
    for transport, _ in pairs:
        transport.abort()
    return {"size": size, "conns": conns, "bytes": last - first, "seconds": elapsed, "lost": lost}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ping-pong load against an echo server on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, default=16384, help="block size in bytes (default 16384)")
    parser.add_argument("--conns", type=int, default=100, help="concurrent connections (default 100)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before counting (default 1)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds counted (default 3)")
    parser.add_argument("--tls", action="store_true", help="speak TLS to the server")
    args = parser.parse_args(argv)
    result = uvloop.run(measure(args.port, args.size, args.conns, args.warmup, args.seconds, args.tls))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
