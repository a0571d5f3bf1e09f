"""A meeting room: its members and the relay routes of its two streams."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from server.relay_route import RelayRoute
from server.session import Session

# Chat messages a room keeps for people who join later.
CHAT_HISTORY = 50


@dataclass(eq=False)
class Room:
    """Touched on the control loop only; the routes are what I/O loops read."""

    room_id: str
    title: str
    owner_id: int
    password_hash: str | None
    persistent: bool
    members: dict[int, Session] = field(default_factory=dict)
    audio_route: RelayRoute = field(default_factory=RelayRoute)
    video_route: RelayRoute = field(default_factory=RelayRoute)
    # The last chat messages, for people who join later.
    recent_chat: deque = field(default_factory=lambda: deque(maxlen=CHAT_HISTORY))
    # A `members` push is scheduled and will carry the list as it is then.
    members_push_due: bool = False

    def publish_routes(self) -> None:
        """Give every media connection of every member the current receivers."""
        sessions = list(self.members.values())
        self.audio_route.publish(s.audio for s in sessions if s.audio is not None)
        self.video_route.publish(s.video for s in sessions if s.video is not None)
        for session in sessions:
            if session.audio is not None:
                session.audio.route = self.audio_route
            if session.video is not None:
                session.video.route = self.video_route

    def to_json(self) -> dict:
        return {"room_id": self.room_id, "title": self.title, "owner_id": self.owner_id,
                "persistent": self.persistent, "has_password": self.password_hash is not None}

    def members_json(self) -> list[dict]:
        return [session.member_json() for session in self.members.values()]
