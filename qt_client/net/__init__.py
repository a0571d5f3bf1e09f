"""The Qt-free client session: control, audio and video connections, login, rooms, reconnect.

Shared by the desktop client, the headless bot and the tests; never imports PyQt5.
"""

from qt_client.net.avatar import decode_avatar, encode_avatar
from qt_client.net.clock_offset import ClockOffsetEstimator
from qt_client.net.errors import (
    ClientTimeout,
    NotConnectedError,
    ServerError,
    ServerKeyChangedError,
    UntrustedServerError,
)
from qt_client.net.frame_connection import MAX_MEDIA_PAYLOAD
from qt_client.net.meeting_client import MeetingClient
from qt_client.net.pin_store import PinStore
from qt_client.net.server_trust import ServerTrust

__all__ = [
    "MAX_MEDIA_PAYLOAD", "ClientTimeout", "ClockOffsetEstimator", "MeetingClient", "NotConnectedError",
    "PinStore", "ServerError", "ServerKeyChangedError", "ServerTrust", "UntrustedServerError",
    "decode_avatar", "encode_avatar",
]
