"""The meeting service: accounts, sessions, rooms, relay, storage (issue 3)."""
