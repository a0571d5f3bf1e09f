"""KeyframeGate: inter-coded video waits for key frames, and asks for them sparingly."""

from protocol.media import Codec, MediaHeader, StreamKind
from qt_client.media.keyframe_gate import KeyframeGate


def _frame(sequence: int, keyframe: bool = False, codec: Codec = Codec.H264) -> MediaHeader:
    return MediaHeader(StreamKind.VIDEO, 1, sequence, 0, codec, keyframe)


def test_a_late_joiner_waits_for_a_key_frame_and_asks_for_one():
    gate = KeyframeGate()
    assert not gate.admit(_frame(40))
    assert gate.should_request(now=10.0)
    assert not gate.should_request(now=10.2)  # not again at once
    assert gate.should_request(now=10.6)
    assert gate.admit(_frame(41, keyframe=True))
    assert gate.admit(_frame(42))
    assert not gate.should_request(now=20.0)  # nothing to ask for now


def test_a_gap_or_a_decode_error_waits_for_the_next_key_frame():
    gate = KeyframeGate()
    assert gate.admit(_frame(1, keyframe=True))
    assert not gate.admit(_frame(3))  # frame 2 was lost
    assert not gate.admit(_frame(4))
    assert gate.admit(_frame(5, keyframe=True))
    gate.decode_failed()
    assert not gate.admit(_frame(6))
    assert gate.should_request(now=1.0)


def test_sequence_numbers_wrap_without_a_false_gap():
    gate = KeyframeGate()
    assert gate.admit(_frame(0xFFFFFFFF, keyframe=True))
    assert gate.admit(_frame(0))


def test_jpeg_frames_always_pass():
    gate = KeyframeGate()
    assert gate.admit(_frame(7, codec=Codec.JPEG))
