"""probe_cameras: only cameras that open and deliver a frame are listed, named as the system names them."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from qt_client.media.camera_probe import CameraInfo, probe_cameras


class FakeCapture:
    """cv2.VideoCapture stand-in: index -> frame (None: opens but delivers nothing); absent: no camera."""

    frames: ClassVar[dict[int, np.ndarray | None]] = {}
    released: ClassVar[list[int]] = []

    def __init__(self, index: int) -> None:
        self.index = index

    def isOpened(self) -> bool:
        return self.index in self.frames

    def read(self) -> tuple[bool, np.ndarray | None]:
        frame = self.frames.get(self.index)
        return frame is not None, frame

    def release(self) -> None:
        self.released.append(self.index)


def video_nodes(root: Path, names: dict[int, str]) -> Path:
    for index, name in names.items():
        (root / f"video{index}").mkdir(parents=True)
        (root / f"video{index}" / "name").write_text(name + "\n")
    return root


def test_no_camera_on_this_machine_gives_an_empty_list_quickly() -> None:
    started = time.monotonic()
    assert probe_cameras() == []
    assert time.monotonic() - started < 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device nodes are Linux's")
def test_only_cameras_that_deliver_a_frame_are_listed_with_their_names(tmp_path: Path) -> None:
    sysfs = video_nodes(tmp_path / "sys", {0: "HD Webcam", 1: "HD Webcam", 2: "Capture card", 12: "Far"})
    FakeCapture.frames = {0: np.zeros((720, 1280, 3), np.uint8), 1: None, 12: np.zeros((4, 4, 3), np.uint8)}
    FakeCapture.released = []
    found = probe_cameras(10, sysfs=sysfs, devices=tmp_path / "dev", open_capture=FakeCapture)
    # 1 is a webcam's metadata node (opens, no picture), 2 does not open, 12 is beyond max_index.
    assert found == [CameraInfo(0, "HD Webcam", 1280, 720)]
    assert found[0].label == "HD Webcam (1280x720)"
    assert sorted(FakeCapture.released) == [0, 1, 2]  # every device opened is given back


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device nodes are Linux's")
def test_a_device_node_without_a_sysfs_name_gets_a_plain_name(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "video3").touch()
    FakeCapture.frames = {3: np.zeros((480, 640, 3), np.uint8)}
    found = probe_cameras(sysfs=tmp_path / "nosys", devices=tmp_path / "dev", open_capture=FakeCapture)
    assert found == [CameraInfo(3, "Camera 3", 640, 480)]
