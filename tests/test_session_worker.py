"""SessionWorker: the GUI asks through queued signals and hears back, while its own loop keeps running."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from protocol.media import MediaSource
from qt_client.workers.session_worker import SessionWorker
from tests.conftest import free_base_port, running_meeting_server
from tests.raw_client import Participant
from tests.tls_support import meeting_client, pinned_trust
from tests.worker_support import PASSWORD, ids, member, running


class Gui(QObject):
    """What the window does: emit a signal, queued to the worker's thread."""

    login = pyqtSignal(str, int, str, str, bool)
    create_room = pyqtSignal(object, object, bool)
    send_chat = pyqtSignal(str, str)
    leave_room = pyqtSignal()
    list_rooms = pyqtSignal()
    more_rooms = pyqtSignal(str)

    def __init__(self, worker: SessionWorker) -> None:
        super().__init__()
        self.login.connect(worker.connect_and_login)
        self.list_rooms.connect(worker.list_rooms)
        self.more_rooms.connect(worker.more_rooms)
        self.create_room.connect(worker.create_room)
        self.send_chat.connect(worker.send_chat)
        self.leave_room.connect(worker.leave_room)


@pytest.fixture
def server(tmp_path: Any) -> Iterator[Any]:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        yield server


@pytest.fixture
def session(qtbot: Any) -> Iterator[tuple[SessionWorker, Gui]]:
    worker = SessionWorker(connect_timeout=1.0, request_timeout=3.0, make_trust=pinned_trust)
    with running(worker, "session"):
        yield worker, Gui(worker)


def test_log_in_create_a_room_see_someone_join_and_chat(qtbot: Any, server: Any, session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.logged_in, timeout=3000) as logged_in:
        gui.login.emit("127.0.0.1", server.control_port, "ada", PASSWORD, True)
    assert logged_in.args[0]["username"] == "ada"
    with qtbot.waitSignal(worker.room_entered, timeout=3000) as entered:
        gui.create_room.emit("Standup", None, False)
    room = entered.args[0]["room"]
    assert ids(entered.args[0]["members"]) == {logged_in.args[0]["user_id"]}

    with qtbot.waitSignal(worker.members_changed, timeout=3000,
                          check_params_cb=lambda members: len(members) == 2) as changed:
        bob = member(server.control_port, "bob", room["room_id"])
    try:
        assert bob.user_id in ids(changed.args[0])
        with qtbot.waitSignal(worker.chat_received, timeout=3000) as chat:
            bob.chat("hello ada")
        assert chat.args[0]["text"] == "hello ada"
        sent: list[str] = []
        worker.chat_sent.connect(sent.append)
        with qtbot.waitSignal(worker.chat_received, timeout=3000) as own:
            gui.send_chat.emit("line-1", "hi bob")
        assert own.args[0]["text"] == "hi bob"
        qtbot.waitUntil(lambda: sent == ["line-1"], timeout=3000)
        with qtbot.waitSignal(worker.keyframe_requested, timeout=3000) as asked:
            bob.request_keyframe(logged_in.args[0]["user_id"], MediaSource.SCREEN)
        assert asked.args == [MediaSource.SCREEN]
        with qtbot.waitSignal(worker.room_left, timeout=3000):
            gui.leave_room.emit()
    finally:
        bob.close()


def test_a_closed_port_is_reported_unreachable_and_the_gui_keeps_running(qtbot: Any, session: Any) -> None:
    worker, gui = session
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nobody listens there
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(50)
    with qtbot.waitSignal(worker.request_failed, timeout=4000) as failed:
        gui.login.emit("127.0.0.1", port, "ada", PASSWORD, False)
    timer.stop()
    assert failed.args == ["login", "UNREACHABLE", f"Cannot reach the server at 127.0.0.1:{port}"]
    # The dial took about a second on the worker's thread; the GUI's loop ran all along.
    assert len(ticks) >= 10


def test_a_wrong_password_is_reported_with_its_code(qtbot: Any, server: Any, session: Any) -> None:
    member(server.control_port, "ada").close()
    worker, gui = session
    with qtbot.waitSignal(worker.request_failed, timeout=3000) as failed:
        gui.login.emit("127.0.0.1", server.control_port, "ada", "not-the-password", False)
    request, code, message = failed.args
    assert (request, code) == ("login", "WRONG_PASSWORD")
    assert message


def test_logging_in_elsewhere_ends_this_session(qtbot: Any, server: Any, session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.logged_in, timeout=3000):
        gui.login.emit("127.0.0.1", server.control_port, "ada", PASSWORD, True)
    with qtbot.waitSignal(worker.session_ended, timeout=3000) as ended:

        other = meeting_client("127.0.0.1", server.control_port, request_timeout=3.0)
        other.connect()
        other.login("ada", PASSWORD)
    try:
        reason, message = ended.args
        assert reason == "logged_in_elsewhere"
        assert "somewhere else" in message
    finally:
        other.close()


def test_stats_report_the_round_trip_once_logged_in(qtbot: Any, server: Any, session: Any) -> None:
    worker, gui = session
    with qtbot.waitSignal(worker.logged_in, timeout=3000):
        gui.login.emit("127.0.0.1", server.control_port, "ada", PASSWORD, True)
    with qtbot.waitSignal(worker.stats, timeout=2500) as stats:
        pass
    assert stats.args[0]["rtt_ms"] >= 0  # measured, whatever a busy machine makes of it


def test_chat_typed_while_reconnecting_goes_out_once_the_room_is_back(
        qtbot: Any, session: Any, tmp_path: Any) -> None:
    worker, gui = session
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/restart.db"
    states: list[str] = []
    worker.state_changed.connect(states.append)
    sent: list[str] = []
    worker.chat_sent.connect(sent.append)
    with running_meeting_server(db_url, port=port):
        with qtbot.waitSignal(worker.logged_in, timeout=5000):
            gui.login.emit("127.0.0.1", port, "ada", "secret-pw", True)
        with qtbot.waitSignal(worker.room_entered, timeout=3000) as entered:
            gui.create_room.emit("kept", None, True)  # a persistent room outlives the server
    qtbot.waitUntil(lambda: "reconnecting" in states, timeout=5000)
    gui.send_chat.emit("while-away", "typed while the server was down")
    qtbot.wait(300)
    assert sent == []  # not lost, not sent: waiting
    with running_meeting_server(db_url, port=port) as server:
        with qtbot.waitSignal(worker.chat_sent, timeout=15_000) as delivered:
            pass
        assert delivered.args == ["while-away"]
        reader = member(server.control_port, "reader")
        try:
            reader.leave_room()
            history = reader.join_room(entered.args[0]["room"]["room_id"])["chat"]
            assert [line["text"] for line in history] == ["typed while the server was down"]
        finally:
            reader.close()


def test_rooms_are_listed_a_page_at_a_time(qtbot: Any, tmp_path: Any, session: Any) -> None:
    worker, gui = session
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        owner = Participant(server, "owner")
        for n in range(55):  # more than a page (50 by default); a new owner every 20 rooms (the quota)
            if n % 20 == 0 and n:
                owner = Participant(server, f"owner{n}")
            owner.control.ok("create_room", persistent=True, title=f"Room {n}")
            owner.control.ok("leave_room")
        with qtbot.waitSignal(worker.logged_in, timeout=3000):
            gui.login.emit("127.0.0.1", server.control_port, "reader", PASSWORD, True)
        with qtbot.waitSignal(worker.rooms_listed, timeout=3000) as first:
            gui.list_rooms.emit()
        rooms, cursor = first.args
        assert len(rooms) == 50 and cursor
        with qtbot.waitSignal(worker.more_rooms_listed, timeout=3000) as more:
            gui.more_rooms.emit(cursor)
        rooms, cursor = more.args
        assert [room["title"] for room in rooms] == [f"Room {n}" for n in range(50, 55)] and cursor is None
