"""How long a refused login takes for an unknown name and for a wrong password (they should not
differ: both run one argon2 check), and how long a person's login takes while 200 wrong logins
arrive at once from another address. Starts server_main.py; prints JSON.

    .venv/bin/python -m benchmarks.login_timing [--tries 30] [--flood 200]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.desktop_session import ROOT, free_base_port
from benchmarks.soak import NO_HTTP
from protocol import PROTOCOL_VERSION
from protocol.messages import encode_message

PASSWORD = "right-password-1"


class Client:
    """One blocking control connection from a loopback address of its own."""

    def __init__(self, port: int, source: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0))
        self.next_id = 0

    def send(self, kind: str, **fields: object) -> int:
        self.next_id += 1
        self.sock.sendall(encode_message({"type": kind, "id": self.next_id, **fields}))
        return self.next_id

    def reply(self, request_id: int) -> dict:
        while True:
            length = struct.unpack("!I", self._read(4))[0]
            message = json.loads(self._read(length)[1:])
            if message.get("id") == request_id:
                return message

    def call(self, kind: str, **fields: object) -> dict:
        return self.reply(self.send(kind, **fields))

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data


def _greeted(port: int, source: str) -> Client:
    client = Client(port, source)
    client.call("hello", version=PROTOCOL_VERSION)
    return client


def _refusal_ms(port: int, tries: int, username: str, first_address: int) -> list[float]:
    """Each try from an address of its own, so that no limit is met."""
    times = []
    for n in range(tries):
        client = _greeted(port, f"127.0.{first_address + n // 250}.{1 + n % 250}")
        started = time.perf_counter()
        answer = client.call("login", username=username, password="not-the-password")
        times.append((time.perf_counter() - started) * 1000)
        assert answer["error"]["code"] == "WRONG_PASSWORD", answer
        client.sock.close()
    return times


def _login_during_flood_ms(port: int, flood: int) -> float:
    attackers = [Client(port, "127.0.9.9") for _ in range(flood)]
    person = _greeted(port, "127.0.0.2")
    for n, attacker in enumerate(attackers):
        attacker.send("hello", version=PROTOCOL_VERSION)
        attacker.send("login", username="flood-target", password=f"guess-{n}")
    started = time.perf_counter()
    answer = person.call("login", username="person", password=PASSWORD)
    took = (time.perf_counter() - started) * 1000
    assert "result" in answer, answer
    for attacker in attackers:
        attacker.reply(2)
        attacker.sock.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=30)
    parser.add_argument("--flood", type=int, default=200)
    args = parser.parse_args()
    port = free_base_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1",
                                   "--port", str(port), "--db", f"sqlite:///{Path(workdir) / 'm.db'}",
                                   "--log-level", "WARNING", "--data-dir", str(Path(workdir) / "data"),
                                   *NO_HTTP,
                                   # In clear: this times the server's checks, which TLS does not change.
                                   "--no-tls"], cwd=ROOT)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    setup = _greeted(port, "127.0.0.4")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            for name in ("known", "person", "flood-target"):
                setup.call("register", username=name, password=PASSWORD)
            unknown = _refusal_ms(port, args.tries, "nobody-has-this-name", 10)
            wrong = _refusal_ms(port, args.tries, "known", 20)
            during_flood = _login_during_flood_ms(port, args.flood)
        finally:
            server.terminate()
            server.wait(10)
    print(json.dumps({
        "unknown_name_ms": {"median": round(statistics.median(unknown), 1), "min": round(min(unknown), 1)},
        "wrong_password_ms": {"median": round(statistics.median(wrong), 1), "min": round(min(wrong), 1)},
        "tries": args.tries,
        "login_during_flood_ms": round(during_flood, 1), "flood": args.flood,
    }))


if __name__ == "__main__":
    main()
