"""ClientSettings: defaults for a fresh install, and values that survive a restart."""

from __future__ import annotations

import os

import pytest

from qt_client.ui.client_settings import ClientSettings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_fresh_file_gives_defaults(tmp_path, qapp):
    s = ClientSettings(str(tmp_path / "client.ini"))
    assert (s.server, s.last_user, s.camera, s.microphone) == ("127.0.0.1:9000", "", "testpattern", "default")
    assert (s.codec, s.size, s.fps, s.vad_aggressiveness) == ("h264", "640x480", 15, 2)
    assert s.echo_cancelling is True
    assert s.face_effect == "pixelate"
    assert (s.screen_max_size, s.screen_fps) == ("1920x1080", 5)


def test_values_survive_a_new_instance(tmp_path, qapp):
    path = str(tmp_path / "client.ini")
    s = ClientSettings(path)
    s.server, s.last_user, s.camera, s.microphone = "meet.example:9100", "ada", "1", "tone"
    s.codec, s.size, s.fps, s.vad_aggressiveness = "vp8", "1280x720", 30, 0
    s.echo_cancelling, s.face_effect = False, "blur"
    s.screen_max_size, s.screen_fps = "native", 10
    s.sync()
    again = ClientSettings(path)
    assert (again.server, again.last_user, again.camera, again.microphone) == (
        "meet.example:9100", "ada", "1", "tone")
    assert (again.codec, again.size, again.fps, again.vad_aggressiveness) == ("vp8", "1280x720", 30, 0)
    assert again.echo_cancelling is False
    assert again.face_effect == "blur"
    assert (again.screen_max_size, again.screen_fps) == ("native", 10)
    assert "meet.example" in (tmp_path / "client.ini").read_text()  # a readable INI file


def test_hand_edited_garbage_falls_back_to_defaults(tmp_path, qapp):
    path = tmp_path / "client.ini"
    path.write_text("[General]\nfps=fast\ncodec=mpeg2\nvad_aggressiveness=9\necho_cancelling=false\n"
                    "screen_max_size=8k\nscreen_fps=60\n")
    s = ClientSettings(str(path))
    assert (s.fps, s.codec, s.vad_aggressiveness, s.echo_cancelling) == (15, "h264", 3, False)
    assert (s.screen_max_size, s.screen_fps) == ("1920x1080", 10)


def test_the_old_name_for_silence_reads_as_silence(tmp_path, qapp):
    path = tmp_path / "client.ini"
    path.write_text("[General]\nmicrophone=none\n")
    assert ClientSettings(str(path)).microphone == "silence"


def test_unknown_codec_is_refused(tmp_path, qapp):
    s = ClientSettings(str(tmp_path / "client.ini"))
    with pytest.raises(ValueError):
        s.codec = "mpeg2"
    with pytest.raises(ValueError):
        s.screen_max_size = "8k"
