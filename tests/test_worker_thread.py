"""WorkerThread: start runs on the worker's thread, stop runs there too and ends the thread."""

from __future__ import annotations

import threading
import time
from typing import Any

from PyQt5.QtCore import QObject, QThread, pyqtSlot

from qt_client.workers.worker_thread import WorkerThread


class Recorder(QObject):
    def __init__(self, stop_takes: float = 0.0) -> None:
        super().__init__()
        self.calls: list[tuple[str, QThread]] = []
        self.stop_takes = stop_takes

    @pyqtSlot()
    def start(self) -> None:
        self.calls.append(("start", QThread.currentThread()))

    @pyqtSlot()
    def stop(self) -> None:
        time.sleep(self.stop_takes)
        self.calls.append(("stop", QThread.currentThread()))


def test_start_and_stop_run_on_the_worker_thread_and_the_thread_ends(qtbot: Any) -> None:
    worker = Recorder()
    thread = WorkerThread(worker, "recorder")
    thread.start()
    qtbot.waitUntil(lambda: len(worker.calls) == 1, timeout=1000)
    assert thread.stop(1000)
    assert thread.qthread.isFinished()
    assert [name for name, _ in worker.calls] == ["start", "stop"]
    assert all(where is thread.qthread for _, where in worker.calls)
    assert thread.stop(1000)  # twice is harmless


def test_stop_waits_for_a_slow_worker_instead_of_abandoning_it(qtbot: Any) -> None:
    worker = Recorder(stop_takes=0.3)
    thread = WorkerThread(worker, "slow")
    thread.start()
    started = time.monotonic()
    assert thread.stop(2000)
    assert time.monotonic() - started >= 0.3
    assert [name for name, _ in worker.calls][-1] == "stop"


def test_a_worker_stuck_past_the_timeout_is_reported(qtbot: Any) -> None:
    release = threading.Event()

    class Stuck(Recorder):
        @pyqtSlot()
        def stop(self) -> None:
            release.wait(5)

    worker = Stuck()
    thread = WorkerThread(worker, "stuck")
    thread.start()
    assert not thread.stop(200)
    release.set()
    assert thread.qthread.wait(2000)  # once free, it ends: nothing is destroyed while running
