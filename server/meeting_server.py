"""The meeting server: three listening ports on one pool of I/O loops."""

from __future__ import annotations

import logging
import struct
from functools import partial

from protocol.framing import (
    LENGTH,
    MAX_AUDIO_FRAME,
    MAX_FRAME_BEFORE_LOGIN,
    MAX_FRAME_SIZE,
    MAX_VIDEO_FRAME,
    FrameKind,
)
from protocol.media import MEDIA_HEADER, StreamKind
from reactor.connections_per_address import ConnectionsPerAddress
from reactor.event_loop import EventLoop
from reactor.event_loop_thread_pool import EventLoopThreadPool
from reactor.length_frame_codec import LengthFrameCodec
from reactor.tcp_connection import TcpConnection
from reactor.tcp_server import TcpServer
from reactor.timer import Timer
from reactor.tls_context import server_context
from server import passwords
from server.circuit_breaker import CircuitBreaker
from server.config import ServerConfig
from server.control_link import ControlLink
from server.control_service import ControlService
from server.db_worker_pool import DbWorkerPool
from server.loop_stats import LoopStats
from server.oauth.provider import Provider
from server.oauth.providers_config import load_providers
from server.storage import open_storage
from server.storage.storage import Storage
from server.tls_identity import TlsIdentity, describe, load_identity
from server.web.health import HealthCheck
from server.web.http_endpoint import HttpEndpoint
from server.web.public_url import checked_public_url, derived_public_url

log = logging.getLogger(__name__)

# Provider calls (logins through providers) waiting for a worker; past it PROVIDER_UNREACHABLE at once.
PROVIDER_QUEUE_LIMIT = 256

# Stream and sender id: the two header fields the relay checks per frame.
_STREAM_AND_SENDER = struct.Struct("!BI")
# Media frames arrive with their 4-byte length prefix: the kind byte follows it.
_KIND_AT = LENGTH.size
_MIN_MEDIA_FRAME = _KIND_AT + 1 + MEDIA_HEADER.size
# How often the guess limits forget windows that have emptied (one pass over their keys).
GUESS_SWEEP_INTERVAL = 60.0


class MeetingServer:
    """Control on `port`, audio on `port + 1`, video on `port + 2`; HTTP (OAuth callbacks,
    /healthz) on `config.http_port` unless it is -1.

    Connections of all three ports share the I/O loops. Control frames are
    posted to the control loop (the one this server is built on); media
    frames are checked and relayed on the loop that received them.
    """

    def __init__(self, loop: EventLoop, config: ServerConfig, storage: Storage | None = None) -> None:
        self.loop = loop
        self.config = config
        self.storage = storage or open_storage(config.db_url)
        breaker = CircuitBreaker("the database", config.db_breaker_failures, config.db_breaker_cooldown)
        self.db = DbWorkerPool(self.storage, config.db_workers, breaker=breaker)
        self.hashing = DbWorkerPool(self.storage, config.hash_workers, name="hash",
                                    max_queued=config.hash_queue_limit,
                                    max_queued_per_owner=config.hash_queue_per_address)
        self.pool = EventLoopThreadPool(loop, config.threads, "io")
        self.stats_by_loop: dict[EventLoop, LoopStats] = {}
        self.service = ControlService(loop, config, self.db, self.stats_by_loop, self.hashing)
        self.tls: TlsIdentity | None = None
        if config.tls:
            self.tls = load_identity(config.cert_file, config.key_file, config.data_dir)
            self._tls_context = server_context(self.tls.cert_file, self.tls.key_file)
        # One count for the three ports: a person behind a shared address uses three connections.
        self.per_address = (ConnectionsPerAddress(config.max_connections_per_address)
                            if config.max_connections_per_address > 0 else None)
        base = config.port
        self.control_server = self._make_server("control", base, self._on_control_connection,
                                                self._on_control_frame, _control_frame_limit)
        self.audio_server = self._make_server("audio", base + 1 if base else 0,
                                              partial(self._on_media_connection, StreamKind.AUDIO),
                                              partial(self._on_media_frame, StreamKind.AUDIO),
                                              partial(_media_frame_limit, MAX_AUDIO_FRAME))
        self.video_server = self._make_server("video", base + 2 if base else 0,
                                              partial(self._on_media_connection, StreamKind.VIDEO),
                                              partial(self._on_media_frame, StreamKind.VIDEO),
                                              partial(_media_frame_limit, MAX_VIDEO_FRAME))
        self.http_endpoint = self._make_http_endpoint() if config.http_port >= 0 else None
        self.provider_calls: DbWorkerPool | None = None
        if config.providers_file:
            self._enable_providers(load_providers(config.providers_file))
        self._timers: list[Timer] = []

    def _make_server(self, name: str, port: int, on_connection, on_frame, frame_limit) -> TcpServer:
        server = TcpServer(self.loop, self.config.host, port, name, thread_pool=self.pool)
        server.per_address = self.per_address
        # Media frames keep their length prefix: they are forwarded byte for byte.
        codec = LengthFrameCodec(on_frame, MAX_FRAME_SIZE, min_frame_size=1, keep_header=name != "control",
                                 frame_limit=frame_limit)
        server.connection_callback = on_connection
        server.message_callback = codec.on_message
        if self.tls is not None:
            server.tls_context = self._tls_context
            server.handshake_timeout = self.config.tls_handshake_timeout
        return server

    def _make_http_endpoint(self) -> HttpEndpoint:
        """On the same loops as the rest; TLS with the same certificate unless a proxy does TLS for it."""
        config = self.config
        tls = self.tls is not None and not config.http_behind_proxy
        endpoint = HttpEndpoint(self.loop, config.http_host or config.host, config.http_port,
                                thread_pool=self.pool, per_address=self.per_address,
                                tls_context=self._tls_context if tls else None,
                                handshake_timeout=config.tls_handshake_timeout)
        endpoint.route("/healthz", HealthCheck(self.loop, lambda: not self.db.breaker.is_open))
        return endpoint

    def _enable_providers(self, providers: dict[str, Provider]) -> None:
        """Logins through providers: their calls on workers of their own, their two HTTP routes."""
        if not providers:
            return
        if self.http_endpoint is None:
            raise ValueError("login providers need the HTTP endpoint for their callbacks: "
                             "do not give --http-port -1 with --providers")
        # No deadline of the database's: a provider's adapters bound each call themselves.
        self.provider_calls = DbWorkerPool(self.storage, self.config.provider_workers, name="provider",
                                           max_queued=PROVIDER_QUEUE_LIMIT)
        self.service.enable_providers(providers, self.provider_calls)
        logins = self.service.provider_logins
        self.http_endpoint.route("/oauth/{provider}/start", logins.http_start)
        self.http_endpoint.route("/oauth/{provider}/callback", logins.http_callback)

    @property
    def http_port(self) -> int:
        """-1 without an HTTP endpoint."""
        return self.http_endpoint.port if self.http_endpoint is not None else -1

    @property
    def public_url(self) -> str:
        """The HTTP endpoint's address as browsers know it (the operator's, else derived); "" without one."""
        if self.http_endpoint is None:
            return ""
        if self.config.public_url:
            return checked_public_url(self.config.public_url)
        return derived_public_url(self.config.http_host or self.config.host, self.http_port,
                                  self.http_endpoint.tls)

    @property
    def servers(self) -> tuple[TcpServer, TcpServer, TcpServer]:
        return self.control_server, self.audio_server, self.video_server

    @property
    def control_port(self) -> int:
        return self.control_server.port

    @property
    def audio_port(self) -> int:
        return self.audio_server.port

    @property
    def video_port(self) -> int:
        return self.video_server.port

    def start(self) -> None:
        self.loop.assert_in_loop_thread()
        self.pool.start()
        for io_loop in self.pool.all_loops():
            self.stats_by_loop[io_loop] = LoopStats()
        self.service.media_ports = {"audio_port": self.audio_port, "video_port": self.video_port}
        self.service.public_url = self.public_url
        for server in self.servers:
            server.start()
        if self.http_endpoint is not None:
            self.http_endpoint.start()
        reap_every = max(0.2, min(5.0, self.config.heartbeat_timeout / 4))
        self._timers.append(self.loop.run_every(reap_every, self.service.reap_silent))
        self._timers.append(self.loop.run_every(GUESS_SWEEP_INTERVAL, self.service.guesses.sweep))
        self._timers.append(self.loop.run_after(self.config.room_grace,
                                                self.service.room_requests.sweep_unclaimed_rooms))
        if self.config.stats_interval > 0:
            self._timers.append(self.loop.run_every(self.config.stats_interval, self.log_stats))
        log.info("listening on %s: control %d, audio %d, video %d; %d I/O threads; database %s",
                 self.config.host, self.control_port, self.audio_port, self.video_port, self.config.threads,
                 _redacted(self.config.db_url))
        self._log_http_endpoint()
        for provider in self.service.provider_logins.providers.values():
            log.info("login provider %r (%s, %s): register the redirect URL %s/oauth/%s/callback",
                     provider.name, provider.kind, provider.display_name, self.public_url, provider.name)
        if self.tls is not None:
            log.info("%s", describe(self.tls))
        else:
            log.warning("TLS OFF (--no-tls): passwords, session tokens, chat, audio and video all cross the "
                        "network in clear. INSECURE: for benchmarks and comparisons only")

    def _log_http_endpoint(self) -> None:
        endpoint = self.http_endpoint
        if endpoint is None:
            log.info("no HTTP endpoint (--http-port -1): no login through providers, no /healthz")
            return
        host = self.config.http_host or self.config.host
        how = "TLS" if endpoint.tls else "plain HTTP for a reverse proxy" if self.config.http_behind_proxy \
            else "plain HTTP"
        log.info("HTTP endpoint on %s port %d (%s); browsers reach it at %s; health check %s/healthz",
                 host, endpoint.port, how, self.public_url, self.public_url)
        if self.config.http_behind_proxy and host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("--http-behind-proxy on %s: plain HTTP is reachable from the network, not only by "
                        "the proxy; give --http-host 127.0.0.1 when the proxy runs on this machine", host)

    def begin_shutdown(self) -> None:
        """Stop accepting and tell every client; `stop` a moment later closes the rest."""
        for server in self.servers:
            server.stop_accepting()
        if self.http_endpoint is not None:
            self.http_endpoint.stop_accepting()
        self.service.announce_shutdown()

    def stop(self) -> None:
        self.loop.assert_in_loop_thread()
        self.service.stopping = True
        for timer in self._timers:
            self.loop.cancel(timer)
        for server in self.servers:
            server.stop()
        if self.http_endpoint is not None:
            self.http_endpoint.stop()
        self.pool.stop()
        if self.provider_calls is not None:
            self.provider_calls.close()
        self.hashing.close()
        self.db.close()
        self.storage.close()

    def stats(self) -> dict[str, int]:
        total = LoopStats.total(list(self.stats_by_loop.values()))
        return {"control": len(self.control_server.connections), "audio": len(self.audio_server.connections),
                "video": len(self.video_server.connections), "sessions": len(self.service.sessions_by_user),
                "rooms": len(self.service.rooms), "frames_in": total.frames_in,
                "refused_per_address": self.per_address.refused_total if self.per_address else 0,
                "frames_out": total.frames_out, "drops": total.drops,
                "dropped_outside_room": total.dropped_outside_room,
                # Argon2 checks run in this process (logins, unknown names too, and room passwords).
                "password_checks": passwords.checks_run.value,
                # Exceptions caught in callbacks: each closed its connection or was logged, never a loop.
                "callback_errors": sum(loop.callback_errors for loop in {self.loop, *self.pool.all_loops()})}

    def log_stats(self) -> None:
        log.info("stats: %s", " ".join(f"{key}={value}" for key, value in self.stats().items()))

    # -- I/O loop callbacks ---------------------------------------------

    def _on_control_connection(self, conn: TcpConnection) -> None:
        log.info("control connection %s %s %s", conn.name, conn.peer_address,
                 "up" if conn.connected else "down")
        if conn.connected:
            conn.context = ControlLink()  # before the first read: it sets the frame size limit
        handler = self.service.control_connected if conn.connected else self.service.control_closed
        self.loop.run_in_loop(partial(handler, conn))

    def _on_control_frame(self, conn: TcpConnection, body: bytes) -> None:
        if body[0] != FrameKind.CONTROL:
            log.warning("%s from %s: frame kind %d on the control connection; closing",
                        conn.name, conn.peer_address, body[0])
            conn.force_close()
            return
        link: ControlLink = conn.context
        link.posted += 1
        self.loop.run_in_loop(partial(self.service.control_frame, conn, body))
        if link.waiting >= ControlLink.MAX_WAITING and not link.reading_paused:
            # A client far ahead of its replies (a pipeline it may never read): read no more until
            # the control loop has answered most of it. Told through the control loop's queue, behind
            # those requests, so that the control loop cannot miss that we wait.
            link.reading_paused = True
            conn.stop_reading()
            self.loop.run_in_loop(partial(self.service.reading_paused, conn))

    def _on_media_connection(self, stream: StreamKind, conn: TcpConnection) -> None:
        log.info("%s connection %s %s %s", stream.name.lower(), conn.name, conn.peer_address,
                 "up" if conn.connected else "down")
        if conn.connected:
            self.loop.run_in_loop(partial(self.service.media_connected, conn))
        else:
            self.loop.run_in_loop(partial(self.service.media_closed, conn, conn.context))

    def _on_media_frame(self, stream: StreamKind, conn: TcpConnection, frame: bytes) -> None:
        """The per-frame path: check who sent it, then relay the frame as it came; no lock, no copy."""
        peer = conn.context
        kind = frame[_KIND_AT]
        if peer is None:
            if kind == FrameKind.CONTROL:
                self.loop.run_in_loop(partial(self.service.media_hello, conn, stream, frame[_KIND_AT:]))
            else:
                self._refuse(conn, "media before a successful media_hello")
            return
        if len(frame) < _MIN_MEDIA_FRAME or kind != FrameKind.MEDIA:
            self._refuse(conn, f"a {len(frame) - _KIND_AT}-byte frame of kind {kind} where media was due")
            return
        frame_stream, sender = _STREAM_AND_SENDER.unpack_from(frame, _KIND_AT + 1)
        if frame_stream != stream or sender != peer.user_id:
            self._refuse(conn, f"media claiming stream {frame_stream} from user {sender}")
            return
        peer.stats.frames_in += 1
        route = peer.route
        if route is None:
            peer.stats.dropped_outside_room += 1
            return
        route.relay(peer, frame)

    @staticmethod
    def _refuse(conn: TcpConnection, what: str) -> None:
        if conn.connected:  # frames already read behind the first bad one are not news
            log.warning("%s from %s: %s; closing", conn.name, conn.peer_address, what)
            conn.force_close()


def _control_frame_limit(conn: TcpConnection) -> int:
    link = conn.context
    return MAX_FRAME_BEFORE_LOGIN if link is None else link.frame_limit


def _media_frame_limit(after_hello: int, conn: TcpConnection) -> int:
    """Small frames until media_hello has succeeded (the connection's context is then its MediaPeer)."""
    return MAX_FRAME_BEFORE_LOGIN if conn.context is None else after_hello


def _redacted(url: str) -> str:
    """The database URL without its password, for the log."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
