"""The request target's strict decoding, the router's patterns, and the pages people read."""

from __future__ import annotations

import pytest

from server.web.http_message import html_page, json_response, redirect
from server.web.request_target import MAX_QUERY_FIELDS, BadTarget, split_target
from server.web.router import Router


def test_the_path_is_percent_decoded_and_the_query_form_decoded():
    assert split_target(b"/oauth/%E5%BE%AE%E4%BF%A1/callback?code=a%2Bb&state=x+y&empty=") == (
        "/oauth/微信/callback", {"code": "a+b", "state": "x y", "empty": ""})
    assert split_target(b"/healthz") == ("/healthz", {})


@pytest.mark.parametrize("target, why", [
    (b"/cb?state=1&state=2", "twice"),  # which one would the check have seen?
    (b"/cb?code=%ff", "UTF-8"),
    (b"/%c3%28", "UTF-8"),
    (b"/a%0d%0ab", "control"),  # no forged lines in the log
    (b"*", "not a path"),
    (b"http://other.example/cb", "not a path"),
    (b"/cb?" + b"&".join(b"k%d=v" % i for i in range(MAX_QUERY_FIELDS + 1)), "query fields"),
])
def test_a_target_that_cannot_be_read_plainly_is_refused(target, why):
    with pytest.raises(BadTarget, match=why):
        split_target(target)


def test_a_pattern_matches_whole_segments_and_exact_paths_only_themselves():
    router = Router()
    start, healthz = object(), object()
    router.add("/oauth/{provider}/start", start)
    router.add("/healthz", healthz)
    assert router.match("/oauth/school/start") == (start, {"provider": "school"})
    assert router.match("/healthz") == (healthz, {})
    for path in ("/oauth/a/b/start", "/oauth//start", "/oauth/school/start/", "/healthzz", "/x/healthz"):
        assert router.match(path) is None, path
    with pytest.raises(ValueError):
        router.add("healthz", healthz)


def test_regex_characters_in_a_pattern_are_literal():
    router = Router()
    router.add("/a.b", "dot")
    assert router.match("/a.b") == ("dot", {})
    assert router.match("/axb") is None


def test_a_page_escapes_its_title_and_text():
    page = html_page(200, "<script>alert(1)</script>", 'Go back to "mini-meeting" & <b>log in</b>')
    assert b"<script>" not in page.body and b"<b>" not in page.body
    assert b"&lt;script&gt;" in page.body and b"&amp; &lt;b&gt;" in page.body
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["content-security-policy"]


def test_a_redirect_cannot_carry_a_header_of_its_own():
    assert redirect("https://id.example.org/auth?x=1").headers == {"location": "https://id.example.org/auth?x=1"}
    with pytest.raises(ValueError):
        redirect("https://id.example.org/\r\nSet-Cookie: x=1")


def test_json_response():
    answer = json_response(503, {"status": "unavailable"})
    assert (answer.status, answer.body) == (503, b'{"status":"unavailable"}')
