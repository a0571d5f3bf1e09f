"""Immutable rows handed out by storage, so that threads can share them without locks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    password_hash: str
    display_name: str
    signature: str
    avatar: bytes | None
    created_at: float


@dataclass(frozen=True)
class RoomRecord:
    room_id: str
    owner_id: int
    title: str
    password_hash: str | None
    persistent: bool
    created_at: float


@dataclass(frozen=True)
class ChatRecord:
    room_id: str
    user_id: int
    username: str
    display_name: str  # the sender's name now, not when the line was written
    text: str
    sent_at: float
