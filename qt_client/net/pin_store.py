"""Server keys pinned on first use: host:port -> SHA-256 of the public key, in one small JSON file."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


def default_pin_path() -> Path:
    """~/.config/mini-meeting/known_servers.json (XDG_CONFIG_HOME respected), beside the client's settings."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mini-meeting" / "known_servers.json"


class PinStore:
    """Like ssh's known_hosts: one fingerprint per server address, kept across runs.

    Read and written whole (a handful of entries); a write goes to a temporary
    file renamed over the old one, so a crash never leaves half a file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_pin_path()
        self._lock = threading.Lock()

    @staticmethod
    def key(host: str, port: int) -> str:
        return f"{host.lower()}:{port}"

    def get(self, host: str, port: int) -> str | None:
        with self._lock:
            return self._read().get(self.key(host, port))

    def pin(self, host: str, port: int, fingerprint: str) -> None:
        with self._lock:
            pins = self._read()
            pins[self.key(host, port)] = fingerprint
            self._write(pins)

    def forget(self, host: str, port: int) -> None:
        """For a server whose key changed on purpose (the operator says so): the next use asks again."""
        with self._lock:
            pins = self._read()
            if pins.pop(self.key(host, port), None) is not None:
                self._write(pins)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: not a JSON object of pinned keys")
        return {str(key): str(value) for key, value in data.items()}

    def _write(self, pins: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
