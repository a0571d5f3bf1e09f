"""ActiveSpeakerDetector: the big tile follows real turns of speech, not coughs or crosstalk."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from qt_client.media.active_speaker import ActiveSpeakerDetector

TICK = 0.05  # 20 readings a second per person, as the receive pipeline measures them
LOUD, QUIET = -20.0, -70.0


def run(detector: ActiveSpeakerDetector, talking: dict[int, Callable[[float], bool]], start: float,
        end: float) -> list[tuple[float, int | None]]:
    """Feeds everyone's level from start to end; returns (time, speaker) at each change of speaker."""
    changes: list[tuple[float, int | None]] = []
    previous = detector.dominant
    steps = round((end - start) / TICK)
    for step in range(steps):
        now = start + step * TICK
        for user_id, speaks in talking.items():
            detector.feed(user_id, LOUD if speaks(now) else QUIET, now)
        current = detector.update(now)
        if current != previous:
            changes.append((now, current))
            previous = current
    return changes


def between(a: float, b: float) -> Callable[[float], bool]:
    return lambda t: a <= t < b


def never(_t: float) -> bool:
    return False


def test_nobody_speaking_means_no_speaker():
    detector = ActiveSpeakerDetector()
    assert run(detector, {1: never, 2: never}, 0.0, 3.0) == []
    assert detector.update(3.0) is None


def test_first_speaker_is_picked_within_half_a_second():
    detector = ActiveSpeakerDetector()
    changes = run(detector, {1: between(1.0, 5.0), 2: never}, 0.0, 5.0)
    assert len(changes) == 1 and changes[0][1] == 1
    assert 1.0 < changes[0][0] <= 1.6


def test_a_cough_does_not_switch():
    detector = ActiveSpeakerDetector()
    run(detector, {1: between(0.0, 3.0), 2: never}, 0.0, 3.0)
    assert detector.dominant == 1
    # Ada goes on talking; Bob coughs (250 ms), then Ada pauses and Bob coughs again into the silence.
    changes = run(detector, {1: lambda t: t < 6.0, 2: lambda t: 4.0 <= t < 4.25 or 7.0 <= t < 7.25},
                  3.0, 9.0)
    assert changes == []
    assert detector.dominant == 1


def test_a_cough_does_not_make_the_first_speaker():
    detector = ActiveSpeakerDetector()
    assert run(detector, {1: between(1.0, 1.25), 2: never}, 0.0, 3.0) == []


def test_a_sustained_new_speaker_takes_over_within_two_seconds_even_over_crosstalk():
    detector = ActiveSpeakerDetector()
    run(detector, {1: between(0.0, 3.0), 2: never}, 0.0, 3.0)
    # Ada trails off into murmurs at 30% while Bob talks continuously from 5 s.
    ada_murmurs = lambda t: t < 5.0 or int(t * 10) % 10 < 3  # noqa: E731
    changes = run(detector, {1: ada_murmurs, 2: lambda t: t >= 5.0}, 3.0, 9.0)
    assert len(changes) == 1 and changes[0][1] == 2
    assert 5.0 < changes[0][0] <= 7.0


def test_speaker_who_stops_hands_over_at_once_to_the_next():
    detector = ActiveSpeakerDetector()
    changes = run(detector, {1: between(0.0, 2.0), 2: between(2.0, 6.0)}, 0.0, 6.0)
    assert [who for _, who in changes] == [1, 2]
    assert 2.0 < changes[1][0] <= 3.0


@pytest.mark.parametrize("turn", [0.3, 0.7])
def test_two_people_alternating_quickly_do_not_flicker(turn):
    detector = ActiveSpeakerDetector()
    # Short turns back and forth for ten seconds: at most a switch every 1.5 s, and few in all.
    ada = lambda t: int(t / turn) % 2 == 0  # noqa: E731
    bob = lambda t: int(t / turn) % 2 == 1  # noqa: E731
    changes = run(detector, {1: ada, 2: bob}, 0.0, 10.0)
    assert 1 <= len(changes) <= 3
    times = [t for t, _ in changes]
    assert all(later - earlier >= 1.5 for earlier, later in itertools.pairwise(times))


def test_the_speaker_stays_while_everyone_is_silent_and_leaving_clears_it():
    detector = ActiveSpeakerDetector()
    run(detector, {1: between(0.0, 2.0), 2: never}, 0.0, 10.0)
    assert detector.update(10.0) == 1  # the last voice heard keeps the big tile
    detector.remove(1)
    assert detector.update(10.0) is None
    run(detector, {2: between(10.0, 12.0)}, 10.0, 12.0)
    assert detector.dominant == 2


def test_nan_and_floor_levels_are_silence():
    detector = ActiveSpeakerDetector()
    for step in range(40):
        detector.feed(1, float("nan"), step * TICK)
        detector.feed(2, -100.0, step * TICK)
    assert detector.update(2.0) is None
