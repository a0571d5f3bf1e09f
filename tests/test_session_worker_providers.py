"""SessionWorker and login providers, against a real server offering WeChat (the stand-in): the list,
a login whose browser step the test does, Cancel from the GUI thread while the worker waits, and a
password account that links and unlinks WeChat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PyQt5.QtCore import QObject, pyqtSignal

from qt_client.workers.session_worker import CANCELLED, SessionWorker
from tests.server_process import ServerProcess
from tests.standins.wechat_standin import WeChatStandin, WeChatUser
from tests.tls_support import pinned_trust
from tests.wechat_server_support import server_with_wechat, visit, wechat_standin
from tests.worker_support import PASSWORD, running

WECHAT = {"name": "wechat", "display_name": "WeChat", "kind": "wechat"}


class Gui(QObject):
    """What the app does: emit a signal, queued to the worker's thread."""

    list_providers = pyqtSignal(str, int)
    login = pyqtSignal(str, int, str, str, bool)
    login_with_provider = pyqtSignal(str, int, str, int)
    load_sign_in_methods = pyqtSignal()
    link_provider = pyqtSignal(str, int)
    unlink_provider = pyqtSignal(str)

    def __init__(self, worker: SessionWorker) -> None:
        super().__init__()
        self.list_providers.connect(worker.list_providers)
        self.login.connect(worker.connect_and_login)
        self.login_with_provider.connect(worker.login_with_provider)
        self.load_sign_in_methods.connect(worker.load_sign_in_methods)
        self.link_provider.connect(worker.link_provider)
        self.unlink_provider.connect(worker.unlink_provider)


@pytest.fixture(scope="module")
def standin() -> Iterator[WeChatStandin]:
    with wechat_standin() as standin:
        yield standin


@pytest.fixture(scope="module")
def server(tmp_path_factory: Any, standin: WeChatStandin) -> Iterator[ServerProcess]:
    with server_with_wechat(Path(tmp_path_factory.mktemp("server")), standin) as server:
        yield server


@pytest.fixture
def session(qtbot: Any) -> Iterator[tuple[SessionWorker, Gui]]:
    worker = SessionWorker(connect_timeout=2.0, request_timeout=5.0, make_trust=pinned_trust)
    with running(worker, "session"):
        yield worker, Gui(worker)


def test_the_servers_providers_are_listed(qtbot: Any, server: ServerProcess, session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.providers_listed, timeout=10_000) as listed:
        gui.list_providers.emit("127.0.0.1", server.control_port)
    assert listed.args == [[WECHAT]]


def test_a_provider_login_opens_the_browser_and_logs_in(qtbot: Any, server: ServerProcess,
                                                        session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.browser_wanted, timeout=10_000) as wanted:
        gui.login_with_provider.emit("127.0.0.1", server.control_port, "wechat", worker.new_provider_flow())
    with qtbot.waitSignal(worker.logged_in, timeout=15_000) as logged_in:
        visit(wanted.args[0])
    assert logged_in.args[0]["display_name"] == "Li Lei"
    with qtbot.waitSignal(worker.sign_in_methods, timeout=10_000) as methods:
        gui.load_sign_in_methods.emit()
    assert methods.args == [{"linked_providers": ["wechat"], "has_password": False}]


def test_cancel_from_the_gui_thread_ends_the_wait_at_once(qtbot: Any, server: ServerProcess,
                                                          session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.browser_wanted, timeout=10_000):
        gui.login_with_provider.emit("127.0.0.1", server.control_port, "wechat", worker.new_provider_flow())
    # The worker's thread is blocked in the wait: a queued request could not reach it, this call does.
    with qtbot.waitSignal(worker.request_failed, timeout=5_000) as failed:
        worker.cancel_provider_flow()
    assert failed.args[:2] == ["login_with_provider", CANCELLED]
    assert worker.client is None  # dropped, so that the server forgets the login under way


def test_a_flow_cancelled_before_it_starts_never_opens_the_browser(qtbot: Any, server: ServerProcess,
                                                                   session: Any) -> None:
    worker, gui = session
    flow = worker.new_provider_flow()
    worker.cancel_provider_flow()
    with qtbot.assertNotEmitted(worker.browser_wanted), \
            qtbot.waitSignal(worker.request_failed, timeout=5_000) as failed:
        gui.login_with_provider.emit("127.0.0.1", server.control_port, "wechat", flow)
    assert failed.args[:2] == ["login_with_provider", CANCELLED]
    # A later flow is not affected by that Cancel.
    with qtbot.waitSignal(worker.browser_wanted, timeout=10_000):
        gui.login_with_provider.emit("127.0.0.1", server.control_port, "wechat", worker.new_provider_flow())
    worker.cancel_provider_flow()


def test_a_password_account_links_and_unlinks_wechat(qtbot: Any, server: ServerProcess,
                                                     standin: WeChatStandin, session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.logged_in, timeout=10_000):
        gui.login.emit("127.0.0.1", server.control_port, "hanmeimei", PASSWORD, True)
    # Another WeChat user than Li Lei, whose WeChat already leads into the account his login made.
    standin.users["han"] = WeChatUser(openid="oHan-openid-0002", nickname="Han Meimei")
    standin.approver = "han"
    try:
        with qtbot.waitSignal(worker.browser_wanted, timeout=10_000) as wanted:
            gui.link_provider.emit("wechat", worker.new_provider_flow())
        with qtbot.waitSignal(worker.sign_in_methods, timeout=15_000) as linked:
            visit(wanted.args[0])
        assert linked.args == [{"linked_providers": ["wechat"], "has_password": True}]
        with qtbot.waitSignal(worker.sign_in_methods, timeout=10_000) as unlinked:
            gui.unlink_provider.emit("wechat")
        assert unlinked.args == [{"linked_providers": [], "has_password": True}]
    finally:
        standin.approver = "li"
