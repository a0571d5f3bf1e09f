"""The meeting server's HTTP endpoint as an operator runs it: over TLS with the server's certificate,
plain behind a proxy, none at all, and through the real `python server_main.py`."""

from __future__ import annotations

import subprocess

import pytest
import requests

from server_main import parse_args
from tests.conftest import running_meeting_server
from tests.server_process import server_process
from tests.tls_support import cert_path


def test_healthz_over_tls_with_the_servers_certificate(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", threads=2) as server:
        assert server.public_url == f"https://127.0.0.1:{server.http_port}"
        answer = requests.get(f"{server.public_url}/healthz", verify=str(cert_path()), timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{server.http_port}/healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "up"}


def test_openssl_s_client_reaches_healthz_and_verifies_the_certificate(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{server.http_port}", "-CAfile", str(cert_path()),
             "-verify_return_error", "-quiet"],
            input="GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", capture_output=True, text=True,
            timeout=20)
    assert "verify return:1" in result.stderr and "error" not in result.stderr.lower(), result.stderr
    assert result.stdout.startswith("HTTP/1.1 200 OK\n"), (result.stdout, result.stderr)  # text mode: \n
    assert result.stdout.endswith('{"status":"ok","database":"up"}')


def test_behind_a_proxy_it_speaks_plain_http_and_gives_the_proxys_address(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", http_behind_proxy=True,
                                public_url="https://meet.example.org/") as server:
        assert server.public_url == "https://meet.example.org"
        answer = requests.get(f"http://127.0.0.1:{server.http_port}/healthz", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_without_tls_it_speaks_plain_http(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", tls=False) as server:
        assert server.public_url == f"http://127.0.0.1:{server.http_port}"
        assert requests.get(f"{server.public_url}/healthz", timeout=10).status_code == 200


def test_http_port_minus_one_means_no_endpoint(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", http_port=-1) as server:
        assert (server.http_port, server.public_url, server.http_endpoint) == (-1, "", None)


def test_healthz_says_unavailable_while_the_database_breaker_is_open(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", db_breaker_failures=1,
                                db_breaker_cooldown=60) as server:
        server.db.breaker.failed("a test outage")
        answer = requests.get(f"{server.public_url}/healthz", verify=str(cert_path()), timeout=10)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "down"}


def test_the_flags():
    assert parse_args([]).http_port == 9003
    assert parse_args(["--port", "7000"]).http_port == 7003
    assert parse_args(["--port", "0"]).http_port == 0
    assert parse_args(["--http-port", "-1"]).http_port == -1
    assert parse_args(["--public-url", "https://meet.example.org/"]).public_url == "https://meet.example.org"
    for bad in (["--http-behind-proxy"], ["--http-port", "-2"], ["--port", "65533"],
                ["--public-url", "meet.example.org"], ["--public-url", "https://meet.example.org/x?y"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_the_real_server_answers_healthz_on_its_http_port(tmp_path):
    with server_process(tmp_path) as server:
        answer = requests.get(f"{server.http_url}/healthz", verify=str(cert_path()), timeout=10)
        log = server.log()
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "database": "up"}
    assert f"HTTP endpoint on 127.0.0.1 port {server.http_port} (TLS); browsers reach it at " \
           f"{server.http_url}; health check {server.http_url}/healthz" in log


def test_the_real_server_behind_a_proxy_answers_in_clear_and_logs_the_proxys_address(tmp_path):
    with server_process(tmp_path, "--http-behind-proxy", "--public-url", "https://meet.example.org",
                        "--http-host", "127.0.0.1") as server:
        answer = requests.get(f"http://127.0.0.1:{server.http_port}/healthz", timeout=10)
        log = server.log()
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert "(plain HTTP for a reverse proxy); browsers reach it at https://meet.example.org;" in log
    assert "reachable from the network" not in log  # bound to 127.0.0.1: no warning
