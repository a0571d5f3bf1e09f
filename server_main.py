"""mini-meeting server command line.

Until the meeting service lands (issue 3), this runs the reactor's echo
service, so that `make run` already starts a real server on the reactor.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from reactor.echo_server import EchoServer
from reactor.event_loop import EventLoop

log = logging.getLogger("server_main")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="mini-meeting server (for now: the reactor echo demo)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=9000, help="TCP port to listen on (default 9000)")
    parser.add_argument("--threads", type=int, default=2,
                        help="I/O loop threads; 0 runs everything on the accepting loop (default 2)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging level (default INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    loop = EventLoop("main")
    server = EchoServer(loop, args.host, args.port, args.threads)
    server.start()

    def on_signal(signum: int, _frame) -> None:
        log.info("signal %d: stopping", signum)
        loop.quit()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("echo server listening on %s:%d with %d I/O threads", args.host, server.port, args.threads)
    loop.loop()
    server.stop()
    loop.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
