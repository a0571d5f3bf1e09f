"""The desktop client's preferences, kept in an INI file so users can read and edit them."""

from __future__ import annotations

import os

from PyQt5.QtCore import QSettings

from qt_client.media.face_effect import MODES as FACE_EFFECTS

CODECS = ("h264", "jpeg", "vp8")
SIZES = ("320x240", "640x480", "800x600", "960x540", "1280x720")
SCREEN_SIZES = ("960x540", "1280x720", "1600x900", "1920x1080", "native")  # a shared screen is sent no larger
SCREEN_FPS_RANGE = (5, 10)  # slides and code need few pictures a second; each is large


class ClientSettings:
    """Typed access to QSettings: every value has a default, so a fresh install just works."""

    def __init__(self, path: str | None = None) -> None:
        # A path lets tests (and portable installs) keep the file out of the user's config dir.
        if path is None:
            self._qs = QSettings(QSettings.IniFormat, QSettings.UserScope, "mini-meeting", "client")
        else:
            self._qs = QSettings(path, QSettings.IniFormat)

    def sync(self) -> None:
        """Write pending changes now, so another process (or a new instance) sees them."""
        self._qs.sync()

    def _str(self, key: str, default: str) -> str:
        value = self._qs.value(key, default)
        return default if value is None else str(value)

    def _int(self, key: str, default: int) -> int:
        # INI files hold text; a hand-edited bad value falls back to the default rather than crashing.
        try:
            return int(self._qs.value(key, default))
        except (TypeError, ValueError):
            return default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._qs.value(key, default)
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes", "on")

    @property
    def server(self) -> str:
        return self._str("server", "127.0.0.1:9000")

    @server.setter
    def server(self, value: str) -> None:
        self._qs.setValue("server", value)

    @property
    def last_user(self) -> str:
        return self._str("last_user", "")

    @last_user.setter
    def last_user(self, value: str) -> None:
        self._qs.setValue("last_user", value)

    @property
    def camera(self) -> str:
        """"testpattern" or a camera index as text ("0", "1", ...)."""
        return self._str("camera", "testpattern")

    @camera.setter
    def camera(self, value: str) -> None:
        self._qs.setValue("camera", value)

    @property
    def microphone(self) -> str:
        """"default" (the system's), a device name, "tone", "silence" or "wav:PATH"."""
        value = self._str("microphone", "default")
        return "silence" if value == "none" else value  # "none" was what older versions called silence

    @microphone.setter
    def microphone(self, value: str) -> None:
        self._qs.setValue("microphone", value)

    @property
    def codec(self) -> str:
        value = self._str("codec", "h264")
        return value if value in CODECS else "h264"

    @codec.setter
    def codec(self, value: str) -> None:
        if value not in CODECS:
            raise ValueError(f"unknown codec {value!r}; expected one of {CODECS}")
        self._qs.setValue("codec", value)

    @property
    def size(self) -> str:
        return self._str("size", "640x480")

    @size.setter
    def size(self, value: str) -> None:
        self._qs.setValue("size", value)

    @property
    def fps(self) -> int:
        return self._int("fps", 15)

    @fps.setter
    def fps(self, value: int) -> None:
        self._qs.setValue("fps", int(value))

    @property
    def vad_aggressiveness(self) -> int:
        return min(3, max(0, self._int("vad_aggressiveness", 2)))

    @vad_aggressiveness.setter
    def vad_aggressiveness(self, value: int) -> None:
        self._qs.setValue("vad_aggressiveness", int(value))

    @property
    def echo_cancelling(self) -> bool:
        return self._bool("echo_cancelling", True)

    @echo_cancelling.setter
    def echo_cancelling(self, value: bool) -> None:
        self._qs.setValue("echo_cancelling", bool(value))

    @property
    def face_effect(self) -> str:
        value = self._str("face_effect", "pixelate")
        return value if value in FACE_EFFECTS else "pixelate"

    @face_effect.setter
    def face_effect(self, value: str) -> None:
        if value not in FACE_EFFECTS:
            raise ValueError(f"unknown face effect {value!r}; expected one of {FACE_EFFECTS}")
        self._qs.setValue("face_effect", value)

    @property
    def screen_max_size(self) -> str:
        """The largest size a shared screen is sent at ("1920x1080", ...), or "native"."""
        value = self._str("screen_max_size", "1920x1080")
        return value if value in SCREEN_SIZES else "1920x1080"

    @screen_max_size.setter
    def screen_max_size(self, value: str) -> None:
        if value not in SCREEN_SIZES:
            raise ValueError(f"unknown screen size {value!r}; expected one of {SCREEN_SIZES}")
        self._qs.setValue("screen_max_size", value)

    @property
    def screen_fps(self) -> int:
        low, high = SCREEN_FPS_RANGE
        return min(high, max(low, self._int("screen_fps", low)))

    @screen_fps.setter
    def screen_fps(self, value: int) -> None:
        self._qs.setValue("screen_fps", int(value))

    @property
    def ca_file(self) -> str:
        """A private CA's certificate (PEM) to verify servers with instead of the system's; "" for none."""
        return self._str("ca_file", "")

    @ca_file.setter
    def ca_file(self, value: str) -> None:
        self._qs.setValue("ca_file", value)

    @property
    def known_servers_path(self) -> str:
        """Where server keys trusted on first use are pinned: beside this settings file."""
        return os.path.join(os.path.dirname(self._qs.fileName()), "known_servers.json")
