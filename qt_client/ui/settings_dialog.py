"""Where the user picks devices, codec and picture size; choices are kept in ClientSettings."""

from __future__ import annotations

from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from qt_client.ui.client_settings import CODECS, FACE_EFFECTS, SIZES, ClientSettings

CAMERA_INDICES = 4  # OpenCV gives no cheap way to list cameras; offer the first few indices
CODEC_LABELS = {"h264": "H.264", "vp8": "VP8", "jpeg": "JPEG (most compatible)"}


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
    """Edits a ClientSettings; nothing is written until OK, so Cancel really cancels."""

    def __init__(
        self, settings: ClientSettings, parent: QWidget | None = None, microphones: list[str] | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        mics = available_microphones() if microphones is None else microphones

        self.camera_combo = QComboBox()
        self.camera_combo.addItem("Test pattern", "testpattern")
        for index in range(CAMERA_INDICES):
            self.camera_combo.addItem(f"Camera {index}", str(index))

        self.microphone_combo = QComboBox()
        if mics:
            self.microphone_combo.addItem("System default", "default")
        for name in mics:
            self.microphone_combo.addItem(name, name)
        self.microphone_combo.addItem("Tone (synthetic)", "tone")
        self.microphone_combo.addItem("None", "none")
        self.no_microphone_note = QLabel("No microphone found: using a synthetic source")
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

        form = QFormLayout()
        form.addRow("Camera", self.camera_combo)
        form.addRow("Microphone", self.microphone_combo)
        form.addRow("", self.no_microphone_note)
        form.addRow("Video codec", self.codec_combo)
        form.addRow("Resolution", self.size_combo)
        form.addRow("Frame rate", self.fps_spin)
        form.addRow("Voice detection", self.vad_spin)
        form.addRow("", self.echo_check)
        form.addRow("Face effect", self.face_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._load(bool(mics))

    def _load(self, have_microphones: bool) -> None:
        s = self._settings
        self._select(self.camera_combo, s.camera, f"Camera {s.camera}")
        microphone = s.microphone
        if not have_microphones and microphone not in ("tone", "none"):
            microphone = "tone"  # show what the client will really use, not a device that is absent
        self._select(self.microphone_combo, microphone, microphone)
        self._select(self.codec_combo, s.codec, s.codec)
        self._select(self.size_combo, s.size, s.size)
        self.fps_spin.setValue(s.fps)
        self.vad_spin.setValue(s.vad_aggressiveness)
        self.echo_check.setChecked(s.echo_cancelling)
        self._select(self.face_combo, s.face_effect, s.face_effect)

    @staticmethod
    def _select(combo: QComboBox, value: str, label: str) -> None:
        # A saved value the list does not offer (an unplugged mic, a hand-edited size) is kept, not lost.
        index = combo.findData(value)
        if index < 0:
            combo.addItem(label, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def accept(self) -> None:
        s = self._settings
        s.camera = self.camera_combo.currentData()
        s.microphone = self.microphone_combo.currentData()
        s.codec = self.codec_combo.currentData()
        s.size = self.size_combo.currentData()
        s.fps = self.fps_spin.value()
        s.vad_aggressiveness = self.vad_spin.value()
        s.echo_cancelling = self.echo_check.isChecked()
        s.face_effect = self.face_combo.currentData()
        s.sync()
        super().accept()
