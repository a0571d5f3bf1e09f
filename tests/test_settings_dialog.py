"""SettingsDialog: choices are saved on OK only, and a machine without a microphone says so."""

from __future__ import annotations

import os

import pytest
from PyQt5.QtWidgets import QLabel

from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.settings_dialog import SettingsDialog, available_microphones

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_dialog(qtbot, settings: ClientSettings, microphones: list[str] | None = None) -> SettingsDialog:
    dialog = SettingsDialog(settings, microphones=microphones)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def choose(combo, data: str) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_ok_saves_values_that_survive_a_new_settings_object(qtbot, tmp_path):
    path = str(tmp_path / "client.ini")
    dialog = make_dialog(qtbot, ClientSettings(path), microphones=["USB Mic"])
    choose(dialog.camera_combo, "1")
    choose(dialog.microphone_combo, "USB Mic")
    choose(dialog.codec_combo, "jpeg")
    choose(dialog.size_combo, "1280x720")
    dialog.fps_spin.setValue(25)
    dialog.vad_spin.setValue(3)
    dialog.echo_check.setChecked(False)
    choose(dialog.face_combo, "box")
    dialog.accept()
    s = ClientSettings(path)
    assert (s.camera, s.microphone, s.codec, s.size) == ("1", "USB Mic", "jpeg", "1280x720")
    assert (s.fps, s.vad_aggressiveness, s.echo_cancelling, s.face_effect) == (25, 3, False, "box")
    again = make_dialog(qtbot, s, microphones=["USB Mic"])  # and the dialog shows them next time
    assert again.camera_combo.currentText() == "Camera 1" and again.fps_spin.value() == 25


def test_cancel_saves_nothing(qtbot, tmp_path):
    path = str(tmp_path / "client.ini")
    dialog = make_dialog(qtbot, ClientSettings(path), microphones=[])
    choose(dialog.codec_combo, "vp8")
    dialog.reject()
    assert ClientSettings(path).codec == "h264"


def test_ranges_match_what_the_pipeline_accepts(qtbot, tmp_path):
    dialog = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")), microphones=[])
    assert (dialog.fps_spin.minimum(), dialog.fps_spin.maximum()) == (5, 30)
    assert (dialog.vad_spin.minimum(), dialog.vad_spin.maximum()) == (0, 3)
    sizes = [dialog.size_combo.itemData(i) for i in range(dialog.size_combo.count())]
    assert sizes[0] == "320x240" and sizes[-1] == "1280x720"
    assert dialog.camera_combo.itemText(0) == "Test pattern" and dialog.camera_combo.itemText(1) == "Camera 0"


def test_no_microphone_on_this_machine_shows_the_note(qtbot, tmp_path):
    # Test machines have no sound input; the dialog must say so and fall back to a synthetic tone.
    if available_microphones():
        pytest.skip("this machine has a microphone")
    dialog = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")))
    note = dialog.findChild(QLabel, "no_microphone_note")
    assert note.isVisible() and "No microphone found" in note.text()
    assert dialog.microphone_combo.currentData() == "tone"
    items = [dialog.microphone_combo.itemText(i) for i in range(dialog.microphone_combo.count())]
    assert items == ["Tone (synthetic)", "None"]


def test_with_a_microphone_the_note_is_hidden(qtbot, tmp_path):
    dialog = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")), microphones=["USB Mic"])
    assert not dialog.findChild(QLabel, "no_microphone_note").isVisible()
    assert dialog.microphone_combo.currentData() == "default"
