"""One QThread and the worker moved onto it, so that every worker starts and stops the same way."""

from __future__ import annotations

import logging

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

log = logging.getLogger(__name__)


class _Finisher(QObject):
    """Lives on the worker's thread: runs the worker's `stop` there, then ends that thread's loop.

    Quitting from inside the thread, after `stop`, is what guarantees that `stop` ran:
    a `quit()` from the GUI thread could end the loop before the queued stop was seen.
    """

    def __init__(self, worker: QObject) -> None:
        super().__init__()
        self._worker = worker

    @pyqtSlot()
    def finish(self) -> None:
        try:
            self._worker.stop()
        finally:
            QThread.currentThread().quit()


class WorkerThread(QObject):
    """Owns a worker (a QObject with `start` and `stop` slots) and the QThread it runs on.

    `start` on the worker runs on its thread once the thread is up (timers made there
    belong to it); `stop` runs there too, queued, before the thread's loop ends.
    """

    _stop_requested = pyqtSignal()

    def __init__(self, worker: QObject, name: str) -> None:
        super().__init__()
        self.worker = worker
        # Not `thread`: that would hide QObject.thread(), which says where this helper lives.
        self.qthread = QThread()
        self.qthread.setObjectName(name)
        self._finisher = _Finisher(worker)
        worker.moveToThread(self.qthread)
        self._finisher.moveToThread(self.qthread)
        self.qthread.started.connect(worker.start)
        self._stop_requested.connect(self._finisher.finish)  # queued: the finisher lives on the thread

    def start(self) -> None:
        self.qthread.start()

    def stop(self, timeout_ms: int = 3000) -> bool:
        """Ask the worker to stop on its thread and wait for the thread to end; False if it would not."""
        if not self.qthread.isRunning():
            return True
        self._stop_requested.emit()
        if self.qthread.wait(timeout_ms):
            return True
        # The worker is stuck in a call (a server that does not answer); its loop can still be told.
        log.warning("%s did not stop within %d ms", self.qthread.objectName(), timeout_ms)
        self.qthread.quit()
        return self.qthread.wait(timeout_ms)
