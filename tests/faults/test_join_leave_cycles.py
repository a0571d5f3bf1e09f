"""200 join/leave cycles by 5 clients against a server process: its open files and memory come back
to where they were, and nobody who left is still listed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.conftest import free_base_port
from tests.faults.test_chat_survives_a_crash import start_server
from tests.raw_client import Participant

CYCLES_EACH = 40


class _At:
    def __init__(self, port: int) -> None:
        self.control_port = port


def figures(pid: int) -> tuple[int, float]:
    """(open fds, resident MiB) of a process."""
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    return len(list(Path(f"/proc/{pid}/fd").iterdir())), rss / 1024


def test_two_hundred_join_leave_cycles_leave_no_trace(tmp_path: Any) -> None:
    port = free_base_port()
    server = start_server(port, tmp_path / "m.db")
    try:
        host = Participant(_At(port), "host")
        room_id = host.control.ok("create_room", title="Revolving door")["room"]["room_id"]
        people = [Participant(_At(port), f"visitor{n}") for n in range(5)]
        for person in people:  # warm up: every code path once, so that what follows is steady state
            person.control.ok("join_room", room_id=room_id)
            person.control.ok("leave_room")
        fds_before, rss_before = figures(server.pid)
        errors: list[BaseException] = []

        def cycle(person: Participant) -> None:
            try:
                for _ in range(CYCLES_EACH):
                    person.control.ok("join_room", room_id=room_id)
                    person.control.ok("leave_room")
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        threads = [threading.Thread(target=cycle, args=(person,), daemon=True) for person in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        # Nobody who left is listed: the host is alone, as a fresh member list says.
        newcomer = Participant(_At(port), "newcomer")
        members = newcomer.control.ok("join_room", room_id=room_id)["members"]
        assert sorted(m["username"] for m in members) == ["host", "newcomer"]
        fds_after, rss_after = figures(server.pid)
        assert fds_after == fds_before + 3  # the newcomer's three connections, nothing else
        assert rss_after - rss_before < 10, (rss_before, rss_after)  # MiB: no growth per cycle
        for person in (host, newcomer, *people):
            person.close()
    finally:
        server.kill()
        server.wait(10)
