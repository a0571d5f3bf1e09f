"""Fails a test on any Qt warning that a QObject was used from the wrong thread.

Qt only warns (and then misbehaves: a timer that never fires, a crash later) when
a worker's timer is started from the GUI thread or a thread dies running; these
warnings are bugs, so a test that provokes one fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

CROSS_THREAD_WARNINGS = (
    "Timers cannot be started from another thread",
    "Timers cannot be stopped from another thread",
    "Cannot create children for a parent that is in a different thread",
    "QObject::killTimer",
    "QObject::startTimer",
    "QThread: Destroyed while thread is still running",
    "QSocketNotifier: Socket notifiers cannot be enabled or disabled from another thread",
)


@pytest.fixture(autouse=True)
def no_cross_thread_qt_warnings() -> Iterator[None]:
    """Active in every test that has imported Qt; the others never load it."""
    if "PyQt5.QtCore" not in sys.modules:
        yield
        return
    from PyQt5.QtCore import qInstallMessageHandler

    seen: list[str] = []

    def handler(_mode: object, _context: object, message: str) -> None:
        if any(warning in message for warning in CROSS_THREAD_WARNINGS):
            seen.append(message)
        sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)
    assert not seen, f"Qt objects used from the wrong thread: {seen}"
