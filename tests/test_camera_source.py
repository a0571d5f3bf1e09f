"""CameraSource: with no camera there, opening one fails at once with a message a user can act on."""

from __future__ import annotations

import time

import pytest

from qt_client.media.camera_source import CameraSource


def test_a_missing_camera_is_a_clear_error_and_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^no camera at index 99$"):
        CameraSource(99, 640, 480, 15)
    assert time.monotonic() - started < 5
