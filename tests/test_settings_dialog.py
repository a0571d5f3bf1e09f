"""SettingsDialog: shows what is used, saves on OK/Apply, says what changed, probes cameras off the GUI."""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any

import pytest
from PyQt5.QtWidgets import QLabel, QPushButton

from qt_client.media.camera_probe import CameraInfo
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.settings_dialog import LOOKING, SettingsDialog, available_microphones
from qt_client.workers.device_probe_worker import CameraProbe

WEBCAM = CameraInfo(0, "HD Webcam", 1280, 720)
CAPTURE = CameraInfo(2, "Capture card", 1920, 1080)


def make_dialog(qtbot: Any, settings: ClientSettings, microphones: list[str] | None = None,
                **kwargs: Any) -> SettingsDialog:
    kwargs.setdefault("cameras", [] if "camera_probe" not in kwargs else None)
    dialog = SettingsDialog(settings, microphones=microphones, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def choose(combo: Any, data: str) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def items(combo: Any) -> list[tuple[str, Any]]:
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_ok_saves_values_that_survive_a_new_settings_object(qtbot: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "client.ini")
    dialog = make_dialog(qtbot, ClientSettings(path), microphones=["USB Mic"], cameras=[WEBCAM, CAPTURE])
    choose(dialog.camera_combo, "2")
    choose(dialog.microphone_combo, "USB Mic")
    choose(dialog.codec_combo, "jpeg")
    choose(dialog.size_combo, "1280x720")
    dialog.fps_spin.setValue(25)
    dialog.vad_spin.setValue(3)
    dialog.echo_check.setChecked(False)
    choose(dialog.face_combo, "box")
    choose(dialog.screen_size_combo, "native")
    dialog.screen_fps_spin.setValue(8)
    dialog.accept()
    s = ClientSettings(path)
    assert (s.camera, s.microphone, s.codec, s.size) == ("2", "USB Mic", "jpeg", "1280x720")
    assert (s.fps, s.vad_aggressiveness, s.echo_cancelling, s.face_effect) == (25, 3, False, "box")
    assert (s.screen_max_size, s.screen_fps) == ("native", 8)
    again = make_dialog(qtbot, s, microphones=["USB Mic"], cameras=[WEBCAM, CAPTURE])  # shown next time
    assert again.camera_combo.currentText() == "Capture card (1920x1080)" and again.fps_spin.value() == 25
    assert again.screen_size_combo.currentData() == "native" and again.screen_fps_spin.value() == 8


def test_cancel_saves_nothing(qtbot: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "client.ini")
    dialog = make_dialog(qtbot, ClientSettings(path), microphones=[])
    applied: list[dict] = []
    dialog.settings_applied.connect(applied.append)
    choose(dialog.codec_combo, "vp8")
    dialog.reject()
    assert ClientSettings(path).codec == "h264" and applied == []


def test_ok_and_apply_announce_only_what_changed(qtbot: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "client.ini")
    dialog = make_dialog(qtbot, ClientSettings(path), microphones=[], cameras=[WEBCAM])
    applied: list[dict] = []
    dialog.settings_applied.connect(applied.append)
    choose(dialog.microphone_combo, "tone")
    dialog.screen_fps_spin.setValue(10)
    qtbot.mouseClick(dialog.apply_button, 1)  # Apply: saved at once, the dialog stays open mid-call
    assert applied == [{"microphone": "tone", "screen_fps": 10}] and dialog.isVisible()
    assert ClientSettings(path).microphone == "tone"
    choose(dialog.camera_combo, "0")
    dialog.fps_spin.setValue(30)
    dialog.accept()
    assert applied[1:] == [{"camera": "0", "fps": 30}]
    nothing = make_dialog(qtbot, ClientSettings(path), microphones=[], cameras=[WEBCAM])
    nothing.settings_applied.connect(applied.append)
    nothing.accept()
    assert len(applied) == 2  # nothing changed, nothing to restart


def test_ranges_match_what_the_pipeline_accepts(qtbot: Any, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")), microphones=[])
    assert (dialog.fps_spin.minimum(), dialog.fps_spin.maximum()) == (5, 30)
    assert (dialog.vad_spin.minimum(), dialog.vad_spin.maximum()) == (0, 3)
    assert (dialog.screen_fps_spin.minimum(), dialog.screen_fps_spin.maximum()) == (5, 10)
    assert dialog.screen_fps_spin.value() == 5 and dialog.screen_size_combo.currentData() == "1920x1080"
    sizes = [dialog.size_combo.itemData(i) for i in range(dialog.size_combo.count())]
    assert sizes[0] == "320x240" and sizes[-1] == "1280x720"
    screen = [dialog.screen_size_combo.itemData(i) for i in range(dialog.screen_size_combo.count())]
    assert screen[-2:] == ["1920x1080", "native"]


def test_an_injected_camera_list_is_shown_exactly(qtbot: Any, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")), cameras=[WEBCAM, CAPTURE])
    assert items(dialog.camera_combo) == [("Test pattern", "testpattern"), ("HD Webcam (1280x720)", "0"),
                                          ("Capture card (1920x1080)", "2")]
    assert dialog.camera_combo.currentData() == "testpattern"


def test_a_saved_camera_that_is_gone_stays_selected_and_says_so(qtbot: Any, tmp_path: Path) -> None:
    settings = ClientSettings(str(tmp_path / "c.ini"))
    settings.camera = "1"
    dialog = make_dialog(qtbot, settings, cameras=[WEBCAM])
    assert dialog.camera_combo.currentText() == "Camera 1 (not found)"


def test_cameras_are_looked_for_off_the_gui_thread_and_kept(qtbot: Any, tmp_path: Path) -> None:
    release = threading.Event()
    calls: list[threading.Thread] = []

    def slow_probe() -> list[CameraInfo]:
        calls.append(threading.current_thread())
        assert release.wait(5)  # as cv2.VideoCapture can block for seconds
        return [WEBCAM]

    probe = CameraProbe(slow_probe)
    dialog = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")), camera_probe=probe)
    assert items(dialog.camera_combo) == [("Test pattern", "testpattern"), (LOOKING, None)]
    assert not dialog.camera_combo.model().item(1).isEnabled()  # a placeholder cannot be chosen
    choose(dialog.codec_combo, "vp8")  # the dialog answers while the probe is blocked
    qtbot.wait(100)
    assert dialog.codec_combo.currentData() == "vp8" and dialog.camera_combo.itemText(1) == LOOKING
    release.set()
    qtbot.waitUntil(lambda: dialog.camera_combo.count() == 2 and dialog.camera_combo.itemData(1) == "0",
                    timeout=2000)
    assert items(dialog.camera_combo) == [("Test pattern", "testpattern"), ("HD Webcam (1280x720)", "0")]
    assert calls[0] is not threading.main_thread()

    second = make_dialog(qtbot, ClientSettings(str(tmp_path / "c.ini")), camera_probe=probe)
    assert second.camera_combo.itemData(1) == "0" and len(calls) == 1  # kept: no second look
    qtbot.mouseClick(second.findChild(QPushButton, "refresh_cameras"), 1)
    assert second.camera_combo.itemText(1) == LOOKING
    qtbot.waitUntil(lambda: second.camera_combo.itemData(1) == "0", timeout=2000)
    assert len(calls) == 2


def test_without_a_camera_the_default_probe_leaves_the_test_pattern(qtbot: Any, tmp_path: Path) -> None:
    dialog = SettingsDialog(ClientSettings(str(tmp_path / "c.ini")))  # as the app builds it
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: LOOKING not in dict(items(dialog.camera_combo)), timeout=5000)
    assert items(dialog.camera_combo) == [("Test pattern", "testpattern")]


def test_the_microphone_shown_is_the_one_saved_and_synthetic_sources_are_offered(qtbot: Any,
                                                                              tmp_path: Path) -> None:
    settings = ClientSettings(str(tmp_path / "c.ini"))
    dialog = make_dialog(qtbot, settings, microphones=["USB Mic"])
    assert dialog.microphone_combo.currentData() == settings.microphone == "default"
    assert items(dialog.microphone_combo) == [("System default", "default"), ("USB Mic", "USB Mic"),
                                              ("Tone (test)", "tone"), ("Silence", "silence"),
                                              ("WAV file…", "wav:")]
    assert not dialog.findChild(QLabel, "no_microphone_note").isVisible()


def test_no_microphone_on_this_machine_shows_the_note_and_what_default_means(qtbot: Any,
                                                                          tmp_path: Path) -> None:
    if available_microphones():
        pytest.skip("this machine has a microphone")
    settings = ClientSettings(str(tmp_path / "c.ini"))
    dialog = make_dialog(qtbot, settings)
    note = dialog.findChild(QLabel, "no_microphone_note")
    assert note.isVisible() and "No microphone found" in note.text() and "silence" in note.text()
    # Shown as saved, not dressed up as the tone that would not be used.
    assert dialog.microphone_combo.currentData() == "default"
    assert [text for text, _ in items(dialog.microphone_combo)] == [
        "System default (none found)", "Tone (test)", "Silence", "WAV file…"]


def test_a_missing_saved_microphone_stays_selected_and_says_so(qtbot: Any, tmp_path: Path) -> None:
    settings = ClientSettings(str(tmp_path / "c.ini"))
    settings.microphone = "USB Mic"
    dialog = make_dialog(qtbot, settings, microphones=[])
    assert dialog.microphone_combo.currentText() == "USB Mic (not connected)"
    assert dialog.values()["microphone"] == "USB Mic"


def test_a_wav_file_is_chosen_in_a_file_dialog_and_saved_as_its_path(qtbot: Any, tmp_path: Path) -> None:
    clip = tmp_path / "voice.wav"
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 160)
    path = str(tmp_path / "c.ini")
    dialog = make_dialog(qtbot, ClientSettings(path), microphones=[])
    choose(dialog.microphone_combo, "tone")
    choose(dialog.microphone_combo, "wav:")
    assert dialog.wav_dialog is not None and dialog.wav_dialog.isVisible()
    assert dialog.values()["microphone"] == "tone"  # until a file is picked
    dialog.wav_dialog.reject()
    assert dialog.microphone_combo.currentData() == "tone"
    choose(dialog.microphone_combo, "wav:")
    dialog.wav_dialog.selectFile(str(clip))
    dialog.wav_dialog.accept()
    assert dialog.microphone_combo.currentText() == "WAV: voice.wav"
    dialog.accept()
    assert ClientSettings(path).microphone == f"wav:{clip}"
    again = make_dialog(qtbot, ClientSettings(path), microphones=[])
    assert again.microphone_combo.currentText() == "WAV: voice.wav"
