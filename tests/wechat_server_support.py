"""A real server process offering WeChat logins through the WeChat stand-in, and the browser's part of
such a login: shared by the desktop client's provider tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.server_process import ServerProcess, server_process
from tests.standins.wechat_standin import WeChatStandin, WeChatUser
from tests.tls_support import cert_path

APP_ID = "wx1234567890abcdef"
APP_SECRET = "test-app-secret-0123456789abcdef"
LI = WeChatUser(openid="oLi-openid-0001", nickname="Li Lei", unionid="uLi-unionid-0001")


@contextlib.contextmanager
def wechat_standin() -> Iterator[WeChatStandin]:
    """The stand-in with one user, Li Lei, who approves the next QR scan; the callback domain registered
    there is our server's HTTP endpoint, 127.0.0.1."""
    standin = WeChatStandin(APP_ID, APP_SECRET, "127.0.0.1", {"li": LI}, approver="li")
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
    assert standin.errors == []


@contextlib.contextmanager
def server_with_wechat(directory: Path, standin: WeChatStandin) -> Iterator[ServerProcess]:
    """server_main.py with `--providers` naming one provider, "wechat", at the stand-in."""
    with server_process(directory, "--providers", str(wechat_providers_file(directory, standin))) as server:
        yield server


def wechat_providers_file(directory: Path, standin: WeChatStandin) -> Path:
    """A providers.toml in `directory` with one provider, "wechat", at the stand-in (APP_ID, APP_SECRET)."""
    path = directory / "providers.toml"
    path.write_text(f"""
[providers.wechat]
kind = "wechat"
display_name = "WeChat"
app_id = "{APP_ID}"
app_secret = "{APP_SECRET}"
authorize_url = "{standin.authorize_url}"
api_base = "{standin.base_url}"
""", encoding="utf-8")
    return path


def visit(url: str) -> requests.Response:
    """The browser's part: our start page -> WeChat's QR page (scanned by the approver) -> our callback."""
    return requests.get(url, verify=str(cert_path()), timeout=10)
