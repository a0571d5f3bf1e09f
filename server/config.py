"""The server's settings, filled from server_main.py's flags."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    # The control port; audio and video listen on port + 1 and port + 2.
    # 0 gives each of the three a free port (tests).
    port: int = 0
    threads: int = 1
    db_url: str = "sqlite:///data/meeting.db"
    heartbeat_timeout: float = 30.0
    max_room_size: int = 100
    stats_interval: float = 10.0
    db_workers: int = 2
    # Every request that needs the database is answered within this many seconds: a job still queued
    # then is answered DATABASE_UNAVAILABLE and never runs; a running one starts no step it could not
    # finish by then. Under 2 s leaves no room for a MySQL reconnect (1 s connect + 1 s reply).
    db_deadline: float = 2.5
    # The database's circuit breaker: after this many failed jobs in a row, jobs are refused at once
    # (DATABASE_UNAVAILABLE) for the cooldown, then one probe job tries the database again.
    db_breaker_failures: int = 3
    db_breaker_cooldown: float = 2.0
    # Password hashing has workers of its own: a burst of logins never delays a database write.
    hash_workers: int = 2
    # Password checks waiting for a hashing worker, in all and per client address (served in turn);
    # past either, the request is answered SERVER_BUSY at once rather than queued.
    hash_queue_limit: int = 128
    hash_queue_per_address: int = 32
    # Overrides of server.guess_limits.DEFAULT_LIMITS: rule name -> "5/minute;20/hour" or "none".
    rate_limits: dict[str, str] = field(default_factory=dict)
    # Where the guess windows live: "memory://" (one node); "redis://HOST:PORT" to share them.
    rate_limit_storage: str = "memory://"
    # After a start, how long the rooms that were live (temporary ones too) wait for their members.
    room_grace: float = 120.0
    # A receiver whose queued media has not moved for this long is disconnected (the room is told).
    receiver_stall_timeout: float = 10.0
    # Control output queued for a client that does not read; past it the connection is closed.
    control_high_water: int = 8 * 1024 * 1024
    # TLS on all three ports unless `tls` is False (benchmarks and comparisons only: everything in clear).
    tls: bool = True
    # The operator's certificate chain and key (e.g. Let's Encrypt's fullchain.pem and privkey.pem);
    # without them a self-signed certificate is made once in data_dir/tls and kept.
    cert_file: str | None = None
    key_file: str | None = None
    data_dir: str = "data"
    # A connection whose TLS handshake is not done by then is closed.
    tls_handshake_timeout: float = 10.0
    # A control connection that has not logged in, or a media connection that has not presented its
    # token (media_hello), this many seconds after connecting is closed.
    login_timeout: float = 10.0
    # Live connections (all three ports together) from one source address; 0: no limit. A school
    # behind one NAT address: 300 people at three connections each. Keep it well under the fd limit.
    max_connections_per_address: int = 900
    # Persistent rooms one user may own (create_room answers ROOM_QUOTA beyond).
    persistent_rooms_per_user: int = 20
    # Login providers (OpenID Connect, WeChat, QQ): a TOML file (docs in README); None: none.
    providers_file: str | None = None
    # A login through a provider not finished by then is answered LOGIN_EXPIRED.
    provider_login_timeout: float = 300.0
    # How long the login token of a provider login lets the client log in again by itself (after
    # a restart or a network drop): it has no password to send.
    login_token_lifetime: float = 24 * 3600.0
    # Threads for the blocking calls to providers, apart from the database's.
    provider_workers: int = 4
    # The HTTP endpoint (OAuth callbacks, /healthz): -1 for none, 0 for a free port. It speaks TLS when
    # the other ports do, unless http_behind_proxy: plain HTTP for a reverse proxy that terminates TLS.
    http_port: int = 0
    # Where it listens; "" means `host`. Behind a proxy on the same machine: 127.0.0.1.
    http_host: str = ""
    http_behind_proxy: bool = False
    # The address people's browsers use (https://meet.example.org); "" derives https://HOST:HTTP_PORT.
    public_url: str = ""

    @property
    def heartbeat_interval(self) -> float:
        """What clients are told: a third of the timeout leaves room for two losses."""
        return self.heartbeat_timeout / 3
