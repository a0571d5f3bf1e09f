"""TestPatternSource: a moving picture of the right size whose frame number survives codecs and scaling."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from protocol.media import Codec
from qt_client.media.test_pattern_source import TestPatternSource, read_frame_number
from qt_client.media.video_codec import make_video_decoder, make_video_encoder

CLIP = Path(__file__).parent / "data" / "clip.avi"


@pytest.mark.parametrize(("width", "height"), [(640, 480), (320, 240), (1280, 720)])
def test_frames_have_the_requested_size_in_bgr_uint8(width: int, height: int) -> None:
    source = TestPatternSource(width, height)
    frame, _ = source.read()
    assert frame.shape == (height, width, 3)
    assert frame.dtype == np.uint8
    assert (source.width, source.height) == (width, height)


def test_defaults_are_vga_at_15_fps() -> None:
    source = TestPatternSource()
    assert (source.width, source.height, source.fps) == (640, 480, 15)


def test_the_picture_moves_every_frame_and_frames_are_independent_arrays() -> None:
    source = TestPatternSource(320, 240)
    frames = [source.read()[0] for _ in range(30)]
    picture_height = 240 - 240 // 12  # above the code band, which changes anyway
    for before, after in itertools.pairwise(frames):
        changed = np.any(before[:picture_height] != after[:picture_height], axis=2)
        assert changed.sum() > 100  # the ball and the text move, not one stray pixel
    assert not np.shares_memory(frames[0], frames[1])


def test_capture_time_is_now_in_microseconds() -> None:
    source = TestPatternSource(160, 120)
    before = time.time_ns() // 1000
    stamps = [source.read()[1] for _ in range(5)]
    after = time.time_ns() // 1000
    assert before <= stamps[0] <= stamps[-1] <= after
    assert stamps == sorted(stamps)


def test_frame_numbers_count_up_from_zero() -> None:
    source = TestPatternSource(320, 240)
    assert [read_frame_number(source.read()[0]) for _ in range(5)] == [0, 1, 2, 3, 4]


def test_all_32_bits_survive_and_the_count_wraps() -> None:
    source = TestPatternSource(320, 240)
    source.frame_number = 0xFFFFFFFE
    assert [read_frame_number(source.read()[0]) for _ in range(3)] == [0xFFFFFFFE, 0xFFFFFFFF, 0]
    source.frame_number = 0xA5A5A5A5
    assert read_frame_number(source.read()[0]) == 0xA5A5A5A5


def test_frame_number_survives_low_quality_jpeg_and_scaling() -> None:
    source = TestPatternSource(640, 480)
    source.frame_number = 123_456_789
    frame, _ = source.read()
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 20])
    assert ok
    assert read_frame_number(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)) == 123_456_789
    assert read_frame_number(cv2.resize(frame, (160, 120), interpolation=cv2.INTER_AREA)) == 123_456_789


@pytest.mark.parametrize("codec", [Codec.H264, Codec.VP8])
def test_frame_number_survives_video_codecs_at_a_low_bitrate(codec: Codec) -> None:
    source = TestPatternSource(320, 240)
    source.frame_number = 1_000_000
    encoder = make_video_encoder(codec, 320, 240, 15, bitrate=150_000)
    decoder = make_video_decoder(codec)
    for expected in range(1_000_000, 1_000_030):
        encoded = encoder.encode(source.read()[0])
        assert encoded is not None
        assert read_frame_number(decoder.decode(encoded.payload)) == expected


def test_frames_without_the_code_band_read_as_none() -> None:
    capture = cv2.VideoCapture(str(CLIP))
    ok, natural = capture.read()
    capture.release()
    assert ok
    assert read_frame_number(natural) is None
    assert read_frame_number(np.zeros((240, 320, 3), np.uint8)) is None
    assert read_frame_number(np.full((240, 320, 3), 255, np.uint8)) is None


def test_too_small_a_size_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        TestPatternSource(32, 24)
