"""VideoCaptureWorker: what it sends, another member receives and decodes."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import QObject, pyqtSignal

from protocol.media import Codec, StreamKind
from qt_client.media.jpeg_codec import JpegDecoder
from qt_client.media.test_pattern_source import read_frame_number
from qt_client.media.video_codec import make_video_decoder
from qt_client.workers.video_capture_worker import VideoCaptureWorker
from tests.worker_support import drain, media_since, running, sender_and_receiver


class Switches(QObject):
    """The toolbar's buttons, queued to the worker's thread."""

    enabled = pyqtSignal(bool)
    screen_share = pyqtSignal(bool)
    keyframe = pyqtSignal()

    def __init__(self, worker: VideoCaptureWorker) -> None:
        super().__init__()
        self.enabled.connect(worker.set_enabled)
        self.screen_share.connect(worker.set_screen_share)
        self.keyframe.connect(worker.request_keyframe)


@pytest.fixture
def pair(tmp_path: Any) -> Iterator[tuple[Any, queue.Queue]]:
    with sender_and_receiver(f"sqlite:///{tmp_path}/m.db") as both:
        yield both


def test_sends_frames_that_decode_and_none_while_the_camera_is_off(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.JPEG, width=320, height=240, fps=20, camera=None)
    switches = Switches(worker)
    previews = []
    worker.preview.connect(previews.append)
    with running(worker, "video"):
        frames = media_since(received, StreamKind.VIDEO, 1.0)
        assert len(frames) >= 12
        decoder = JpegDecoder()
        pictures = [decoder.decode(payload) for _, payload in frames]
        assert all(p.shape == (240, 320, 3) for p in pictures)
        numbers = [read_frame_number(p) for p in pictures]
        assert None not in numbers and numbers == sorted(numbers)
        assert all(header.sender_id == ada.user_id for header, _ in frames)

        switches.enabled.emit(False)
        time.sleep(0.2)
        drain(received)
        assert media_since(received, StreamKind.VIDEO, 0.6) == []

        switches.enabled.emit(True)
        assert len(media_since(received, StreamKind.VIDEO, 0.5)) >= 3
    qtbot.waitUntil(lambda: len(previews) >= 5, timeout=1000)
    # A self view at most ten times a second, downscaled from a copy: 320 wide is kept.
    assert len(previews) <= 10 * 1.8 + 2
    assert (previews[0].width(), previews[0].height()) == (320, 240)


def test_without_a_camera_it_says_so_and_sends_the_test_pattern(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, width=320, height=240, fps=15, camera=7)
    with qtbot.waitSignal(worker.source_fallback, timeout=2000) as fallback, running(worker, "video"):
        frames = media_since(received, StreamKind.VIDEO, 0.8)
    assert fallback.args == ["No camera found: sending a test pattern"]
    assert len(frames) >= 6
    assert read_frame_number(JpegDecoder().decode(frames[-1][1])) is not None


def test_a_key_frame_request_is_honoured_at_once(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.H264, width=320, height=240, fps=20, camera=None)
    switches = Switches(worker)
    with running(worker, "video"):
        first = media_since(received, StreamKind.VIDEO, 0.6)
        assert first[0][0].keyframe and not any(header.keyframe for header, _ in first[1:])
        switches.keyframe.emit()
        after = media_since(received, StreamKind.VIDEO, 0.4)
    # The periodic key frame is 2 s away: this one is the answer to the request.
    assert any(header.keyframe for header, _ in after[:3])


def test_screen_sharing_sends_the_submitted_screen_fitted_to_the_frame(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.JPEG, width=320, height=240, fps=20, camera=None)
    switches = Switches(worker)
    screen = np.zeros((300, 800, 4), np.uint8)  # BGRA, wider than 4:3
    screen[:, :, 2] = 200  # red
    with running(worker, "video"):
        switches.screen_share.emit(True)
        time.sleep(0.2)
        drain(received)
        worker.submit_screen_frame(screen)
        frames = media_since(received, StreamKind.VIDEO, 0.5)
    assert len(frames) == 1  # one grab, one frame: a still screen costs nothing more
    picture = make_video_decoder(Codec.JPEG).decode(frames[0][1])
    assert picture.shape == (240, 320, 3)
    middle, bar = picture[120, 160], picture[5, 160]
    assert middle[2] > 150 and middle[0] < 50  # the red screen, in the middle
    assert bar.max() < 40  # letterboxed: black above
