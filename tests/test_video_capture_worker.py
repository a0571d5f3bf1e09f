"""VideoCaptureWorker: what it sends, another member receives and decodes."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtGui import QImage

from protocol.media import Codec, MediaSource, StreamKind
from qt_client.media.jpeg_codec import JpegDecoder
from qt_client.media.test_pattern_source import read_frame_number
from qt_client.media.video_codec import make_video_decoder
from qt_client.workers.video_capture_worker import VideoCaptureWorker
from tests.worker_support import drain, media_since, running, sender_and_receiver


class Switches(QObject):
    """The toolbar's buttons, queued to the worker's thread."""

    enabled = pyqtSignal(bool)
    screen_share = pyqtSignal(bool)
    keyframe = pyqtSignal(int)

    def __init__(self, worker: VideoCaptureWorker) -> None:
        super().__init__()
        self.enabled.connect(worker.set_enabled)
        self.screen_share.connect(worker.set_screen_share)
        self.keyframe.connect(worker.request_keyframe)


@pytest.fixture
def pair(tmp_path: Any) -> Iterator[tuple[Any, queue.Queue]]:
    with sender_and_receiver(f"sqlite:///{tmp_path}/m.db") as both:
        yield both


def camera_frames(frames: list) -> list:
    return [(header, payload) for header, payload in frames if header.source is MediaSource.CAMERA]


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
        assert all(header.sender_id == ada.user_id and header.source is MediaSource.CAMERA
                   for header, _ in frames)

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


def test_the_camera_comes_back_every_time_it_is_switched_on(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.H264, width=320, height=240, fps=20, camera=None)
    switches = Switches(worker)
    with running(worker, "video"):
        for _ in range(10):
            switches.enabled.emit(False)
            time.sleep(0.1)
            drain(received)
            assert media_since(received, StreamKind.VIDEO, 0.2) == []
            switches.enabled.emit(True)
            back = media_since(received, StreamKind.VIDEO, 0.3)
            assert len(back) >= 3
            assert back[0][0].keyframe  # receivers can decode from the first frame after a pause


def test_without_a_camera_it_says_so_each_time_and_sends_the_test_pattern(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, width=320, height=240, fps=15, camera=7)
    switches = Switches(worker)
    messages: list[str] = []
    worker.source_fallback.connect(messages.append)
    with running(worker, "video"):
        frames = media_since(received, StreamKind.VIDEO, 0.8)
        qtbot.waitUntil(lambda: messages == ["The camera could not be opened: sending a test pattern"],
                        timeout=2000)
        assert len(frames) >= 6
        assert read_frame_number(JpegDecoder().decode(frames[-1][1])) is not None
        # Switching the camera on again tries the camera again (it may have been plugged in).
        switches.enabled.emit(False)
        with qtbot.waitSignal(worker.source_fallback, timeout=2000):
            switches.enabled.emit(True)


def test_a_key_frame_request_is_honoured_at_once(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.H264, width=320, height=240, fps=20, camera=None)
    switches = Switches(worker)
    with running(worker, "video"):
        first = media_since(received, StreamKind.VIDEO, 0.6)
        assert first[0][0].keyframe and not any(header.keyframe for header, _ in first[1:])
        switches.keyframe.emit(int(MediaSource.CAMERA))
        after = media_since(received, StreamKind.VIDEO, 0.4)
    # The periodic key frame is 2 s away: this one is the answer to the request.
    assert any(header.keyframe for header, _ in after[:3])


def screen_image(width: int, height: int) -> tuple[QImage, np.ndarray]:
    """A screen-like grab (RGB32, as X11 gives) with a checkerboard, and the same picture as BGR."""
    bgr = np.zeros((height, width, 3), np.uint8)
    bgr[(np.arange(height)[:, None] // 8 + np.arange(width)[None, :] // 8) % 2 == 1] = (255, 255, 255)
    bgr[: height // 3, :, 2] = 200  # a red band on top
    image = QImage(width, height, QImage.Format_RGB32)
    bits = image.bits()
    bits.setsize(image.sizeInBytes())
    pixels = np.frombuffer(bits, np.uint8).reshape(height, image.bytesPerLine())[:, :4 * width]
    pixels.reshape(height, width, 4)[:, :, :3] = bgr
    return image, bgr


@pytest.mark.parametrize(("codec", "sent_size"), [(Codec.JPEG, (1023, 767)), (Codec.H264, (1024, 768))])
def test_the_screen_is_its_own_stream_at_its_own_size_beside_the_camera(
        qtbot: Any, pair: Any, codec: Codec, sent_size: tuple[int, int]) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=codec, width=320, height=240, fps=15, camera=None)
    switches = Switches(worker)
    image, bgr = screen_image(1023, 767)  # odd sizes: no stripes, no stretching
    with running(worker, "video"):
        switches.screen_share.emit(True)
        time.sleep(0.3)
        drain(received)
        worker.submit_screen_image(image)
        frames = media_since(received, StreamKind.VIDEO, 0.8)
    screens = [(header, payload) for header, payload in frames if header.source is MediaSource.SCREEN]
    assert len(screens) == 1  # one grab, one frame: a still screen costs nothing more
    assert len(camera_frames(frames)) >= 8  # the camera goes on meanwhile
    header, payload = screens[0]
    assert header.keyframe
    picture = make_video_decoder(codec).decode(payload)
    assert (picture.shape[1], picture.shape[0]) == sent_size
    assert psnr(picture[:767, :1023], bgr) >= 30


def test_a_big_screen_is_shrunk_to_the_maximum_keeping_its_shape(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.JPEG, width=320, height=240, fps=15, camera=None,
                                enabled=False, screen_max_size=(1280, 720))
    switches = Switches(worker)
    image, _ = screen_image(2560, 1600)
    with running(worker, "video"):
        switches.screen_share.emit(True)
        time.sleep(0.3)
        worker.submit_screen_image(image)
        frames = media_since(received, StreamKind.VIDEO, 0.6)
    picture = JpegDecoder().decode(frames[-1][1])
    assert (picture.shape[1], picture.shape[0]) == (1152, 720)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255 ** 2 / error)


def test_a_still_screen_grabbed_every_tick_goes_out_rarely_and_a_change_at_once(
        qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = VideoCaptureWorker(ada, codec=Codec.JPEG, width=320, height=240, fps=15, camera=None,
                                enabled=False, screen_fps=10)
    switches = Switches(worker)
    still, _ = screen_image(640, 360)
    with running(worker, "video"):
        switches.screen_share.emit(True)
        for _ in range(25):  # 2.5 s of grabs of the same screen, as the GUI's timer makes them
            worker.submit_screen_image(QImage(still))
            time.sleep(0.1)
        sent = media_since(received, StreamKind.VIDEO, 0.05)  # what queued up meanwhile
        assert 1 <= len(sent) <= 3  # the first, then a refresh every 2 s: not 25 frames
        changed = QImage(still)
        changed.fill(0)
        worker.submit_screen_image(changed)
        assert len(media_since(received, StreamKind.VIDEO, 0.3)) == 1  # a change goes out at the next tick
