"""An exception in one connection's handling closes that connection, never its loop: the others
on the same loop keep their call, and the stats line counts it."""

from __future__ import annotations

from typing import Any

from protocol.media import StreamKind
from tests.conftest import call_in_loop, running_meeting_server, wait_until
from tests.raw_client import room_of

VIDEO = StreamKind.VIDEO


def test_a_failing_frame_handler_closes_only_its_connection(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", threads=1) as server:
        alice, bob, carol = room_of(server, "alice", "bob", "carol")
        codec = server.video_server.message_callback.__self__  # the video port's frame codec
        relay = codec.frame_callback

        def buggy(conn: Any, frame: bytes) -> None:
            if conn.context is not None and conn.context.user_id == alice.user_id:
                raise RuntimeError("a bug that only alice's frames reach")
            relay(conn, frame)

        codec.frame_callback = buggy  # called for every video frame on the (single) I/O loop
        alice.send_media(VIDEO, b"this frame meets the bug")
        assert alice.video.is_closed_by_server()
        header = bob.send_media(VIDEO, b"the call goes on")
        assert carol.read_media(VIDEO) == (header, b"the call goes on")
        assert alice.control.ok("heartbeat")  # her other connections, on the same loop, still served
        assert wait_until(lambda: call_in_loop(server.loop, server.stats)["callback_errors"] >= 1)
        for person in (alice, bob, carol):
            person.close()
