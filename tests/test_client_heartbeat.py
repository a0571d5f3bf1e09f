"""The client's Heartbeat: beats on time, and tells once when the server has gone quiet."""

from __future__ import annotations

import time

from qt_client.net.heartbeat import Heartbeat
from reactor.event_loop import EventLoop
from tests.conftest import wait_until


def test_a_server_that_answers_is_never_called_silent(loop_thread: EventLoop) -> None:
    beats: list[float] = []
    silences: list[float] = []
    heard = [time.monotonic()]

    def beat() -> None:
        beats.append(time.monotonic())
        heard[0] = time.monotonic()  # the reply comes at once

    heartbeat = Heartbeat(loop_thread, beat, last_heard=lambda: heard[0], on_silence=silences.append)
    heartbeat.start(0.1)
    time.sleep(1.0)
    heartbeat.stop()
    assert 7 <= len(beats) <= 11
    assert silences == []


def test_silence_is_reported_once_within_two_intervals_and_beating_stops(loop_thread: EventLoop) -> None:
    beats: list[float] = []
    silences: list[tuple[float, float]] = []
    last_reply = time.monotonic()
    heartbeat = Heartbeat(loop_thread, lambda: beats.append(time.monotonic()), last_heard=lambda: last_reply,
                          on_silence=lambda silent_for: silences.append((time.monotonic(), silent_for)))
    started = time.monotonic()
    heartbeat.start(0.2)  # nothing ever answers
    assert wait_until(lambda: silences, 2.0)
    noticed_at, silent_for = silences[0]
    assert 0.4 <= silent_for < 0.6 and noticed_at - started < 0.4 + 0.3
    beats_then = len(beats)
    time.sleep(0.5)
    assert len(silences) == 1 and len(beats) == beats_then  # reported once; the beat stopped with it


def test_without_a_watch_it_only_beats(loop_thread: EventLoop) -> None:
    beats: list[float] = []
    heartbeat = Heartbeat(loop_thread, lambda: beats.append(time.monotonic()))
    heartbeat.start(0.05)
    time.sleep(0.5)
    heartbeat.stop()
    time.sleep(0.05)  # a beat already due when stop was posted may still come
    count = len(beats)
    assert count >= 5
    time.sleep(0.2)
    assert len(beats) == count
