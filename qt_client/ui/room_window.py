"""The meeting itself: everyone's video, the chat, and the controls for one's own microphone and camera.

Public API (RoomWindow):
    signals   microphone_toggled(bool), camera_toggled(bool), screen_share_toggled(bool),
              face_effect_toggled(bool), settings_requested(), leave_requested() (only once confirmed)
    widgets   grid (VideoGrid), chat (ChatPanel), controls (ControlBar), banner (reconnecting),
              presenter_banner, sharing_banner with stop_sharing_button, status_label
    actions   action_mic (Ctrl+D), action_camera (Ctrl+E), action_screen (Ctrl+Shift+S), action_face,
              action_view (speaker/grid), action_chat (show/hide, "Chat (3)" unread), action_settings,
              action_fullscreen (F11; Esc leaves), action_copy_id, action_leave (Ctrl+W)
    methods   set_room(room), set_local_user(uid), set_status(state, rtt_ms, fps, dropped),
              set_reconnecting(bool), set_presenter(name | None), set_sharing(bool), copy_room_id(),
              confirm_leave() -> bool, request_leave(), button_for(action), room_id
Closing the window by hand asks confirm_leave() too; close() from the controller does not ask.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QEvent, Qt, pyqtBoundSignal, pyqtSignal
from PyQt5.QtGui import QCloseEvent, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QShortcut,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from qt_client.ui.chat_panel import ChatPanel
from qt_client.ui.control_bar import ControlBar
from qt_client.ui.video_grid import VideoGrid

BANNER_STYLE = "font-weight: bold; padding: 4px;"
STATES = {"connected": "Connected", "connecting": "Connecting…", "reconnecting": "Reconnecting…",
          "disconnected": "Disconnected"}


def _banner(text: str, name: str, colours: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.PlainText)
    label.setAlignment(Qt.AlignCenter)
    label.setStyleSheet(f"{colours} {BANNER_STYLE}")
    label.hide()
    return label


class RoomWindow(QMainWindow):
    """A grid of tiles with chat at the side; the controls' toggles say what the user wants, not what is."""

    microphone_toggled = pyqtSignal(bool)
    camera_toggled = pyqtSignal(bool)
    screen_share_toggled = pyqtSignal(bool)
    face_effect_toggled = pyqtSignal(bool)
    settings_requested = pyqtSignal()
    leave_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._room_id = ""
        self.grid = VideoGrid()
        self.chat = ChatPanel()
        self.banner = _banner("Reconnecting…", "reconnecting_banner", "background: #f9a825; color: black;")
        self.presenter_banner = _banner("", "presenter_banner", "background: #1e88e5; color: white;")
        self.sharing_banner = self._sharing_banner()
        self.controls = ControlBar()
        self.controls.setObjectName("controls")
        self._add_actions()

        self._splitter = QSplitter(Qt.Horizontal)
        self._splitter.addWidget(self.grid)
        self._splitter.addWidget(self.chat)
        self._splitter.setStretchFactor(0, 4)
        self._splitter.setStretchFactor(1, 1)
        # An empty grid has a tiny size hint; without initial sizes the chat would take most of the window.
        self._splitter.setSizes([800, 300])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for banner in (self.banner, self.presenter_banner, self.sharing_banner):
            layout.addWidget(banner)
        layout.addWidget(self._splitter, 1)
        layout.addWidget(self.controls)
        self.setCentralWidget(central)

        self.status_label = QLabel()
        self.status_label.setObjectName("status")
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.set_status("connecting", None, 0.0, 0)
        self.setMinimumHeight(480)  # the width's minimum is what the controls need with short labels
        self.resize(1280, 720)

    def _sharing_banner(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("sharing_banner")
        frame.setStyleSheet("QFrame#sharing_banner { background: #43a047; }")
        label = QLabel("You are sharing your screen")
        label.setStyleSheet(f"color: white; {BANNER_STYLE}")
        self.stop_sharing_button = QPushButton("Stop sharing")
        self.stop_sharing_button.setObjectName("stop_sharing")
        self.stop_sharing_button.clicked.connect(lambda: self.action_screen.setChecked(False))
        row = QHBoxLayout(frame)
        row.setContentsMargins(4, 0, 4, 0)
        row.addStretch(1)
        row.addWidget(label)
        row.addWidget(self.stop_sharing_button)
        row.addStretch(1)
        frame.hide()
        return frame

    def _add_actions(self) -> None:
        bar = self.controls
        self.action_mic = self._toggle("action_mic", self.microphone_toggled, True, "Ctrl+D",
                                       "Mute or unmute your microphone")
        bar.add_action(self.action_mic, ("Unmute", "Unmute"), ("Mute", "Mute"))
        self.action_camera = self._toggle("action_camera", self.camera_toggled, True, "Ctrl+E",
                                          "Start or stop your camera")
        bar.add_action(self.action_camera, ("Start video", "Video"), ("Stop video", "Video"))
        bar.add_stretch()
        self.action_screen = self._toggle("action_screen", self.screen_share_toggled, False, "Ctrl+Shift+S",
                                          "Share your screen")
        self.action_screen.toggled.connect(self._show_sharing)
        bar.add_action(self.action_screen, ("Share screen", "Share"), ("Stop sharing", "Share"))
        self.action_face = self._toggle("action_face", self.face_effect_toggled, False, None,
                                        "Face effect on your video")
        bar.add_action(self.action_face, ("Face effect", "Face"))
        self.action_view = self._toggle("action_view", None, False, None, "Speaker view or grid view")
        self.action_view.toggled.connect(lambda on: self.grid.set_view_mode("speaker" if on else "grid"))
        self.grid.view_mode_changed.connect(
            lambda mode: self._set_checked(self.action_view, mode == "speaker"))
        bar.add_action(self.action_view, ("Speaker view", "View"), ("Grid view", "View"))
        self.action_chat = self._toggle("action_chat", None, True, None, "Show or hide the chat")
        self.action_chat.toggled.connect(self.chat.setVisible)
        self.chat.unread_changed.connect(self._show_unread)
        bar.add_action(self.action_chat, ("Chat", "Chat"), reserve=("Chat (99)", "Chat 99"))
        self.action_settings = self._action("action_settings", None, "Devices, codec and server")
        self.action_settings.triggered.connect(self.settings_requested)
        bar.add_action(self.action_settings, ("Settings", "Settings"))
        self.action_fullscreen = self._toggle("action_fullscreen", None, False, "F11", "Full screen")
        self.action_fullscreen.setToolTip("Full screen (F11; Esc leaves it)")
        self.action_fullscreen.toggled.connect(self._set_full_screen)
        bar.add_action(self.action_fullscreen, ("Full screen", "Full"), ("Exit full screen", "Full"))
        self.action_copy_id = self._action("action_copy_id", None, "Copy the room id to invite people")
        self.action_copy_id.triggered.connect(self.copy_room_id)
        bar.add_action(self.action_copy_id, ("Copy room id", "Copy id"))
        bar.add_stretch()
        self.action_leave = self._action("action_leave", "Ctrl+W", "Leave the meeting")
        self.action_leave.triggered.connect(self.request_leave)
        leave = bar.add_action(self.action_leave, ("Leave", "Leave"))
        leave.setStyleSheet("QToolButton { background: #e53935; color: white; font-weight: bold;"
                            " border-radius: 3px; padding: 3px 8px; }")
        for name in ("action_mic", "action_camera"):
            bar.button(getattr(self, name)).setStyleSheet("QToolButton:!checked { color: #e53935; }")
        self._escape = QShortcut(QKeySequence(Qt.Key_Escape), self)
        self._escape.setEnabled(False)  # only while full screen: Esc belongs to dialogs and the chat line
        self._escape.activated.connect(lambda: self.action_fullscreen.setChecked(False))

    def _action(self, name: str, shortcut: str | None, tip: str) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.NativeText)})"
        action.setToolTip(tip)
        self.addAction(action)  # its shortcut works wherever the focus is in the window
        return action

    def _toggle(self, name: str, signal: pyqtBoundSignal | None, checked: bool, shortcut: str | None,
                tip: str) -> QAction:
        action = self._action(name, shortcut, tip)
        action.setCheckable(True)
        action.setChecked(checked)  # before connecting: the initial state is not a user's action
        if signal is not None:
            action.toggled.connect(signal)
        return action

    def _set_checked(self, action: QAction, checked: bool) -> None:
        """Shows a state the program set, without announcing it as the user's wish."""
        blocked = action.blockSignals(True)
        action.setChecked(checked)
        action.blockSignals(blocked)
        self.controls.relabel()

    @property
    def room_id(self) -> str:
        return self._room_id

    def button_for(self, action: QAction) -> QToolButton:
        """The control a user clicks for action."""
        return self.controls.button(action)

    def set_room(self, room: dict[str, Any]) -> None:
        self._room_id = str(room.get("room_id", ""))
        title = room.get("title") or "Meeting"
        self.setWindowTitle(f"{title} (room {self._room_id}) - mini-meeting")

    def set_local_user(self, user_id: int | None) -> None:
        """Whose tile and chat lines are one's own."""
        self.grid.set_local_user(user_id)
        self.chat.set_local_user(user_id)

    def set_status(self, state: str, rtt_ms: float | None, fps: float, dropped: int) -> None:
        parts = [STATES.get(state, state.capitalize())]
        parts.append("round trip unknown" if rtt_ms is None else f"round trip {rtt_ms:.0f} ms")
        parts.append(f"receiving {fps:.1f} frames a second")
        if dropped:
            parts.append(f"{dropped} late frames skipped")
        self.status_label.setText("  ·  ".join(parts))

    def set_reconnecting(self, reconnecting: bool, attempt: int = 0) -> None:
        """The banner while the server is away, with the attempt under way when known."""
        self.banner.setText(f"Reconnecting (attempt {attempt})…" if attempt else "Reconnecting…")
        self.banner.setVisible(reconnecting)

    def set_presenter(self, name: str | None) -> None:
        """"Ada is presenting" while someone else shares a screen; None hides it."""
        self.presenter_banner.setText(f"{name} is presenting" if name else "")
        self.presenter_banner.setVisible(bool(name))

    def set_sharing(self, sharing: bool) -> None:
        """The controller's word on whether our screen is being shared; does not emit screen_share_toggled."""
        self._set_checked(self.action_screen, sharing)
        self._show_sharing(sharing)

    def _show_sharing(self, sharing: bool) -> None:
        self.sharing_banner.setVisible(sharing)

    def _show_unread(self, count: int) -> None:
        shown = min(count, 99)  # the room kept for the label (reserve) holds two digits
        self.controls.set_labels(self.action_chat, (f"Chat ({shown})", f"Chat {shown}") if count else
                                 ("Chat", "Chat"))

    def copy_room_id(self) -> None:
        """Puts the room id on the clipboard: it is what people need to invite others."""
        QApplication.clipboard().setText(self._room_id)
        self.statusBar().showMessage(f"Room id {self._room_id} copied", 3000)

    def _set_full_screen(self, on: bool) -> None:
        if on and not self.isFullScreen():
            self.showFullScreen()
        elif not on and self.isFullScreen():
            self.showNormal()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.WindowStateChange:
            full = self.isFullScreen()
            self._escape.setEnabled(full)
            if self.action_fullscreen.isChecked() != full:  # the window manager changed it
                self._set_checked(self.action_fullscreen, full)

    def confirm_leave(self) -> bool:
        """Asks "Leave the meeting?"; True when the user confirms."""
        box = QMessageBox(QMessageBox.Question, "Leave meeting", "Leave the meeting?", QMessageBox.NoButton,
                          self)
        box.setObjectName("leave_box")
        leave = box.addButton("Leave", QMessageBox.AcceptRole)
        leave.setObjectName("confirm_leave")
        cancel = box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(cancel)
        box.exec()
        box.deleteLater()
        return box.clickedButton() is leave

    def request_leave(self) -> None:
        """Leave button and Ctrl+W: leave_requested only once the user confirms."""
        if self.confirm_leave():
            self.leave_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing the window by hand means leaving, once confirmed; a close() from the controller
        # (after leaving) is not spontaneous and does not ask.
        if event.spontaneous() and self.isVisible():
            if not self.confirm_leave():
                event.ignore()
                return
            self.leave_requested.emit()
        super().closeEvent(event)
