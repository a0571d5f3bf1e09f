"""ReceivePipeline: ordering, late drops, per-source decoding, hidden streams skipped, on a fake clock."""

from __future__ import annotations

from typing import Any

from protocol.media import Codec, MediaHeader, MediaSource, StreamKind
from qt_client.media.audio_source import ToneSource
from qt_client.media.opus_codec import OpusEncoder
from qt_client.media.receive_pipeline import ReceivePipeline
from qt_client.media.test_pattern_source import TestPatternSource, read_frame_number
from qt_client.media.video_codec import make_video_encoder


class Clock:
    def __init__(self) -> None:
        self.now_us = 1_000_000_000

    def __call__(self) -> int:
        return self.now_us


def jpeg_frames(count: int) -> list[bytes]:
    source, encoder = TestPatternSource(320, 240, 15), make_video_encoder(Codec.JPEG, 320, 240, 15)
    return [encoder.encode(source.read()[0]).payload for _ in range(count)]


def video(sender: int, sequence: int, capture_us: int,
          source: MediaSource = MediaSource.CAMERA) -> MediaHeader:
    return MediaHeader(StreamKind.VIDEO, sender, sequence, capture_us, Codec.JPEG, True, source)


def test_camera_and_screen_decode_apart_in_order_and_late_frames_are_dropped() -> None:
    clock = Clock()
    shown: list[tuple[int, MediaSource, int | None]] = []

    def show(uid: int, source: MediaSource, image: Any, _header: MediaHeader) -> None:
        shown.append((uid, source, read_frame_number(image)))

    pipeline = ReceivePipeline(clock, playout_delay_ms=40, on_video=show)
    frames = jpeg_frames(4)
    start = clock.now_us
    # Out of order on the wire: sequence 1 before 0; the screen's own sequence starts at 0 too.
    pipeline.arrive(video(7, 1, start + 66_000), frames[1])
    pipeline.arrive(video(7, 0, start), frames[0])
    pipeline.arrive(video(7, 0, start, MediaSource.SCREEN), frames[2])
    clock.now_us = start + 200_000
    pipeline.play_due()
    assert [entry for entry in shown if entry[1] is MediaSource.CAMERA] == [(7, MediaSource.CAMERA, 0),
                                                                            (7, MediaSource.CAMERA, 1)]
    assert (7, MediaSource.SCREEN, 2) in shown
    # Captured 300 ms ago: too late to show.
    pipeline.arrive(video(7, 2, clock.now_us - 300_000), frames[3])
    clock.now_us += 100_000
    pipeline.play_due()
    assert len(shown) == 3
    assert pipeline.quality()[7]["dropped_late"] == 1


def test_hidden_video_is_not_decoded_but_audio_still_plays() -> None:
    clock = Clock()
    decoded: list[Any] = []
    heard: list[int] = []
    pipeline = ReceivePipeline(clock, playout_delay_ms=0, on_video=lambda *args: decoded.append(args),
                               on_audio=lambda uid, pcm, _h: heard.append(uid),
                               video_wanted=lambda uid, source: source is MediaSource.SCREEN)
    encoder, tone = OpusEncoder(48000), ToneSource(48000)
    for sequence, payload in enumerate(jpeg_frames(3)):
        pipeline.arrive(video(5, sequence, clock.now_us), payload)
        pipeline.arrive(MediaHeader(StreamKind.AUDIO, 5, sequence, clock.now_us, Codec.OPUS, False),
                        encoder.encode(tone.read()))
        clock.now_us += 20_000
        pipeline.play_due()
    assert decoded == [] and heard == [5, 5, 5]
    assert pipeline.quality()[5]["hidden_skipped"] == 3
    pipeline.keep_only(set())  # they left
    assert pipeline.quality() == {}
