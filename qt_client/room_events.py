"""What changed in a room between two member lists, said the way the chat shows it."""

from __future__ import annotations

from typing import Any

Members = dict[int, dict[str, Any]]


def display_name(member: dict[str, Any]) -> str:
    return str(member.get("display_name") or member.get("username") or "Someone")


def by_id(members: list[dict[str, Any]]) -> Members:
    return {int(member["user_id"]): member for member in members}


def room_events(before: Members, after: Members, me: int | None) -> list[str]:
    """"Bob joined", "Bob left", "Ada started presenting", ... for the changes, oneself left out."""
    events = []
    for user_id, member in after.items():
        if user_id == me:
            continue
        earlier = before.get(user_id)
        if earlier is None:
            events.append(f"{display_name(member)} joined")
        if member.get("screen") and not (earlier or {}).get("screen"):
            events.append(f"{display_name(member)} started presenting")
        elif earlier is not None and earlier.get("screen") and not member.get("screen"):
            events.append(f"{display_name(member)} stopped presenting")
    for user_id, member in before.items():
        if user_id not in after and user_id != me:
            events.append(f"{display_name(member)} left")
    return events


def presenter_name(members: Members, me: int | None) -> str | None:
    """The name of someone else sharing a screen, if anyone is."""
    for user_id, member in members.items():
        if member.get("screen") and user_id != me:
            return display_name(member)
    return None
