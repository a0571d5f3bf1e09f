"""Looks for cameras on a pool thread, since opening one can block the GUI for seconds."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt5.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, pyqtSignal, pyqtSlot

from qt_client.media.camera_probe import CameraInfo, probe_cameras

log = logging.getLogger(__name__)


class _Answer(QObject):
    """Carries the probe's result from the pool thread; a child of the CameraProbe, so never freed there."""

    done = pyqtSignal(object)


class _ProbeRun(QRunnable):
    def __init__(self, probe: Callable[[], list[CameraInfo]], answer: _Answer) -> None:
        super().__init__()
        self._probe = probe
        self._answer = answer

    def run(self) -> None:
        try:
            cameras = self._probe()
        except Exception:
            log.exception("looking for cameras failed")
            cameras = []
        try:
            self._answer.done.emit(cameras)
        except RuntimeError:
            pass  # the CameraProbe (and its child) went away while we looked: nobody is waiting


class CameraProbe(QObject):
    """The cameras of this machine, looked for once off the GUI thread and kept until `refresh`.

    `cameras` is None while the answer is unknown; `cameras_found` brings each
    answer to this object's thread (the GUI's) by a queued connection.
    """

    cameras_found = pyqtSignal(object)  # list[CameraInfo]

    def __init__(self, probe: Callable[[], list[CameraInfo]] = probe_cameras,
                 pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._probe = probe
        self._pool = pool or QThreadPool.globalInstance()
        self.cameras: list[CameraInfo] | None = None
        self.looking = False
        self._answer = _Answer(self)
        self._answer.done.connect(self._on_done, Qt.QueuedConnection)

    def request(self) -> None:
        """Look unless the answer is known or already on its way."""
        if self.cameras is None and not self.looking:
            self.refresh()

    def refresh(self) -> None:
        """Look again (a camera may have been plugged in); the old answer is forgotten."""
        self.cameras = None
        if self.looking:
            return  # the probe under way answers for this request too
        self.looking = True
        self._pool.start(_ProbeRun(self._probe, self._answer))

    @pyqtSlot(object)
    def _on_done(self, cameras: list[CameraInfo]) -> None:
        self.looking = False
        self.cameras = list(cameras)
        self.cameras_found.emit(self.cameras)


_shared: CameraProbe | None = None


def shared_camera_probe() -> CameraProbe:
    """One probe for the whole client, so that its answer is kept for the process's life."""
    global _shared
    if _shared is None:
        _shared = CameraProbe(parent=QCoreApplication.instance())
    return _shared
