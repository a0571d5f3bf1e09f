"""HttpEndpoint against real clients (requests and raw sockets, in clear and over TLS): routing, the
limits every answer respects, and a respond() that comes later, from another thread, or too late."""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time

import pytest
import requests

from reactor.tls_context import server_context
from server.web.http_message import HttpRequest, html_page, json_response, redirect
from tests.conftest import call_in_loop, wait_until
from tests.http_support import (
    SECURITY_HEADERS,
    connections,
    parse_answer,
    raw_exchange,
    read_to_end,
    running_endpoint,
)
from tests.tls_support import cert_path, shared_identity


def echo(request: HttpRequest, params, respond) -> None:
    respond(json_response(200, {"method": request.method, "path": request.path, "query": request.query,
                                "params": params, "host": request.headers.get("host", "")}))


def with_echo(endpoint) -> None:
    endpoint.route("/oauth/{provider}/start", echo)
    endpoint.route("/healthz", echo)


def assert_secured(headers) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, (name, headers)
    policy = headers["content-security-policy"]
    assert policy.startswith("default-src 'none'") and "script" not in policy


def test_a_route_gets_its_path_parameters_and_the_decoded_query():
    with running_endpoint(with_echo) as endpoint:
        answer = requests.get(f"http://127.0.0.1:{endpoint.port}/oauth/my%20school/start",
                              params={"ticket": "T 1/+", "x": ""}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"method": "GET", "path": "/oauth/my school/start",
                             "query": {"ticket": "T 1/+", "x": ""}, "params": {"provider": "my school"},
                             "host": f"127.0.0.1:{endpoint.port}"}
    assert_secured(answer.headers)
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/nothing", "/oauth/a/b/start", "/oauth//start", "/healthz/", "/HEALTHZ"])
def test_an_unknown_path_is_a_404_page(path):
    with running_endpoint(with_echo) as endpoint:
        answer = requests.get(f"http://127.0.0.1:{endpoint.port}{path}", timeout=5)
    assert answer.status_code == 404
    assert "There is no page at this address." in answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert_secured(answer.headers)


def test_only_get_and_head_are_served():
    with running_endpoint(with_echo) as endpoint:
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            answer = requests.request(method, f"http://127.0.0.1:{endpoint.port}/healthz", data=b"x" * 100,
                                      timeout=5)
            assert answer.status_code == 405, method
            assert answer.headers["allow"] == "GET, HEAD"
            assert_secured(answer.headers)


def test_head_answers_the_headers_of_get_without_a_body():
    with running_endpoint(with_echo) as endpoint:
        get = raw_exchange(endpoint.port, b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
        head = raw_exchange(endpoint.port, b"HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
    get_status, get_headers, get_body = parse_answer(get)
    head_status, head_headers, head_body = parse_answer(head)
    assert get_status == head_status == 200
    assert json_body(get_body)["method"] == "GET"
    # The same length as GET's body ("HEAD" and "GET" differ by one character in it), and no body at all.
    assert int(head_headers["content-length"]) == len(get_body) + 1
    assert head_body == b""
    assert head_headers["content-type"] == get_headers["content-type"] == "application/json"
    assert_secured(head_headers)


def json_body(body: bytes) -> dict:
    return json.loads(body)


def test_a_malformed_request_gets_400_and_is_closed_while_others_are_served(caplog):
    caplog.set_level(logging.INFO)
    with running_endpoint(with_echo) as endpoint:
        answer = raw_exchange(endpoint.port, b"THIS IS NOT HTTP\r\n\r\n")  # returns at the server's close
        assert requests.get(f"http://127.0.0.1:{endpoint.port}/healthz", timeout=5).status_code == 200
    status, headers, body = parse_answer(answer)
    assert status == 400
    assert b"Your browser sent a request this server cannot read." in body
    assert_secured(headers)
    lines = [r for r in caplog.records if "bad HTTP request" in r.getMessage()]
    assert len(lines) == 1 and "127.0.0.1" in lines[0].getMessage() and lines[0].exc_info is None


@pytest.mark.parametrize("target", [b"/healthz?a=1&a=2", b"/healthz?a=%ff", b"/%ff", b"/a%00b",
                                    b"http://elsewhere/healthz"])
def test_a_target_that_cannot_be_read_plainly_is_a_400(target):
    with running_endpoint(with_echo) as endpoint:
        status, headers, _ = parse_answer(raw_exchange(endpoint.port, b"GET " + target + b" HTTP/1.1\r\n"
                                                       b"Host: h\r\n\r\n"))
    assert status == 400
    assert_secured(headers)


def test_a_get_with_a_body_is_a_400():
    with running_endpoint(with_echo) as endpoint:
        status, _, _ = parse_answer(raw_exchange(endpoint.port, b"GET /healthz HTTP/1.1\r\nHost: h\r\n"
                                                 b"Content-Length: 5\r\n\r\nhello"))
    assert status == 400


@pytest.mark.parametrize("piece", [None, 1024], ids=["at-once", "in-1-KiB-pieces"])
def test_20_kib_of_headers_is_a_431(piece):
    request = b"GET /healthz HTTP/1.1\r\nHost: h\r\n" + b"X-Big: " + b"a" * 20 * 1024 + b"\r\n\r\n"
    with running_endpoint(with_echo) as endpoint:
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
            step = piece or len(request)
            try:
                for start in range(0, len(request), step):
                    sock.sendall(request[start:start + step])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before the rest arrived: what we read tells
            answer = read_to_end(sock)
    status, headers, _ = parse_answer(answer)
    assert status == 431
    assert_secured(headers)


def test_a_request_that_never_completes_is_answered_408_and_closed():
    with running_endpoint(with_echo, request_timeout=0.3) as endpoint:
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: h\r\n")  # and never the blank line
            answer = read_to_end(sock)  # a timeout here (5 s) would fail the test
        assert wait_until(lambda: connections(endpoint) == 0, timeout=5)
    assert parse_answer(answer)[0] == 408


def test_a_silent_connection_is_closed_after_the_request_timeout():
    with running_endpoint(with_echo, request_timeout=0.3) as endpoint:
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
            assert parse_answer(read_to_end(sock))[0] == 408


def test_a_handler_that_raises_gets_a_generic_500_and_its_traceback_goes_to_the_log(caplog):
    def broken(request, params, respond):
        raise RuntimeError("secret-detail of the failure")

    with running_endpoint(lambda e: e.route("/broken", broken)) as endpoint:
        answer = requests.get(f"http://127.0.0.1:{endpoint.port}/broken", timeout=5)
        assert requests.get(f"http://127.0.0.1:{endpoint.port}/broken", timeout=5).status_code == 500
    assert answer.status_code == 500
    assert "Something went wrong on the server." in answer.text
    assert "secret-detail" not in answer.text and "Traceback" not in answer.text
    assert_secured(answer.headers)
    failures = [r for r in caplog.records if "the handler of GET /broken failed" in r.getMessage()]
    assert failures and "secret-detail" in str(failures[0].exc_info[1])


def test_respond_may_come_later_from_another_thread_and_only_the_first_counts():
    workers: list[threading.Thread] = []

    def slow(request, params, respond):
        def work():
            time.sleep(0.2)  # a provider being asked
            respond(html_page(200, "You are logged in", "Go back to <mini-meeting>."))
            respond(html_page(500, "second", "ignored"))

        workers.append(threading.Thread(target=work))
        workers[-1].start()

    with running_endpoint(lambda e: e.route("/slow", slow)) as endpoint:
        answer = raw_exchange(endpoint.port, b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
    for worker in workers:
        worker.join()
    assert answer.count(b"HTTP/1.1 ") == 1
    status, headers, body = parse_answer(answer)
    assert status == 200
    assert b"Go back to &lt;mini-meeting&gt;." in body  # escaped: a text, never markup
    assert "style-src 'unsafe-inline'" in headers["content-security-policy"]
    assert_secured(headers)


def test_respond_after_the_client_left_does_nothing_and_logs_no_error(caplog):
    waiting = []

    def parked(request, params, respond):
        waiting.append(respond)

    def configure(endpoint) -> None:
        endpoint.route("/parked", parked)
        with_echo(endpoint)

    with running_endpoint(configure) as endpoint:
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
            sock.sendall(b"GET /parked HTTP/1.1\r\nHost: h\r\n\r\n")
            assert wait_until(lambda: waiting, timeout=5)
        assert wait_until(lambda: connections(endpoint) == 0, timeout=5)
        caplog.set_level(logging.DEBUG)
        caplog.clear()
        waiting[0](html_page(200, "late", "nobody reads this"))
        call_in_loop(endpoint.server.loop, lambda: None)  # the posted send has run by now
        assert requests.get(f"http://127.0.0.1:{endpoint.port}/healthz", timeout=5).status_code == 200
        assert endpoint.server.loop.callback_errors == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_handler_that_never_answers_gets_a_504():
    with running_endpoint(lambda e: e.route("/never", lambda *args: None), response_timeout=0.3) as endpoint:
        answer = requests.get(f"http://127.0.0.1:{endpoint.port}/never", timeout=5)
    assert answer.status_code == 504
    assert "could not finish in time" in answer.text


def test_redirect_sends_the_browser_on():
    target = "https://id.example.org/authorize?client_id=x&state=y"
    def go(request, params, respond) -> None:
        respond(redirect(target))

    with running_endpoint(lambda e: e.route("/go", go)) as endpoint:
        answer = requests.get(f"http://127.0.0.1:{endpoint.port}/go", allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    assert answer.headers["location"] == target
    assert_secured(answer.headers)


def test_over_tls_with_a_verified_certificate_and_never_in_clear():
    identity = shared_identity()
    context = server_context(identity.cert_file, identity.key_file)
    with running_endpoint(with_echo, tls_context=context) as endpoint:
        answer = requests.get(f"https://127.0.0.1:{endpoint.port}/healthz", verify=str(cert_path()),
                              timeout=5)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{endpoint.port}/healthz", timeout=5)
        raw = raw_exchange(endpoint.port, b"THIS IS NOT HTTP\r\n\r\n",
                           tls=ssl.create_default_context(cafile=str(cert_path())))
    assert answer.status_code == 200 and answer.json()["path"] == "/healthz"
    assert_secured(answer.headers)
    assert parse_answer(raw)[0] == 400


def test_a_status_without_a_standard_phrase_still_goes_out():
    def odd(request, params, respond) -> None:
        respond(json_response(299, {"odd": True}))

    with running_endpoint(lambda e: e.route("/odd", odd)) as endpoint:
        answer = raw_exchange(endpoint.port, b"GET /odd HTTP/1.1\r\nHost: h\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 299 \r\n")
    assert parse_answer(answer)[2] == b'{"odd":true}'
