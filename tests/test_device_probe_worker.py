"""CameraProbe: looks on a pool thread, answers on the GUI thread, and remembers until refreshed."""

from __future__ import annotations

import threading
from typing import Any

from PyQt5.QtCore import QThread

from qt_client.media.camera_probe import CameraInfo
from qt_client.workers.device_probe_worker import CameraProbe, shared_camera_probe

WEBCAM = CameraInfo(0, "HD Webcam", 1280, 720)


class SlowProbe:
    """A probe that blocks, as cv2.VideoCapture can, until the test lets it answer."""

    def __init__(self, answer: list[CameraInfo]) -> None:
        self.answer = answer
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []

    def __call__(self) -> list[CameraInfo]:
        self.threads.append(threading.current_thread())
        assert self.release.wait(5)
        return self.answer


def test_the_answer_comes_to_the_gui_thread_while_the_gui_keeps_running(qtbot: Any, qapp: Any) -> None:
    slow = SlowProbe([WEBCAM])
    probe = CameraProbe(slow)
    answered_on: list[Any] = []
    probe.cameras_found.connect(lambda cameras: answered_on.append(QThread.currentThread()))
    probe.request()
    assert probe.looking and probe.cameras is None
    qtbot.wait(100)  # the GUI thread's loop runs while the probe is blocked
    assert probe.cameras is None
    with qtbot.waitSignal(probe.cameras_found, timeout=2000) as found:
        slow.release.set()
    assert found.args == [[WEBCAM]] and probe.cameras == [WEBCAM] and not probe.looking
    assert slow.threads[0] is not threading.main_thread()
    assert answered_on == [qapp.thread()]


def test_the_answer_is_kept_until_refresh(qtbot: Any) -> None:
    slow = SlowProbe([])
    slow.release.set()
    probe = CameraProbe(slow)
    with qtbot.waitSignal(probe.cameras_found, timeout=2000):
        probe.request()
    probe.request()  # known: no second look
    assert len(slow.threads) == 1 and probe.cameras == []
    slow.answer = [WEBCAM]  # plugged in since
    with qtbot.waitSignal(probe.cameras_found, timeout=2000) as found:
        probe.refresh()
    assert found.args == [[WEBCAM]] and len(slow.threads) == 2


def test_a_failing_probe_answers_no_cameras(qtbot: Any) -> None:
    def broken() -> list[CameraInfo]:
        raise OSError("v4l2 exploded")

    probe = CameraProbe(broken)
    with qtbot.waitSignal(probe.cameras_found, timeout=2000) as found:
        probe.request()
    assert found.args == [[]]


def test_one_shared_probe_finds_no_camera_on_this_machine(qtbot: Any) -> None:
    probe = shared_camera_probe()
    assert shared_camera_probe() is probe
    probe.request()
    qtbot.waitUntil(lambda: probe.cameras is not None, timeout=5000)
    assert probe.cameras == []
