"""TLS as a stranger sees it, against a real server process: Python's ssl, openssl s_client, a
plaintext client, a handshake that stalls, the self-signed certificate and --no-tls."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import PROTOCOL_VERSION
from tests.conftest import free_base_port, wait_until
from tests.raw_client import RawConnection
from tests.tls_support import cert_path, server_tls_flags

ROOT = Path(__file__).resolve().parents[1]
TLS13_SUITES = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"}


class ServerProcess:
    """server_main.py with its log in a file, readable while it runs."""

    def __init__(self, workdir: Path, port: int, *flags: str) -> None:
        self.port = port
        self.log_path = workdir / "server.log"
        self.stdout_path = workdir / "server.out"
        with open(self.log_path, "w") as log, open(self.stdout_path, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1", "--port", str(port),
                 "--db", f"sqlite:///{workdir}/m.db", "--stats-interval", "0", *flags],
                cwd=workdir, stdout=out, stderr=log)
        assert wait_until(lambda: "listening on" in self.log(), timeout=15, interval=0.05), self.log()

    def log(self) -> str:
        return self.log_path.read_text()

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


@contextlib.contextmanager
def server_process(workdir: Path, *flags: str, port: int | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(workdir, port or free_base_port(), *flags)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with server_process(tmp_path, *server_tls_flags(), "--tls-handshake-timeout", "1") as server:
        yield server


def _s_client(port: int, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief", *options],
                          input="", capture_output=True, text=True, timeout=20)


def test_python_default_context_gets_tls13_with_a_modern_suite_and_a_verified_certificate(server):
    context = ssl.create_default_context(cafile=str(cert_path()))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() == "TLSv1.3"
        assert tls.cipher()[0] in TLS13_SUITES
    # And the protocol runs over it, on all three ports.
    conn = RawConnection(server.port)
    assert conn.ok("hello", version=PROTOCOL_VERSION)["version"] == PROTOCOL_VERSION
    conn.ok("register", username="ada", password="secret-pw")
    login = conn.ok("login", username="ada", password="secret-pw")
    for stream in ("audio", "video"):
        media = RawConnection(login[f"{stream}_port"])
        assert media.ok("media_hello", token=login["token"], stream=stream)["user_id"]
        media.close()
    conn.close()


def test_openssl_s_client_sees_tls13_and_verifies_the_certificate(server):
    result = _s_client(server.port, "-CAfile", str(cert_path()), "-verify_return_error")
    assert "Protocol version: TLSv1.3" in result.stderr, result.stderr
    assert _field(result.stderr, "Ciphersuite") in TLS13_SUITES
    assert "Verification: OK" in result.stderr


def test_tls12_is_accepted_with_forward_secret_aead_suites_only(server):
    modern = _s_client(server.port, "-tls1_2")
    assert "Protocol version: TLSv1.2" in modern.stderr, modern.stderr
    suite = _field(modern.stderr, "Ciphersuite")
    assert suite.startswith("ECDHE-ECDSA-") and ("GCM" in suite or "CHACHA20" in suite), suite
    for weak in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"):  # CBC, no AEAD
        refused = _s_client(server.port, "-tls1_2", "-cipher", weak)
        assert "CONNECTION ESTABLISHED" not in refused.stderr, refused.stderr
        assert "handshake failure" in refused.stderr


def test_tls11_and_older_are_refused(server):
    # SECLEVEL=0 lets the client offer TLS 1.1 at all: the refusal must come from the server.
    result = _s_client(server.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert "CONNECTION ESTABLISHED" not in result.stderr
    assert "protocol version" in result.stderr, result.stderr
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    with pytest.warns(DeprecationWarning):  # as it should be
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert wait_until(lambda: "UNSUPPORTED_PROTOCOL" in server.log(), timeout=5)


def test_a_plaintext_client_is_refused_with_one_log_line_and_others_are_served(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as plain:
        plain.sendall(b'\x00\x00\x00\x2a\x01{"type":"hello","id":1,"version":2,"x":"xx"}')
        assert _closed_by_server(plain)  # after an alert at most: no reply, no hang
    assert wait_until(lambda: "TLS handshake failed" in server.log(), timeout=5)
    conn = RawConnection(server.port)  # the next one, over TLS, is served
    assert conn.ok("hello", version=PROTOCOL_VERSION)
    conn.close()
    failed = [line for line in server.log().splitlines() if "TLS handshake failed" in line]
    assert len(failed) == 1 and "WRONG_VERSION_NUMBER" in failed[0], failed
    assert "Traceback" not in server.log()


def test_a_handshake_that_stalls_is_closed_after_the_timeout(server):
    hello = _first_client_hello()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as silent, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as halfway:
        halfway.sendall(hello[:len(hello) // 2])  # half a ClientHello, then nothing
        started = time.monotonic()
        assert _closed_by_server(silent, timeout=10)
        assert _closed_by_server(halfway, timeout=10)
        assert time.monotonic() - started < 9  # the 1 s flag, not some later reaper
    overdue = "TLS handshake failed (not done within 1 s)"
    assert wait_until(lambda: server.log().count(overdue) == 2, timeout=5)
    conn = RawConnection(server.port)
    assert conn.ok("hello", version=PROTOCOL_VERSION)
    conn.close()


def test_self_signed_certificate_is_made_once_kept_and_its_key_fingerprint_printed(tmp_path):
    with server_process(tmp_path) as first:
        printed = first.stdout().strip().rsplit(" ", 1)[-1]
    cert, key = tmp_path / "data" / "tls" / "server.crt", tmp_path / "data" / "tls" / "server.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    # The SPKI hash as openssl computes it, independently of our code.
    pubkey = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"], capture_output=True,
                            check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pubkey, capture_output=True,
                         check=True).stdout
    assert printed == hashlib.sha256(der).hexdigest()
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout
    assert "prime256v1" in text and "ecdsa-with-SHA256" in text
    before = cert.read_bytes()
    with server_process(tmp_path) as second:
        assert second.stdout().strip().endswith(printed)
        assert "made a self-signed" not in second.log()
    assert cert.read_bytes() == before


def test_no_tls_says_loudly_that_it_is_insecure_and_speaks_in_clear(tmp_path):
    with server_process(tmp_path, "--no-tls") as server:
        assert "INSECURE" in server.log() and "WARNING" in server.log()
        conn = RawConnection(server.port, tls=False)
        assert conn.ok("hello", version=PROTOCOL_VERSION)
        conn.close()
    assert not (tmp_path / "data" / "tls").exists()


def _field(s_client_output: str, name: str) -> str:
    """One "Name: value" line of `openssl s_client -brief`."""
    return next(line.split(": ", 1)[1] for line in s_client_output.splitlines() if line.startswith(name))


def _closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def _first_client_hello() -> bytes:
    """The bytes a real TLS client opens with, taken from a memory BIO."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    context = ssl.create_default_context()
    client = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()

