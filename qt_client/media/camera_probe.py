"""Which cameras this machine really has: each one is opened and must deliver a frame.

OpenCV offers no list of cameras, and opening one can block for seconds, so this
runs on a worker thread (see qt_client/workers/device_probe_worker.py), never on
the GUI thread.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

log = logging.getLogger(__name__)

SYSFS = Path("/sys/class/video4linux")  # Linux lists every /dev/videoN here, with the device's name
DEVICES = Path("/dev")
MAX_INDEX = 10


@dataclass(frozen=True)
class CameraInfo:
    """A camera that opened and delivered a frame of width x height."""

    index: int
    name: str
    width: int
    height: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.width}x{self.height})"


def probe_cameras(max_index: int = MAX_INDEX, *, sysfs: Path = SYSFS, devices: Path = DEVICES,
                  open_capture: Callable[[int], Any] = cv2.VideoCapture) -> list[CameraInfo]:
    """The cameras with an index below max_index that open and read a frame; blocks while it tries."""
    names = _sysfs_names(sysfs)
    if sys.platform.startswith("linux"):
        # OpenCV opens /dev/videoN on Linux: only indices with a device node are worth a try.
        candidates = sorted(i for i in names.keys() | _device_indices(devices) if i < max_index)
    else:
        candidates = list(range(max_index))
    found = []
    for index in candidates:
        size = _frame_size(open_capture, index)
        if size is not None:
            found.append(CameraInfo(index, names.get(index) or f"Camera {index}", *size))
    return found


def _frame_size(open_capture: Callable[[int], Any], index: int) -> tuple[int, int] | None:
    """(width, height) of the first frame camera `index` delivers; None when it cannot open or read."""
    capture = open_capture(index)
    try:
        if not capture.isOpened():
            return None
        ok, frame = capture.read()
        if not ok or frame is None:
            # Metadata nodes (a second /dev/videoN per webcam) open but never deliver a picture.
            log.info("camera %d opened but delivered no frame", index)
            return None
        height, width = frame.shape[:2]
        return width, height
    finally:
        capture.release()


def _sysfs_names(sysfs: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    for node in sysfs.glob("video*"):
        index = _index_of(node.name)
        if index is None:
            continue
        try:
            names[index] = (node / "name").read_text(errors="replace").strip()
        except OSError:
            names[index] = ""
    return names


def _device_indices(devices: Path) -> set[int]:
    return {i for node in devices.glob("video*") if (i := _index_of(node.name)) is not None}


def _index_of(node_name: str) -> int | None:
    match = re.fullmatch(r"video(\d+)", node_name)
    return int(match.group(1)) if match else None
