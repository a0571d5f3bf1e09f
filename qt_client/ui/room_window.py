"""The meeting itself: everyone's video, the chat, and the controls for one's own microphone and camera."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, pyqtBoundSignal, pyqtSignal
from PyQt5.QtGui import QCloseEvent
from PyQt5.QtWidgets import (
    QAction,
    QApplication,
    QLabel,
    QMainWindow,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from qt_client.ui.chat_panel import ChatPanel
from qt_client.ui.video_grid import VideoGrid


class RoomWindow(QMainWindow):
    """A grid of tiles with chat at the side; the toolbar's toggles say what the user wants, not what is."""

    microphone_toggled = pyqtSignal(bool)
    camera_toggled = pyqtSignal(bool)
    screen_share_toggled = pyqtSignal(bool)
    face_effect_toggled = pyqtSignal(bool)
    leave_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._room_id = ""
        self.grid = VideoGrid()
        self.chat = ChatPanel()
        self.banner = QLabel("Reconnecting…")
        self.banner.setObjectName("reconnecting_banner")
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.setStyleSheet("background: #f9a825; color: black; font-weight: bold; padding: 4px;")
        self.banner.hide()

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.grid)
        splitter.addWidget(self.chat)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        # An empty grid has a tiny size hint; without initial sizes the chat would take most of the window.
        splitter.setSizes([800, 300])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        toolbar = QToolBar("Meeting")
        toolbar.setObjectName("toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.addToolBar(Qt.TopToolBarArea, toolbar)
        self.action_mic = self._toggle(toolbar, "Microphone", "action_mic", self.microphone_toggled, True)
        self.action_camera = self._toggle(toolbar, "Camera", "action_camera", self.camera_toggled, True)
        self.action_screen = self._toggle(toolbar, "Share screen", "action_screen", self.screen_share_toggled)
        self.action_face = self._toggle(toolbar, "Face effect", "action_face", self.face_effect_toggled)
        toolbar.addSeparator()
        self.action_copy_id = toolbar.addAction("Copy room id")
        self.action_copy_id.setObjectName("action_copy_id")
        self.action_copy_id.triggered.connect(self.copy_room_id)
        self.action_leave = toolbar.addAction("Leave")
        self.action_leave.setObjectName("action_leave")
        self.action_leave.triggered.connect(self.leave_requested)

        self.status_label = QLabel()
        self.status_label.setObjectName("status")
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.set_status("connecting", None, 0.0, 0)
        self.resize(1100, 700)

    @staticmethod
    def _toggle(
        toolbar: QToolBar, text: str, name: str, signal: pyqtBoundSignal, checked: bool = False
    ) -> QAction:
        action = toolbar.addAction(text)
        action.setObjectName(name)
        action.setCheckable(True)
        action.setChecked(checked)  # before connecting: the initial state is not a user's action
        action.toggled.connect(signal)
        return action

    @property
    def room_id(self) -> str:
        return self._room_id

    def set_room(self, room: dict[str, Any]) -> None:
        self._room_id = str(room.get("room_id", ""))
        title = room.get("title") or "Meeting"
        self.setWindowTitle(f"{title} (room {self._room_id}) - mini-meeting")

    def set_status(self, state: str, rtt_ms: float | None, fps: float, dropped: int) -> None:
        rtt = "RTT n/a" if rtt_ms is None else f"RTT {rtt_ms:.0f} ms"
        self.status_label.setText(f"{state}  ·  {rtt}  ·  {fps:.1f} fps  ·  {dropped} dropped")

    def set_reconnecting(self, reconnecting: bool) -> None:
        self.banner.setVisible(reconnecting)

    def copy_room_id(self) -> None:
        """Puts the room id on the clipboard: it is what people need to invite others."""
        QApplication.clipboard().setText(self._room_id)
        self.statusBar().showMessage(f"Room id {self._room_id} copied", 3000)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing the window by hand means leaving; a close() from the controller (after leaving) does not.
        if event.spontaneous():
            self.leave_requested.emit()
        super().closeEvent(event)
