"""Where the user picks devices, codec, sizes and frame rates; choices are kept in ClientSettings.

It can be opened in the lobby or mid-call: OK and Apply save, then emit
`settings_applied` with only what changed, so the controller restarts only the
worker concerned.
"""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from qt_client.media.audio_source import WAV_PREFIX
from qt_client.media.camera_probe import CameraInfo
from qt_client.ui.client_settings import (
    CODECS,
    FACE_EFFECTS,
    SCREEN_FPS_RANGE,
    SCREEN_SIZES,
    SIZES,
    ClientSettings,
)
from qt_client.workers.device_probe_worker import CameraProbe, shared_camera_probe

CODEC_LABELS = {"h264": "H.264", "vp8": "VP8", "jpeg": "JPEG (most compatible)"}
SCREEN_SIZE_LABELS = {"native": "Native (the screen's own size)"}
LOOKING = "Looking for cameras…"
CHOOSE_WAV = WAV_PREFIX  # the "WAV file…" entry: choosing it asks which file
KEYS = ("camera", "microphone", "codec", "size", "fps", "face_effect", "vad_aggressiveness",
        "echo_cancelling", "screen_max_size", "screen_fps")


def available_microphones() -> list[str]:
    """Names of the audio input devices Qt sees; [] when there are none or QtMultimedia cannot load."""
    try:
        from PyQt5.QtMultimedia import QAudio, QAudioDeviceInfo  # needs libpulse-mainloop-glib0
    except ImportError:
        return []
    names: list[str] = []
    for device in QAudioDeviceInfo.availableDevices(QAudio.AudioInput):
        # Without a sound server Qt still lists one null device with no name: it is not a microphone.
        if not device.isNull() and device.deviceName() and device.deviceName() not in names:
            names.append(device.deviceName())
    return names


class SettingsDialog(QDialog):
    """Edits a ClientSettings; nothing is written until OK or Apply, so Cancel really cancels.

    Every list shows what will really be used: the saved choice is selected even
    when its device is missing (marked so), and cameras are only those that
    delivered a picture, looked for off the GUI thread (`camera_probe`) unless
    `cameras` is given.
    """

    settings_applied = pyqtSignal(object)  # {key: new value} for each key of KEYS that changed

    def __init__(self, settings: ClientSettings, parent: QWidget | None = None,
                 microphones: list[str] | None = None, cameras: list[CameraInfo] | None = None,
                 camera_probe: CameraProbe | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._wanted_camera = settings.camera
        self._previous_microphone = 0
        self.wav_dialog: QFileDialog | None = None
        mics = available_microphones() if microphones is None else microphones

        self.camera_combo = QComboBox()
        self.camera_combo.currentIndexChanged.connect(self._camera_chosen)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("refresh_cameras")
        self.refresh_button.setToolTip("Look for cameras again")
        self.refresh_button.clicked.connect(self.refresh_cameras)
        self._probe = None if cameras is not None else (camera_probe or shared_camera_probe())

        self.microphone_combo = QComboBox()
        self.microphone_combo.addItem("System default" if mics else "System default (none found)", "default")
        for name in mics:
            self.microphone_combo.addItem(name, name)
        self.microphone_combo.addItem("Tone (test)", "tone")
        self.microphone_combo.addItem("Silence", "silence")
        self.microphone_combo.addItem("WAV file…", CHOOSE_WAV)
        self.no_microphone_note = QLabel("No microphone found: “System default” sends silence")
        self.no_microphone_note.setObjectName("no_microphone_note")
        self.no_microphone_note.setStyleSheet("color: #e65100;")
        self.no_microphone_note.setVisible(not mics)

        self.codec_combo = QComboBox()
        for codec in CODECS:
            self.codec_combo.addItem(CODEC_LABELS.get(codec, codec), codec)
        self.size_combo = QComboBox()
        for size in SIZES:
            self.size_combo.addItem(size, size)
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(5, 30)
        self.fps_spin.setSuffix(" fps")
        self.vad_spin = QSpinBox()
        self.vad_spin.setRange(0, 3)
        self.vad_spin.setToolTip("0 lets most sound through; 3 sends only clear speech")
        self.echo_check = QCheckBox("Cancel echo from the speakers")
        self.face_combo = QComboBox()
        for mode in FACE_EFFECTS:
            self.face_combo.addItem(mode.capitalize(), mode)
        self.screen_size_combo = QComboBox()
        for size in SCREEN_SIZES:
            self.screen_size_combo.addItem(SCREEN_SIZE_LABELS.get(size, size), size)
        self.screen_fps_spin = QSpinBox()
        self.screen_fps_spin.setRange(*SCREEN_FPS_RANGE)
        self.screen_fps_spin.setSuffix(" fps")

        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel | QDialogButtonBox.Apply)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.apply_button = buttons.button(QDialogButtonBox.Apply)
        self.apply_button.clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.addWidget(self._video_group())
        layout.addWidget(self._audio_group())
        layout.addWidget(self._screen_group())
        layout.addWidget(buttons)
        self._load()
        self.microphone_combo.currentIndexChanged.connect(self._microphone_chosen)
        self._start_cameras(cameras)

    def _video_group(self) -> QGroupBox:
        camera_row = QHBoxLayout()
        camera_row.addWidget(self.camera_combo, 1)
        camera_row.addWidget(self.refresh_button)
        form = QFormLayout()
        form.addRow("Camera", camera_row)
        form.addRow("Video codec", self.codec_combo)
        form.addRow("Resolution", self.size_combo)
        form.addRow("Frame rate", self.fps_spin)
        form.addRow("Face effect", self.face_combo)
        return _group("Video", form)

    def _audio_group(self) -> QGroupBox:
        form = QFormLayout()
        form.addRow("Microphone", self.microphone_combo)
        form.addRow("", self.no_microphone_note)
        form.addRow("Voice detection", self.vad_spin)
        form.addRow("", self.echo_check)
        return _group("Audio", form)

    def _screen_group(self) -> QGroupBox:
        form = QFormLayout()
        form.addRow("Largest size", self.screen_size_combo)
        form.addRow("Frame rate", self.screen_fps_spin)
        return _group("Screen sharing", form)

    def _load(self) -> None:
        s = self._settings
        microphone = s.microphone
        if microphone.startswith(WAV_PREFIX):
            label = f"WAV: {Path(microphone[len(WAV_PREFIX):]).name}"
        else:
            label = f"{microphone} (not connected)"
        self._select(self.microphone_combo, microphone, label)
        self._previous_microphone = self.microphone_combo.currentIndex()
        self._select(self.codec_combo, s.codec, s.codec)
        self._select(self.size_combo, s.size, s.size)
        self.fps_spin.setValue(s.fps)
        self.vad_spin.setValue(s.vad_aggressiveness)
        self.echo_check.setChecked(s.echo_cancelling)
        self._select(self.face_combo, s.face_effect, s.face_effect)
        self._select(self.screen_size_combo, s.screen_max_size, s.screen_max_size)
        self.screen_fps_spin.setValue(s.screen_fps)

    @staticmethod
    def _select(combo: QComboBox, value: str, label: str) -> None:
        # A saved value the list does not offer (an unplugged mic, a hand-edited size) is kept, not lost.
        index = combo.findData(value)
        if index < 0:
            combo.addItem(label, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    # -- cameras ------------------------------------------------------------------

    def _start_cameras(self, cameras: list[CameraInfo] | None) -> None:
        if self._probe is None:
            self.refresh_button.hide()  # a list given by the caller cannot be looked for again
            self.show_cameras(cameras)
            return
        self._probe.cameras_found.connect(self.show_cameras)
        self.show_cameras(self._probe.cameras)
        self._probe.request()

    @pyqtSlot()
    def refresh_cameras(self) -> None:
        """Forget the cameras found and look again; the list says so until the answer comes."""
        if self._probe is not None:
            self.show_cameras(None)
            self._probe.refresh()

    @pyqtSlot(object)
    def show_cameras(self, cameras: list[CameraInfo] | None) -> None:
        """List the test pattern and `cameras`; None means they are still being looked for."""
        combo, wanted = self.camera_combo, self._wanted_camera
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Test pattern", "testpattern")
        if cameras is None:
            combo.addItem(LOOKING)
            combo.model().item(combo.count() - 1).setEnabled(False)
        else:
            for camera in cameras:
                combo.addItem(camera.label, str(camera.index))
        missing = "" if cameras is None else " (not found)"
        self._select(combo, wanted, f"Camera {wanted}{missing}")
        combo.blockSignals(False)
        self.refresh_button.setEnabled(cameras is not None)

    def _camera_chosen(self, index: int) -> None:
        value = self.camera_combo.itemData(index)
        if value is not None:
            self._wanted_camera = value

    # -- microphones ----------------------------------------------------------------

    def _microphone_chosen(self, index: int) -> None:
        if self.microphone_combo.itemData(index) == CHOOSE_WAV:
            self._ask_for_wav()
        else:
            self._previous_microphone = index

    def _ask_for_wav(self) -> None:
        self.wav_dialog = QFileDialog(self, "Play a WAV file as the microphone", "", "WAV files (*.wav)")
        self.wav_dialog.setFileMode(QFileDialog.ExistingFile)
        self.wav_dialog.fileSelected.connect(self._wav_chosen)
        self.wav_dialog.rejected.connect(self._wav_cancelled)
        self.wav_dialog.open()

    def _wav_chosen(self, path: str) -> None:
        self._select(self.microphone_combo, WAV_PREFIX + path, f"WAV: {Path(path).name}")

    def _wav_cancelled(self) -> None:
        self.microphone_combo.setCurrentIndex(self._previous_microphone)

    # -- saving -------------------------------------------------------------------

    def values(self) -> dict[str, object]:
        """What the dialog shows, under the ClientSettings names of KEYS."""
        microphone = self.microphone_combo.currentData()
        if microphone == CHOOSE_WAV:  # the file dialog is still open: keep the choice before it
            microphone = self.microphone_combo.itemData(self._previous_microphone)
        return {
            "camera": self._wanted_camera,
            "microphone": microphone,
            "codec": self.codec_combo.currentData(),
            "size": self.size_combo.currentData(),
            "fps": self.fps_spin.value(),
            "face_effect": self.face_combo.currentData(),
            "vad_aggressiveness": self.vad_spin.value(),
            "echo_cancelling": self.echo_check.isChecked(),
            "screen_max_size": self.screen_size_combo.currentData(),
            "screen_fps": self.screen_fps_spin.value(),
        }

    @pyqtSlot()
    def apply(self) -> dict[str, object]:
        """Save what differs from the settings and announce it; returns what changed."""
        s = self._settings
        changed = {key: value for key, value in self.values().items() if getattr(s, key) != value}
        for key, value in changed.items():
            setattr(s, key, value)
        s.sync()
        if changed:
            self.settings_applied.emit(changed)
        return changed

    def accept(self) -> None:
        self.apply()
        super().accept()


def _group(title: str, form: QFormLayout) -> QGroupBox:
    group = QGroupBox(title)
    group.setLayout(form)
    return group
