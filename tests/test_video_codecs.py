"""JPEG, H.264 and VP8: what a receiver sees, how soon, and what happens when the stream is not whole.

PSNR bounds (whole BGR frame, every frame of 15; JPEG at quality 80, H.264 and
VP8 at 1 Mbit/s). The colour bars' sharp colour edges cap every 4:2:0 codec on
the test pattern: the chroma subsampling alone gives 31.5 dB at 640x480.
Measured minimums, 640x480 / 320x240:
    pattern  JPEG 32.5 / 29.5   H.264 31.4 / 28.7   VP8 31.3 / 28.7
    clip     JPEG 45.6 / 40.2   H.264 39.1 / 39.8   VP8 37.8 / 38.3
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from protocol.media import Codec
from qt_client.media.test_pattern_source import TestPatternSource, read_frame_number
from qt_client.media.video_codec import DecodeError, EncodedFrame, make_video_decoder, make_video_encoder

CLIP = Path(__file__).parent / "data" / "clip.avi"
VIDEO_CODECS = [Codec.JPEG, Codec.H264, Codec.VP8]
INTER_CODECS = [Codec.H264, Codec.VP8]
SIZES = [(640, 480), (320, 240)]
FRAMES = 15
MIN_PSNR_DB = {
    ("pattern", Codec.JPEG): 29.0,
    ("pattern", Codec.H264): 28.0,
    ("pattern", Codec.VP8): 28.0,
    ("clip", Codec.JPEG): 38.0,
    ("clip", Codec.H264): 36.0,
    ("clip", Codec.VP8): 36.0,
}


@pytest.fixture(scope="module")
def clip_frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < FRAMES:
        ok, frame = capture.read()
        assert ok, f"{CLIP} has fewer than {FRAMES} frames"
        frames.append(frame)
    capture.release()
    return frames


def pattern(width: int = 320, height: int = 240, count: int = FRAMES) -> list[np.ndarray]:
    source = TestPatternSource(width, height)
    return [source.read()[0] for _ in range(count)]


def encoder(codec: Codec, width: int = 320, height: int = 240, fps: float = 15, **options: float):
    return make_video_encoder(codec, width, height, fps, **{"bitrate": 1_000_000, **options})


def encode_all(codec: Codec, frames: list[np.ndarray], force_at: tuple[int, ...] = (), fps: float = 15,
               **options: float) -> list[EncodedFrame]:
    height, width = frames[0].shape[:2]
    enc = encoder(codec, width, height, fps, **options)
    encoded = [enc.encode(frame, force_keyframe=i in force_at) for i, frame in enumerate(frames)]
    enc.close()
    assert all(e is not None for e in encoded), "a live encoder held a frame back"
    return encoded


@pytest.mark.parametrize("codec", VIDEO_CODECS)
@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("source", ["pattern", "clip"])
def test_round_trip_keeps_size_and_quality_with_no_delay(codec: Codec, width: int, height: int, source: str,
                                                        clip_frames: list[np.ndarray]) -> None:
    if source == "pattern":
        frames = pattern(width, height)
    else:
        frames = [cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR) for frame in clip_frames]
    enc = encoder(codec, width, height, quality=80)
    dec = make_video_decoder(codec)
    worst = float("inf")
    for number, frame in enumerate(frames):
        encoded = enc.encode(frame)
        assert encoded is not None
        decoded = dec.decode(encoded.payload)
        assert decoded is not None, f"frame {number} did not come out right after its packet"
        assert decoded.shape == frame.shape
        assert decoded.dtype == np.uint8
        if source == "pattern":
            assert read_frame_number(decoded) == number  # this frame, not an earlier one
        worst = min(worst, cv2.PSNR(frame, decoded))
    assert worst >= MIN_PSNR_DB[source, codec]


@pytest.mark.parametrize("codec", VIDEO_CODECS)
def test_first_frame_is_a_keyframe(codec: Codec) -> None:
    assert encode_all(codec, pattern(count=2))[0].keyframe


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_only_keyframes_are_marked_so_and_inter_frames_are_smaller(codec: Codec) -> None:
    encoded = encode_all(codec, pattern(count=5))
    assert [e.keyframe for e in encoded] == [True, False, False, False, False]
    assert max(len(e.payload) for e in encoded[1:]) < len(encoded[0].payload)


@pytest.mark.parametrize("codec", VIDEO_CODECS)
def test_force_keyframe_gives_one(codec: Codec) -> None:
    encoded = encode_all(codec, pattern(count=6), force_at=(4,))
    assert encoded[4].keyframe


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_keyframes_come_periodically_counted_from_the_last_one(codec: Codec) -> None:
    # 10 fps and a 1 s interval: every 10 frames, and a forced one at 13 restarts the count.
    encoded = encode_all(codec, pattern(count=25), force_at=(13,), fps=10, keyframe_interval_s=1.0)
    assert [i for i, e in enumerate(encoded) if e.keyframe] == [0, 10, 13, 23]


def test_every_jpeg_frame_is_a_keyframe() -> None:
    assert all(e.keyframe for e in encode_all(Codec.JPEG, pattern(count=5)))


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_a_receiver_joining_mid_stream_waits_quietly_for_the_next_keyframe(codec: Codec) -> None:
    frames = pattern(count=8)
    encoded = encode_all(codec, frames, force_at=(5,))
    dec = make_video_decoder(codec)
    assert [dec.decode(e.payload) for e in encoded[2:5]] == [None, None, None]
    for number in (5, 6, 7):
        assert read_frame_number(dec.decode(encoded[number].payload)) == number


def test_lower_jpeg_quality_means_fewer_bytes() -> None:
    frame = pattern(count=1)[0]
    sizes = [len(encoder(Codec.JPEG, quality=q).encode(frame).payload) for q in (30, 60, 90)]
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_bitrate_sets_how_many_bytes_a_camera_picture_costs(codec: Codec,
                                                             clip_frames: list[np.ndarray]) -> None:
    low = sum(len(e.payload) for e in encode_all(codec, clip_frames, bitrate=200_000))
    high = sum(len(e.payload) for e in encode_all(codec, clip_frames, bitrate=1_000_000))
    seconds = len(clip_frames) / 15
    assert low * 8 / seconds < 400_000  # near its 200 kbit/s, with slack for the first key frame
    assert high > 2 * low


def test_corrupt_jpeg_raises_decode_error() -> None:
    dec = make_video_decoder(Codec.JPEG)
    good = encode_all(Codec.JPEG, pattern(count=1))[0].payload
    for bad in (b"", b"not a jpeg at all", good[:2] + b"\x00" * 64, b"\x89PNG\r\n\x1a\n" + good[2:]):
        with pytest.raises(DecodeError):
            dec.decode(bad)
    assert dec.decode(good) is not None  # the decoder is still usable


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_corrupt_data_after_a_keyframe_raises_decode_error(codec: Codec) -> None:
    encoded = encode_all(codec, pattern(count=3))
    dec = make_video_decoder(codec)
    assert dec.decode(encoded[0].payload) is not None
    for bad in (b"", b"\x00" * 50, b"garbage" * 10):
        with pytest.raises(DecodeError):
            dec.decode(bad)


@pytest.mark.parametrize("codec", VIDEO_CODECS)
def test_a_frame_of_the_wrong_size_is_refused(codec: Codec) -> None:
    enc = encoder(codec, 320, 240)
    with pytest.raises(ValueError, match="320x240"):
        enc.encode(np.zeros((480, 640, 3), np.uint8))


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_odd_sizes_are_refused_for_4_2_0_codecs(codec: Codec) -> None:
    with pytest.raises(ValueError, match="even"):
        encoder(codec, 321, 240)


def test_audio_codecs_are_not_video_codecs() -> None:
    with pytest.raises(ValueError, match="not a video codec"):
        make_video_encoder(Codec.OPUS, 320, 240, 15)
    with pytest.raises(ValueError, match="not a video codec"):
        make_video_decoder(Codec.OPUS)


@pytest.mark.parametrize("codec", INTER_CODECS)
def test_a_closed_codec_says_so(codec: Codec) -> None:
    enc = encoder(codec)
    enc.close()
    with pytest.raises(ValueError, match="closed"):
        enc.encode(pattern(count=1)[0])
    dec = make_video_decoder(codec)
    dec.close()
    with pytest.raises(ValueError, match="closed"):
        dec.decode(b"\x00\x00\x00\x01\x65")


@pytest.mark.parametrize("codec", VIDEO_CODECS)
def test_decoding_to_a_small_tile_in_rgb_matches_shrinking_the_full_picture(codec: Codec) -> None:
    """What the desktop client asks for a 2x2 grid: RGB, within 300x300, the picture's shape kept."""
    source = TestPatternSource(640, 480, 15)
    encoder, decoder, reference = make_video_encoder(codec, 640, 480, 15), make_video_decoder(codec), \
        make_video_decoder(codec)
    for index in range(4):  # the JPEG decoder learns the stream's size from the first frame
        payload = encoder.encode(source.read()[0], force_keyframe=index == 0).payload
        full = reference.decode(payload)
        small = decoder.decode(payload, fit=(300, 300), rgb=True)
    # 300x225 keeps 4:3; 4:2:0 codecs shrink to a height that is a multiple of 4 (224).
    assert small.shape in ((225, 300, 3), (224, 300, 3))
    expected = cv2.cvtColor(cv2.resize(full, (300, small.shape[0]), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2RGB)
    error = np.mean((small.astype(float) - expected.astype(float)) ** 2)
    assert error < 255 ** 2 / 10 ** 2.5  # PSNR over 25 dB: the same picture, colours in RGB order
    assert decoder.decode(payload, fit=(1280, 960)).shape == (480, 640, 3)  # never enlarged
