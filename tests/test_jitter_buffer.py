"""JitterBuffer: order restored, playout delay kept, the 200 ms rule enforced."""

from hypothesis import given
from hypothesis import strategies as st

from protocol.media import Codec, MediaHeader, StreamKind
from qt_client.media.jitter_buffer import JitterBuffer

FRAME_US = 20_000


def _frame(sequence: int, capture_us: int | None = None) -> MediaHeader:
    capture = FRAME_US * sequence if capture_us is None else capture_us
    return MediaHeader(StreamKind.AUDIO, 7, sequence, capture, Codec.OPUS, False)


def test_frames_come_out_in_sequence_order_after_the_playout_delay():
    buffer = JitterBuffer(playout_delay_us=40_000)
    now = FRAME_US * 5
    for sequence in (3, 1, 4, 2, 5):
        assert buffer.push(_frame(sequence), f"p{sequence}", now)
    assert buffer.stats.reordered >= 2
    # Due once capture + 40 ms has come: frames 1 to 3 at 100 ms.
    assert buffer.pop_ready(now) == [(_frame(1), "p1"), (_frame(2), "p2"), (_frame(3), "p3")]
    assert buffer.next_due_us() == FRAME_US * 4 + 40_000
    assert [h.sequence for h, _ in buffer.pop_ready(now + 2 * FRAME_US)] == [4, 5]
    assert len(buffer) == 0 and buffer.next_due_us() is None


def test_a_frame_over_200_ms_behind_its_capture_time_is_dropped_on_arrival():
    buffer = JitterBuffer()
    assert not buffer.push(_frame(1, capture_us=0), "late", now_us=200_001)
    assert buffer.push(_frame(2, capture_us=0), "just in time", now_us=200_000)
    assert buffer.stats.dropped_late == 1


def test_a_frame_that_waits_past_the_limit_is_dropped_when_its_turn_comes():
    buffer = JitterBuffer(playout_delay_us=50_000)
    buffer.push(_frame(1, capture_us=0), "stale", now_us=10_000)
    buffer.push(_frame(2, capture_us=150_000), "fresh", now_us=160_000)
    assert buffer.pop_ready(now_us=250_000) == [(_frame(2, capture_us=150_000), "fresh")]
    assert buffer.stats.dropped_late == 1


def test_duplicates_and_frames_behind_the_released_ones_are_dropped():
    buffer = JitterBuffer(playout_delay_us=0)
    buffer.push(_frame(5), "five", FRAME_US * 5)
    assert not buffer.push(_frame(5), "five again", FRAME_US * 5)
    assert buffer.pop_ready(FRAME_US * 5) == [(_frame(5), "five")]
    assert not buffer.push(_frame(4), "four, too late to play in order", FRAME_US * 5)
    assert buffer.stats.dropped_duplicate == 2


def test_a_full_buffer_drops_its_oldest_frame():
    buffer = JitterBuffer(playout_delay_us=100_000, capacity=3)
    for sequence in range(1, 5):
        buffer.push(_frame(sequence), sequence, now_us=FRAME_US * 4)
    assert buffer.stats.dropped_overflow == 1
    assert [p for _, p in buffer.pop_ready(FRAME_US * 10)] == [2, 3, 4]


def test_a_playout_delay_past_the_lateness_limit_is_refused():
    try:
        JitterBuffer(playout_delay_us=300_000)
    except ValueError:
        return
    raise AssertionError("accepted a delay that drops every frame")


@given(st.permutations(list(range(1, 30))), st.integers(min_value=0, max_value=60_000))
def test_any_arrival_order_within_the_delay_plays_out_in_order(order, delay):
    buffer = JitterBuffer(playout_delay_us=60_000)
    arrival = FRAME_US * 30
    for sequence in order:
        buffer.push(_frame(sequence), sequence, arrival)
    played = [p for _, p in buffer.pop_ready(arrival + delay)]
    played += [p for _, p in buffer.pop_ready(FRAME_US * 40 + 60_000)]
    assert played == sorted(played)
    assert len(played) + buffer.stats.dropped_late == 29
