"""A member's network vanishes without a FIN (a proxy holds its control connection open and passes
nothing): if the member is gone for good, the server (a real process) removes it within its heartbeat
timeout and the room is told; if the member's client is still there, it notices, dials again and is
back in the room by itself."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from qt_client.net import MeetingClient
from tests.conftest import free_base_port, wait_until
from tests.faults.test_chat_survives_a_crash import start_server
from tests.tcp_proxy import TcpProxy

HEARTBEAT_TIMEOUT = 1.5
# The server looks for silent sessions every timeout / 4 (at least 0.2 s, at most 5 s).
SWEEP = HEARTBEAT_TIMEOUT / 4


def _names(client: MeetingClient) -> set[str]:
    return {member["username"] for member in client.members}


@contextlib.contextmanager
def _call_with_one_member_behind_a_proxy(tmp_path: Path) -> Iterator[tuple[TcpProxy, MeetingClient,
                                                                            MeetingClient, str]]:
    """A server process; ada's control connection through a proxy, bob's direct; both in one room."""
    port = free_base_port()
    process = start_server(port, tmp_path / "m.db", "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT))
    try:
        with (TcpProxy(port) as proxy,
              MeetingClient("127.0.0.1", proxy.port, request_timeout=3.0) as ada,
              MeetingClient("127.0.0.1", port, request_timeout=3.0) as bob):
            for client, name in ((ada, "ada"), (bob, "bob")):
                client.connect()
                client.register(name, "secret-pw")
                client.login(name, "secret-pw")
            room_id = ada.create_room(title="class")["room"]["room_id"]
            bob.join_room(room_id)
            assert wait_until(lambda: _names(bob) == {"ada", "bob"}, timeout=5)
            yield proxy, ada, bob, room_id
    finally:
        process.kill()
        process.wait(10)


def test_a_member_whose_network_vanished_for_good_is_removed_within_the_heartbeat_timeout(
        tmp_path: Path) -> None:
    with _call_with_one_member_behind_a_proxy(tmp_path) as (proxy, ada, bob, _room_id):
        assert proxy.freeze() == 1  # ada's control connection: open, silent, never closed
        frozen = time.monotonic()
        ada.close()  # and ada is gone: her side's close never reaches the server either
        assert wait_until(lambda: _names(bob) == {"bob"}, timeout=10), bob.members
        removed_after = time.monotonic() - frozen
        print(f"removed {removed_after:.2f} s after the link froze (timeout {HEARTBEAT_TIMEOUT} s)")
        assert removed_after < HEARTBEAT_TIMEOUT + SWEEP + 1.0  # the last heartbeat, and slack


def test_a_member_whose_network_froze_dials_again_and_is_back_in_the_room(tmp_path: Path) -> None:
    with _call_with_one_member_behind_a_proxy(tmp_path) as (proxy, ada, bob, room_id):
        states: list[str] = []
        ada.on_state = states.append
        assert proxy.freeze() == 1  # new connections through the proxy pass again
        assert wait_until(lambda: "rejoined" in states, timeout=10), states
        assert states[0] == "reconnecting"
        assert ada.room is not None and ada.room["room_id"] == room_id
        assert ada.chat("back again") > 0
        assert wait_until(lambda: _names(bob) == {"ada", "bob"}, timeout=5), bob.members
