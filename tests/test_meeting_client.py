"""MeetingClient end to end against the real MeetingServer on loopback."""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from protocol.framing import MAX_FRAME_SIZE
from protocol.media import Codec, MediaHeader, MediaSource, StreamKind
from qt_client.net import ClientTimeout, MeetingClient, NotConnectedError, ServerError, decode_avatar
from qt_client.net.reconnect_policy import ReconnectPolicy
from server.storage import open_storage
from tests.conftest import call_in_loop, free_base_port, running_meeting_server, wait_until
from tests.tcp_proxy import TcpProxy

PASSWORD = "correct horse"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # every byte value: base64 must round-trip them all


class Recorder:
    """Collects what a client's callbacks saw, for assertions from the test thread."""

    def __init__(self, client: MeetingClient) -> None:
        self.states: list[str] = []
        self.state_threads: set[str] = set()
        self.pushes: queue.SimpleQueue = client.push_queue()
        client.on_state = self._on_state

    def _on_state(self, state: str) -> None:
        self.states.append(state)
        self.state_threads.add(threading.current_thread().name)

    def next_push(self, kind: str, timeout: float = 3.0, where: Any = None, **match: Any) -> dict[str, Any]:
        """The next push of this type, these field values and `where` holding; others are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self.pushes.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                pytest.fail(f"no {kind} push {match or ''} within {timeout}s")
            if (message.get("type") == kind and all(message.get(k) == v for k, v in match.items())
                    and (where is None or where(message))):
                return message


@pytest.fixture
def make_client(sqlite_meeting_server: Any) -> Iterator[Any]:
    """Connected clients for the running server (each closed after the test)."""
    clients: list[MeetingClient] = []

    def make(username: str | None = None, **options: Any) -> MeetingClient:
        options.setdefault("request_timeout", 3.0)
        client = MeetingClient("127.0.0.1", sqlite_meeting_server.control_port, **options)
        clients.append(client)
        client.connect()
        if username is not None:
            client.register(username, PASSWORD)
            client.login(username, PASSWORD)
        return client

    yield make
    for client in clients:
        client.close()


def test_register_login_profile_and_avatar(make_client: Any) -> None:
    ada = make_client()
    user_id = ada.register("ada", PASSWORD, display_name="Ada L.")
    with pytest.raises(ServerError) as taken:
        ada.register("ada", PASSWORD)
    assert taken.value.code == "NAME_TAKEN" and taken.value.request_type == "register"
    with pytest.raises(ServerError) as wrong:
        ada.login("ada", "not the password")
    assert wrong.value.code == "WRONG_PASSWORD" and wrong.value.message

    result = ada.login("ada", PASSWORD)
    assert ada.user_id == user_id == result["user"]["user_id"]
    assert ada.username == "ada"
    assert ada.get_profile()["display_name"] == "Ada L."

    profile = ada.update_profile(signature="analytical engines", avatar=PNG)
    assert profile["signature"] == "analytical engines" and profile["display_name"] == "Ada L."
    with pytest.raises(ServerError) as too_large:
        ada.update_profile(avatar=PNG + bytes(256 * 1024))
    assert too_large.value.code == "AVATAR_TOO_LARGE"
    with pytest.raises(ServerError) as not_an_image:
        ada.update_profile(avatar=b"GIF89a" + bytes(64))
    assert not_an_image.value.code == "BAD_AVATAR" and "PNG or JPEG" in not_an_image.value.message
    assert ada.get_avatar(user_id) == PNG

    bob = make_client("bob")
    with pytest.raises(ServerError) as stranger:
        bob.get_profile("ada")  # profiles are for the people one shares a room with
    assert stranger.value.code == "NOT_IN_ROOM"
    bob.join_room(ada.create_room()["room"]["room_id"])
    seen_by_bob = bob.get_profile("ada")
    assert decode_avatar(seen_by_bob) == PNG
    assert seen_by_bob["signature"] == "analytical engines"
    assert decode_avatar(ada.update_profile(avatar=b"")) == b""


def test_two_clients_meet_chat_and_see_members_change(make_client: Any) -> None:
    ada, bob = make_client("ada"), make_client("bob")
    ada_events, bob_events = Recorder(ada), Recorder(bob)
    created = ada.create_room(title="standup", password="s3cret")
    room_id = created["room"]["room_id"]
    assert ada.room == created["room"] and created["room"]["has_password"]
    assert [m["username"] for m in ada.members] == ["ada"]

    with pytest.raises(ServerError) as refused:
        bob.join_room(room_id, "guess")
    assert refused.value.code == "WRONG_ROOM_PASSWORD" and bob.room is None
    joined = bob.join_room(room_id, "s3cret")
    assert joined["room"]["title"] == "standup"
    assert {m["username"] for m in joined["members"]} == {"ada", "bob"}
    # Ada sees bob arrive, in the push and in her client's member list.
    ada_events.next_push("members", room_id=room_id,
                         where=lambda push: {m["username"] for m in push["members"]} == {"ada", "bob"})
    assert wait_until(lambda: len(ada.members) == 2, 2.0)

    sent_at = bob.chat("hello, ada")
    assert abs(sent_at - time.time()) < 2.0  # the server's clock, which is ours on loopback
    for events in (ada_events, bob_events):
        line = events.next_push("chat", text="hello, ada")
        assert line["username"] == "bob" and line["user_id"] == bob.user_id and line["sent_at"] == sent_at

    bob.leave_room()
    assert bob.room is None and bob.members == []
    ada_events.next_push("members", room_id=room_id,
                         where=lambda push: [m["username"] for m in push["members"]] == ["ada"])
    assert wait_until(lambda: [m["username"] for m in ada.members] == ["ada"], 2.0)
    with pytest.raises(ServerError) as outside:
        bob.chat("anyone?")
    assert outside.value.code == "NOT_IN_ROOM"


def test_media_is_relayed_to_the_other_member_with_its_header_intact(make_client: Any) -> None:
    ada, bob = make_client("ada"), make_client("bob")
    room_id = ada.create_room()["room"]["room_id"]
    bob.join_room(room_id)
    to_bob, to_ada = bob.media_queue(), ada.media_queue()
    # The server hands the new routes to its I/O loops as queued calls; a frame read in the
    # same loop round as that hand-over could still miss bob. Give it a moment.
    time.sleep(0.1)

    with pytest.raises(ValueError):  # the server would close the connection over it
        ada.send_media(StreamKind.VIDEO, Codec.JPEG, bytes(MAX_FRAME_SIZE))
    video = bytes(range(256)) * 1200  # ~300 KB, a big key frame
    capture_us = time.time_ns() // 1000 - 1234
    first = ada.send_media(StreamKind.VIDEO, Codec.JPEG, video, keyframe=True, capture_us=capture_us)
    second = ada.send_media(StreamKind.VIDEO, Codec.JPEG, b"delta")
    audio = ada.send_media(StreamKind.AUDIO, Codec.PCM16, b"\x01\x00" * 320)
    screen = ada.send_media(StreamKind.VIDEO, Codec.JPEG, b"screen", keyframe=True, source=MediaSource.SCREEN)
    assert (first, second, audio, screen) == (0, 1, 0, 0)  # a sequence per stream and source

    received: dict[tuple[StreamKind, MediaSource, int], tuple[MediaHeader, bytes]] = {}
    while len(received) < 4:
        header, payload = to_bob.get(timeout=3.0)
        received[header.stream, header.source, header.sequence] = (header, bytes(payload))
    header, payload = received[StreamKind.VIDEO, MediaSource.SCREEN, 0]
    assert header.keyframe and payload == b"screen"
    received = {(stream, sequence): value for (stream, source, sequence), value in received.items()
                if source is MediaSource.CAMERA}
    header, payload = received[StreamKind.VIDEO, 0]
    assert header == MediaHeader(StreamKind.VIDEO, ada.user_id, 0, capture_us, Codec.JPEG, True)
    assert payload == video
    header, payload = received[StreamKind.VIDEO, 1]
    assert not header.keyframe and payload == b"delta"
    assert abs(header.capture_us - time.time_ns() // 1000) < 2_000_000  # stamped with the send time
    header, payload = received[StreamKind.AUDIO, 0]
    assert header.codec == Codec.PCM16 and header.sender_id == ada.user_id and payload == b"\x01\x00" * 320
    # Nobody hears themselves.
    with pytest.raises(queue.Empty):
        to_ada.get(timeout=0.2)


def test_time_sync_finds_no_offset_on_one_machine(make_client: Any) -> None:
    ada = make_client("ada")  # login already measured once
    assert ada.rtt is not None and 0 < ada.rtt < 0.5
    for _ in range(3):
        offset = ada.time_sync()
        assert abs(offset) < 0.05, offset
    assert abs(ada.server_time_to_local(1_000_000.0) - 1_000_000.0) < 0.05
    assert ada.local_to_server(ada.server_time_to_local(5.0)) == pytest.approx(5.0)


def test_request_keyframe_reaches_the_member_asked(make_client: Any) -> None:
    ada, bob = make_client("ada"), make_client("bob")
    ada_events = Recorder(ada)
    bob.join_room(ada.create_room()["room"]["room_id"])
    bob.request_keyframe(ada.user_id)
    asked = ada_events.next_push("keyframe_request")
    assert (asked["from_user_id"], asked["source"]) == (bob.user_id, "camera")
    bob.request_keyframe(ada.user_id, MediaSource.SCREEN)
    assert ada_events.next_push("keyframe_request")["source"] == "screen"


def test_members_see_media_state_and_avatars(make_client: Any) -> None:
    ada, bob = make_client("ada"), make_client("bob")
    bob_events = Recorder(bob)
    assert ada.set_media_state(camera=False) == {"microphone": True, "camera": False, "screen": False}
    room_id = ada.create_room()["room"]["room_id"]
    bob.join_room(room_id)
    ada_as_seen = {m["user_id"]: m for m in bob.members}[ada.user_id]
    assert (ada_as_seen["microphone"], ada_as_seen["camera"], ada_as_seen["screen"]) == (True, False, False)
    assert ada_as_seen["avatar"] == ""

    ada.set_media_state(microphone=False, screen=True)
    ada.update_profile(avatar=PNG)

    def ada_muted_sharing_with_avatar(push: dict[str, Any]) -> bool:
        entry = {m["user_id"]: m for m in push["members"]}[ada.user_id]
        return (not entry["microphone"] and entry["screen"] and entry["avatar"] != "")

    bob_events.next_push("members", room_id=room_id, where=ada_muted_sharing_with_avatar)
    assert bob.get_avatar(ada.user_id) == PNG
    assert ada.media_state == {"microphone": False, "camera": False, "screen": True}
    carol = make_client("carol")
    with pytest.raises(ServerError) as outsider:
        carol.get_avatar(ada.user_id)
    assert outsider.value.code == "NOT_IN_ROOM"


def test_second_login_ends_the_first_session_for_good(make_client: Any) -> None:
    first = make_client("ada")
    events = Recorder(first)
    first.create_room()
    second = make_client()
    second.login("ada", PASSWORD)

    ended = events.next_push("session_ended")
    assert ended["reason"] == "logged_in_elsewhere" and ended["message"]
    assert wait_until(lambda: events.states[-1:] == ["disconnected"], 3.0), events.states
    assert first.ended_reason == "logged_in_elsewhere"
    time.sleep(0.8)  # longer than the first reconnect back-off: it must not come back
    assert "reconnecting" not in events.states
    assert not first.connected and first.user_id is None and first.room is None
    with pytest.raises(NotConnectedError):
        first.chat("still here?")
    with pytest.raises(NotConnectedError):
        first.send_media(StreamKind.AUDIO, Codec.PCM16, b"\0\0")
    assert second.get_profile()["username"] == "ada"

    # The first device can take the account back, explicitly.
    ada_id, second_events = second.user_id, Recorder(second)
    first.connect()
    first.login("ada", PASSWORD)
    assert first.user_id == ada_id and first.ended_reason is None
    assert second_events.next_push("session_ended")["reason"] == "logged_in_elsewhere"


def test_logout_then_log_in_as_someone_else(make_client: Any) -> None:
    make_client("bob").close()
    ada = make_client("ada")
    events = Recorder(ada)
    ada.create_room()
    ada.logout()
    assert ada.user_id is None and ada.room is None
    with pytest.raises(ServerError) as logged_out:
        ada.list_rooms()
    assert logged_out.value.code == "NOT_LOGGED_IN"
    with pytest.raises(NotConnectedError):
        ada.send_media(StreamKind.VIDEO, Codec.JPEG, b"frame")
    ada.login("bob", PASSWORD)  # same connection, another account
    assert ada.username == "bob" and ada.connected
    ada.create_room()
    time.sleep(0.6)  # a reconnect would have begun by now
    assert "reconnecting" not in events.states and "disconnected" not in events.states


def test_heartbeats_keep_an_idle_member_in_the_room(tmp_path: Any) -> None:
    # The server drops whoever is silent for 0.9 s; the client beats every 0.3 s on its own.
    with running_meeting_server(f"sqlite:///{tmp_path}/meeting.db", heartbeat_timeout=0.9) as server:
        with MeetingClient("127.0.0.1", server.control_port) as ada:
            ada.connect()
            ada.register("ada", PASSWORD)
            ada.login("ada", PASSWORD)
            events = Recorder(ada)
            room_id = ada.create_room()["room"]["room_id"]
            time.sleep(2.0)
            assert ada.connected and ada.room is not None and ada.room["room_id"] == room_id
            assert not [p for p in _drain(events.pushes) if p["type"] == "session_ended"]
            assert ada.chat("still here") > 0
            assert events.states == []  # no drop, no reconnect


def _drain(pushes: queue.SimpleQueue) -> list[dict[str, Any]]:
    items = []
    while not pushes.empty():
        items.append(pushes.get())
    return items


def test_a_failing_callback_does_not_stop_the_client(make_client: Any) -> None:
    ada = make_client("ada")

    def broken(message: dict[str, Any]) -> None:
        raise RuntimeError("application bug")

    ada.on_push = broken
    ada.create_room()
    ada.chat("one")  # its chat push hits the broken callback
    assert ada.chat("two") > 0
    assert ada.connected


def test_calls_fail_clearly_without_a_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here
    client = MeetingClient("127.0.0.1", port, request_timeout=0.5)
    try:
        with pytest.raises(NotConnectedError):
            client.list_rooms()
        started = time.monotonic()
        with pytest.raises(ClientTimeout):
            client.connect()
        assert time.monotonic() - started < 2.0
    finally:
        client.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("meeting-client")]


# -- restarting the server ------------------------------------------------------


def test_reconnects_and_rejoins_after_a_server_restart(tmp_path: Any) -> None:
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/meeting.db"
    with contextlib.ExitStack() as clients:
        ada = clients.enter_context(MeetingClient("127.0.0.1", port, request_timeout=3.0))
        bob = clients.enter_context(MeetingClient("127.0.0.1", port, request_timeout=3.0))
        carol = clients.enter_context(MeetingClient("127.0.0.1", port, request_timeout=3.0, reconnect=False))
        ada_events, bob_events, carol_events = Recorder(ada), Recorder(bob), Recorder(carol)
        with running_meeting_server(db_url, port=port):
            for client, name in ((ada, "ada"), (bob, "bob"), (carol, "carol")):
                client.connect()
                client.register(name, PASSWORD)
                client.login(name, PASSWORD)
            kept = ada.create_room(title="weekly", password="pw1234", persistent=True)["room"]
            ada.set_media_state(microphone=False)  # muted: still shown muted after the restart
            ad_hoc = bob.create_room(title="ad hoc")["room"]["room_id"]
            old_ada_id = ada.user_id
        assert wait_until(lambda: "reconnecting" in ada_events.states, 3.0), ada_events.states
        assert not ada.connected
        assert wait_until(lambda: carol_events.states[-1:] == ["disconnected"], 3.0), carol_events.states
        # A temporary room waits over a restart for its members: this one is deleted meanwhile.
        storage = open_storage(db_url)
        storage.delete_room(ad_hoc)
        storage.close()

        with running_meeting_server(db_url, port=port):
            assert wait_until(lambda: ada_events.states[-1:] == ["rejoined"], 4.0), ada_events.states
            assert ada_events.states[-3:] == ["reconnecting", "reconnected", "rejoined"]
            assert ada.connected and ada.user_id == old_ada_id
            assert ada.room is not None and ada.room["room_id"] == kept["room_id"]
            assert [(m["username"], m["microphone"]) for m in ada.members] == [("ada", False)]
            ada.chat("back again")
            assert ada_events.next_push("chat")["text"] == "back again"

            failed = bob_events.next_push("rejoin_failed", timeout=4.0)
            assert failed["error"]["code"] == "UNKNOWN_ROOM"
            assert bob.room is None and bob.members == []
            assert "reconnected" in bob_events.states and "rejoined" not in bob_events.states
            assert bob.list_rooms()[0]["room_id"] == kept["room_id"]  # bob is logged in again

            assert not carol.connected and "reconnecting" not in carol_events.states  # she asked not to
            # Callbacks come on the client's own network thread, as documented.
            assert ada_events.state_threads == {f"meeting-client:{port}"}


class Timeline:
    """States and reconnect attempts with the time each was seen, for timing assertions."""

    def __init__(self, client: MeetingClient) -> None:
        self.states: list[tuple[float, str]] = []
        self.attempts: list[tuple[float, int]] = []
        client.on_state = lambda state: self.states.append((time.monotonic(), state))
        client.on_reconnect_attempt = lambda attempt: self.attempts.append((time.monotonic(), attempt))

    def when(self, state: str, after: float = 0.0) -> float | None:
        return next((at for at, seen in self.states if seen == state and at >= after), None)


def _stop_as_server_main_does(server: Any) -> None:
    """Stop accepting and push server_shutdown, then (on leaving the context) close the rest."""
    call_in_loop(server.loop, server.begin_shutdown)
    time.sleep(0.3)


def _log_in(client: MeetingClient, name: str) -> None:
    client.connect()
    client.register(name, PASSWORD)
    client.login(name, PASSWORD)


def test_back_in_the_room_within_seconds_of_a_restarted_server(tmp_path: Any) -> None:
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/meeting.db"
    with MeetingClient("127.0.0.1", port, request_timeout=3.0) as ada:
        timeline = Timeline(ada)
        with running_meeting_server(db_url, port=port) as server:
            _log_in(ada, "ada")
            room_id = ada.create_room(title="weekly", persistent=True)["room"]["room_id"]
            _stop_as_server_main_does(server)
        assert wait_until(lambda: timeline.when("reconnecting") is not None, 3.0), timeline.states
        time.sleep(5.0)  # down for five seconds
        assert ada.reconnect_attempt >= 3, timeline.attempts
        with running_meeting_server(db_url, port=port):
            listening = time.monotonic()
            assert wait_until(lambda: timeline.when("rejoined") is not None, 8.0), timeline.states
            back_after = timeline.when("rejoined") - listening
            print(f"back in the room {back_after:.2f} s after the server listened; "
                  f"{len(timeline.attempts)} attempts")
            assert back_after < 4.0, timeline.attempts
            assert ada.room is not None and ada.room["room_id"] == room_id
            assert ada.reconnect_attempt == 0  # reset by the good connection
            ada.chat("back")
            attempts = list(timeline.attempts)  # this outage's (stopping this server starts another)
    # Attempts are counted 1, 2, 3... and in an outage's first minute no wait exceeds 2 s.
    assert [attempt for _, attempt in attempts] == list(range(1, len(attempts) + 1))
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(attempts)]
    assert max(gaps) < 2.5, gaps


def test_the_server_saying_it_restarts_makes_the_first_attempts_fast(tmp_path: Any) -> None:
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/meeting.db"
    policy = ReconnectPolicy(random_fraction=lambda: 1.0)  # every wait at its window's top
    with MeetingClient("127.0.0.1", port, request_timeout=3.0, reconnect_policy=policy) as ada:
        timeline = Timeline(ada)
        with running_meeting_server(db_url, port=port) as server:
            _log_in(ada, "ada")
            for _ in range(8):  # as after a long earlier outage: the next wait would be 2 s
                policy.next_delay()
            _stop_as_server_main_does(server)
        assert wait_until(lambda: len(timeline.attempts) >= 2, 3.0), timeline.attempts
    assert timeline.attempts[0][1] == 1
    started = timeline.when("reconnecting")
    assert timeline.attempts[1][0] - started < 1.0  # waits of 0.25 and 0.5 s, not 2 s each


def test_a_server_that_stops_answering_is_noticed_within_two_heartbeats(tmp_path: Any) -> None:
    # Heartbeats every 0.5 s; the server drops a silent session after 1.5 s.
    with (running_meeting_server(f"sqlite:///{tmp_path}/meeting.db", heartbeat_timeout=1.5) as server,
          TcpProxy(server.control_port) as proxy,
          MeetingClient("127.0.0.1", proxy.port, request_timeout=3.0) as ada):
        _log_in(ada, "ada")
        room_id = ada.create_room(persistent=True)["room"]["room_id"]
        timeline = Timeline(ada)
        time.sleep(1.5)
        assert timeline.states == []  # a live server is never taken for a dead one
        assert proxy.freeze() == 1  # the control connection: no reply, no close
        frozen = time.monotonic()
        assert wait_until(lambda: timeline.when("reconnecting") is not None, 3.0), timeline.states
        noticed_after = timeline.when("reconnecting") - frozen
        print(f"a frozen server noticed after {noticed_after:.2f} s")
        assert noticed_after < 1.0 + 0.6  # two intervals, and a busy machine's slack
        assert wait_until(lambda: timeline.when("rejoined") is not None, 6.0), timeline.states
        assert ada.room is not None and ada.room["room_id"] == room_id
        assert ada.chat("still here") > 0


def test_a_first_connect_that_needed_several_dials_leaves_no_attempts_counted(tmp_path: Any) -> None:
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/meeting.db"
    with MeetingClient("127.0.0.1", port, request_timeout=5.0) as ada, contextlib.ExitStack() as later:
        timeline = Timeline(ada)
        starter = threading.Timer(1.0, lambda: later.enter_context(running_meeting_server(db_url, port=port)))
        starter.start()
        ada.connect()  # dials until the server is up a second from now
        starter.join()
        assert timeline.attempts == []  # not reconnecting: connect() is still waiting
        assert wait_until(lambda: ada.reconnect_attempt == 0, 1.0), ada.reconnect_attempt


def test_media_sent_while_the_session_resumes_waits_for_the_media_hello(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    # A sender that never pauses (a bot's timer on the network thread) used to get frames onto a new
    # media connection before the server had accepted its media_hello: the server closed it for that,
    # and the session took another full reconnect (seen as 2-20 s tails with 20 bots).
    caplog.set_level(logging.WARNING)
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/meeting.db"
    with MeetingClient("127.0.0.1", port, request_timeout=3.0) as ada:
        timeline = Timeline(ada)
        skipped = []

        def send() -> None:
            try:
                ada.send_media(StreamKind.AUDIO, Codec.OPUS, b"\x01" * 40)
            except NotConnectedError:
                skipped.append(1)

        with running_meeting_server(db_url, port=port) as server:
            _log_in(ada, "ada")
            ada.create_room(title="weekly", persistent=True)
            ada.run_every(0.002, send)
            _stop_as_server_main_does(server)
        assert wait_until(lambda: timeline.when("reconnecting") is not None, 3.0), timeline.states
        with running_meeting_server(db_url, port=port):
            assert wait_until(lambda: timeline.when("rejoined") is not None, 8.0), timeline.states
            time.sleep(0.3)
            states = [state for _, state in timeline.states]
            # One resume: logged in and back in the room once, not again after a refused media connection.
            assert ada.state == "rejoined" and states.count("reconnected") == 1, states
    assert skipped  # it did try while away
    refused = [r.getMessage() for r in caplog.records if "before a successful media_hello" in r.getMessage()]
    assert refused == []
