"""A logged-in participant: who they are and their three connections."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocol.media import StreamKind
from protocol.messages import MEDIA_STATE_DEFAULTS, avatar_hash
from reactor.tcp_connection import TcpConnection
from server.media_peer import MediaPeer
from server.storage.records import UserRecord

if TYPE_CHECKING:
    from server.room import Room


@dataclass(eq=False)
class ControlClient:
    """One control connection; touched on the control loop only."""

    conn: TcpConnection
    # The peer's address as rate limits and the hashing queue key it (server.guess_limits).
    address: str = ""
    hello_done: bool = False
    session: Session | None = None
    last_seen: float = field(default_factory=time.monotonic)
    closed: bool = False
    # Set at the first login: the login timeout no longer applies (after a logout, heartbeats do).
    logged_in_once: bool = False
    # Bytes of replies and pushes handed to the connection (see ControlService._queue).
    sent_bytes: int = 0


@dataclass(eq=False)
class Session:
    """Lives from login until logout, a second login, a heartbeat timeout or
    the control connection's close; touched on the control loop only."""

    user: UserRecord
    token: str
    control: ControlClient
    audio: MediaPeer | None = None
    video: MediaPeer | None = None
    room: Room | None = None
    room_password: str | None = None
    # A create_room is under way (waiting for the database or a hash): another is refused at once,
    # so that two creates sent together cannot both make a room.
    creating_room: bool = False
    ended: bool = False
    # What the participant says it is sending (`set_media_state`).
    media_state: dict[str, bool] = field(default_factory=lambda: dict(MEDIA_STATE_DEFAULTS))
    # Of the user's avatar: member lists go to everyone on every change, the image does not.
    avatar_hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.avatar_hash = avatar_hash(self.user.avatar)

    @property
    def user_id(self) -> int:
        return self.user.id

    def peer(self, stream: StreamKind) -> MediaPeer | None:
        return self.audio if stream is StreamKind.AUDIO else self.video

    def set_peer(self, stream: StreamKind, peer: MediaPeer | None) -> None:
        if stream is StreamKind.AUDIO:
            self.audio = peer
        else:
            self.video = peer

    def set_user(self, user: UserRecord) -> None:
        """The account as the database now has it (after a profile change)."""
        self.user = user
        self.avatar_hash = avatar_hash(user.avatar)

    def member_json(self) -> dict:
        return {"user_id": self.user.id, "username": self.user.username,
                "display_name": self.user.display_name, "avatar": self.avatar_hash, **self.media_state}
