"""mini-meeting server: `python server_main.py --help` lists the flags."""

from __future__ import annotations

import argparse
import logging
import resource
import signal
import sys

from reactor.event_loop import EventLoop
from server.attempt_limiter import LimitRule
from server.config import ServerConfig
from server.guess_limits import DEFAULT_LIMITS
from server.meeting_server import MeetingServer
from server.storage import DEFAULT_DB_URL
from server.storage.errors import StorageError
from server.web.public_url import checked_public_url

log = logging.getLogger("server_main")

# Between telling clients that the server stops and closing their connections.
SHUTDOWN_GRACE = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="mini-meeting relay server: control on PORT, audio on PORT+1, video on PORT+2")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0: all)")
    parser.add_argument("--port", type=int, default=9000,
                        help="base port: control; audio and video use the next two (default 9000)")
    parser.add_argument("--threads", type=int, default=1,
                        help="I/O loop threads; 0 runs everything on the accepting loop. One loop is "
                             "fastest on Python with the GIL (see README); default 1")
    parser.add_argument("--db", default=DEFAULT_DB_URL,
                        help=f"database URL: sqlite:///PATH or mysql://USER:PASS@HOST:PORT/DB "
                             f"(default {DEFAULT_DB_URL})")
    parser.add_argument("--db-deadline", type=float, default=2.5,
                        help="seconds within which every request that needs the database is answered "
                             "(DATABASE_UNAVAILABLE if the database is down or stalled); at least 2 leaves "
                             "room for a MySQL reconnect (default 2.5)")
    parser.add_argument("--db-breaker-failures", type=int, default=3,
                        help="failed database jobs in a row after which jobs are refused at once for the "
                             "cooldown, instead of each waiting for its own timeout (default 3)")
    parser.add_argument("--db-breaker-cooldown", type=float, default=2.0,
                        help="seconds the database is left alone after the breaker opens; then one job "
                             "probes it (default 2)")
    parser.add_argument("--heartbeat-timeout", type=float, default=30.0,
                        help="seconds of silence after which a client is removed (default 30)")
    parser.add_argument("--max-room-size", type=int, default=100,
                        help="members a room can hold (default 100)")
    parser.add_argument("--stats-interval", type=float, default=10.0,
                        help="seconds between stats log lines; 0 turns them off (default 10)")
    parser.add_argument("--room-grace", type=float, default=120.0,
                        help="seconds after a start that the rooms live before it (temporary ones too) wait "
                             "for their members to rejoin (default 120)")
    parser.add_argument("--login-timeout", type=float, default=10.0,
                        help="seconds a new control connection has to log in, and a media connection to "
                             "present its token, before it is closed (default 10)")
    parser.add_argument("--max-connections-per-address", type=int, default=900,
                        help="live connections (the three ports together) one source address may hold; each "
                             "participant uses 3, so 900 suits 300 people behind one NAT; 0: no limit "
                             "(default 900)")
    parser.add_argument("--persistent-rooms-per-user", type=int, default=20,
                        help="persistent rooms one user may own (default 20)")
    parser.add_argument("--rate-limit", action="append", default=[], metavar="RULE=SPEC",
                        help="change one guess limit, e.g. login_per_address=50/minute;300/hour, or "
                             "RULE=none to turn it off; rules and defaults: "
                             + ", ".join(f"{rule}={spec}" for rule, spec in DEFAULT_LIMITS.items()))
    parser.add_argument("--hash-queue", type=int, default=128,
                        help="password checks that may wait for a hashing worker; past it, and past "
                             "--hash-queue-per-address from one address, SERVER_BUSY (default 128)")
    parser.add_argument("--hash-queue-per-address", type=int, default=32,
                        help="password checks one client address may have waiting (default 32)")
    parser.add_argument("--cert", help="TLS certificate chain (PEM), e.g. Let's Encrypt's fullchain.pem; "
                                       "without --cert/--key a self-signed one is made in DATA_DIR/tls")
    parser.add_argument("--key", help="the certificate's private key (PEM), e.g. Let's Encrypt's privkey.pem")
    parser.add_argument("--data-dir", default="data",
                        help="where the server keeps its files (the self-signed certificate) (default data)")
    parser.add_argument("--tls-handshake-timeout", type=float, default=10.0,
                        help="seconds a new connection has to finish its TLS handshake (default 10)")
    parser.add_argument("--no-tls", action="store_true",
                        help="INSECURE: no TLS, everything in clear; for benchmarks and comparisons only")
    parser.add_argument("--http-port", type=int, default=None,
                        help="the HTTP endpoint's port (login through providers, /healthz); -1: none "
                             "(default PORT+3, i.e. 9003; a free one with --port 0)")
    parser.add_argument("--http-host", default=None,
                        help="address the HTTP endpoint listens on (default: --host); 127.0.0.1 behind a "
                             "reverse proxy on this machine")
    parser.add_argument("--http-behind-proxy", action="store_true",
                        help="plain HTTP on the HTTP endpoint even with TLS on, for a reverse proxy (nginx, "
                             "Caddy) that terminates TLS in front of it; needs --public-url")
    parser.add_argument("--public-url",
                        help="the address people's browsers use for this server, e.g. "
                             "https://meet.example.org (default https://HOST:HTTP_PORT, HOST from --host "
                             "or this machine's name)")
    parser.add_argument("--providers", metavar="FILE",
                        help="login providers (OpenID Connect, WeChat, QQ) from this TOML file; README, "
                             "'Logging in through a provider', shows how (default: none)")
    parser.add_argument("--provider-login-timeout", type=float, default=300.0,
                        help="seconds a person has to finish a login at a provider (default 300)")
    parser.add_argument("--login-token-lifetime", type=float, default=24 * 3600.0,
                        help="seconds a provider login's token lets the client log in again by itself after "
                             "a drop or a restart (default 86400: a day)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging level (default INFO)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65533:
        parser.error("--port must be between 0 and 65533 (the next two ports are used too)")
    if args.threads < 0 or args.max_room_size < 1 or args.heartbeat_timeout <= 0:
        parser.error("--threads must be >= 0, --max-room-size >= 1 and --heartbeat-timeout > 0")
    if args.db_deadline <= 0 or args.tls_handshake_timeout <= 0:
        parser.error("--db-deadline and --tls-handshake-timeout must be > 0")
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    if args.no_tls and args.cert:
        parser.error("--no-tls and --cert/--key contradict each other")
    if args.db_breaker_failures < 1 or args.db_breaker_cooldown <= 0:
        parser.error("--db-breaker-failures must be >= 1 and --db-breaker-cooldown > 0")
    if args.login_timeout <= 0 or args.max_connections_per_address < 0 or args.persistent_rooms_per_user < 0:
        parser.error("--login-timeout must be > 0, --max-connections-per-address and "
                     "--persistent-rooms-per-user >= 0")
    if args.hash_queue < 1 or args.hash_queue_per_address < 1:
        parser.error("--hash-queue and --hash-queue-per-address must be >= 1")
    if args.http_port is None:
        args.http_port = args.port + 3 if args.port else 0
        if args.http_port > 65535:
            parser.error("--port leaves no room for the HTTP port (PORT+3): give --http-port")
    if not -1 <= args.http_port <= 65535:
        parser.error("--http-port must be between -1 (none) and 65535")
    if args.http_behind_proxy and not args.public_url:
        parser.error("--http-behind-proxy needs --public-url: the proxy's address is what browsers use")
    if args.public_url:
        try:
            args.public_url = checked_public_url(args.public_url)
        except ValueError as exc:
            parser.error(f"--public-url: {exc}")
    args.rate_limits = {}
    for setting in args.rate_limit:
        rule, _, spec = setting.partition("=")
        if rule not in DEFAULT_LIMITS or not spec:
            parser.error(f"--rate-limit {setting!r}: RULE=SPEC with RULE one of {', '.join(DEFAULT_LIMITS)}")
        try:
            LimitRule.parse(rule, spec)
        except ValueError as exc:
            parser.error(f"--rate-limit {setting!r}: {exc}")
        args.rate_limits[rule] = spec
    return args


def _raise_fd_limit(per_address: int) -> None:
    """Every connection is an fd: take what the system allows, and say so if one address could use most."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open file limit from %d: %s", soft, exc)
    if per_address == 0 or per_address > soft // 2:
        log.warning("open file limit %d: one address may hold %s connections, enough to exhaust it; "
                    "lower --max-connections-per-address or raise the limit (ulimit -n)", soft,
                    per_address or "unlimited")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    config = ServerConfig(host=args.host, port=args.port, threads=args.threads, db_url=args.db,
                          heartbeat_timeout=args.heartbeat_timeout, max_room_size=args.max_room_size,
                          stats_interval=args.stats_interval, room_grace=args.room_grace,
                          db_deadline=args.db_deadline, db_breaker_failures=args.db_breaker_failures,
                          db_breaker_cooldown=args.db_breaker_cooldown, rate_limits=args.rate_limits,
                          hash_queue_limit=args.hash_queue,
                          hash_queue_per_address=args.hash_queue_per_address,
                          tls=not args.no_tls, cert_file=args.cert, key_file=args.key,
                          data_dir=args.data_dir, tls_handshake_timeout=args.tls_handshake_timeout,
                          login_timeout=args.login_timeout,
                          max_connections_per_address=args.max_connections_per_address,
                          persistent_rooms_per_user=args.persistent_rooms_per_user,
                          http_port=args.http_port, http_host=args.http_host or "",
                          http_behind_proxy=args.http_behind_proxy, public_url=args.public_url or "",
                          providers_file=args.providers, provider_login_timeout=args.provider_login_timeout,
                          login_token_lifetime=args.login_token_lifetime)
    _raise_fd_limit(config.max_connections_per_address)
    loop = EventLoop("control")
    try:
        server = MeetingServer(loop, config)
    except (StorageError, ValueError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    server.start()
    if server.tls is not None:
        # On stdout too, for the operator to hand to people (the bot's --trust-fingerprint takes it as is).
        print(f"TLS public key SHA-256 fingerprint: {server.tls.fingerprint}", flush=True)

    def on_signal(signum: int, _frame) -> None:
        # Only quit() here: the handler interrupts the loop's own thread at any
        # point, and quit() takes no lock and touches no loop state.
        log.info("signal %d: stopping", signum)
        loop.quit()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    loop.loop()
    server.begin_shutdown()
    # A moment for the goodbyes to go out before the connections close.
    loop.run_after(SHUTDOWN_GRACE, loop.quit)
    loop.loop()
    server.stop()
    loop.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
