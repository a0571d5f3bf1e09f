"""Trusting a server's key, end to end: the bot's --tofu and --trust-fingerprint against a real
self-signed server process, a key that changes, and the rule that all three connections show one key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from protocol.fingerprint import grouped
from qt_client.net.errors import ServerKeyChangedError, UntrustedServerError
from qt_client.net.meeting_client import MeetingClient
from qt_client.net.pin_store import PinStore
from qt_client.net.server_trust import ServerTrust
from reactor.tls_context import server_context
from server.tls_identity import load_identity, make_self_signed
from tests.conftest import call_in_loop, free_base_port, running_meeting_server
from tests.test_tls_server import server_process
from tests.tls_support import ca_trust, meeting_client, shared_identity

ROOT = Path(__file__).resolve().parents[1]


def _bot(port: int, pins: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}",
                           "--user", "bot", "--password", "bot-password", "--create-room", "--video", "none",
                           "--audio", "none", "--seconds", "0.2", "--linger", "0", "--pin-store", str(pins),
                           *flags], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_bot_trust_on_first_use_then_the_same_key_then_a_changed_key_refused(tmp_path):
    pins = tmp_path / "known_servers.json"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    with server_process(first_dir) as server:
        port = server.port
        key = server.stdout().strip().rsplit(" ", 1)[-1]

        unknown = _bot(port, pins)
        assert unknown.returncode == 1
        assert key in unknown.stderr
        assert "--tofu" in unknown.stderr and "--trust-fingerprint" in unknown.stderr
        assert not pins.exists()  # nothing pinned without consent

        first_use = _bot(port, pins, "--tofu")
        assert first_use.returncode == 0, first_use.stderr
        assert json.loads(pins.read_text()) == {f"127.0.0.1:{port}": key}

        same_key = _bot(port, pins)  # pinned now: no flag needed
        assert same_key.returncode == 0, same_key.stderr

    # The same address, another key (the server reinstalled, or someone in the middle).
    with server_process(second_dir, port=port) as impostor:
        new_key = impostor.stdout().strip().rsplit(" ", 1)[-1]
        assert new_key != key
        changed = _bot(port, pins)
        assert changed.returncode == 1
        assert "CHANGED" in changed.stderr and key in changed.stderr and new_key in changed.stderr
        assert _bot(port, pins, "--tofu").returncode == 1  # --tofu never overrides a pin
        assert json.loads(pins.read_text()) == {f"127.0.0.1:{port}": key}
        assert _bot(port, pins, "--trust-fingerprint", grouped(new_key)).returncode == 0
        assert _bot(port, pins, "--trust-fingerprint", key).returncode == 1


def test_a_client_trusting_only_system_cas_refuses_a_self_signed_server(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        client = MeetingClient("127.0.0.1", server.control_port, request_timeout=3.0)
        try:
            with pytest.raises(UntrustedServerError) as refused:
                client.connect()
        finally:
            client.close()
        assert refused.value.fingerprint == shared_identity().fingerprint
        assert "self-signed" in str(refused.value)


def test_asked_once_on_first_use_and_pinned_then_never_asked_again(tmp_path):
    pins = PinStore(tmp_path / "pins.json")
    asked: list[tuple[str, int, str]] = []

    def ask(host: str, port: int, fingerprint: str, _reason: str) -> bool:
        asked.append((host, port, fingerprint))
        return True

    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        port = server.control_port
        for name in ("first", "second"):
            trust = ServerTrust(pins=pins, ask=ask)
            with MeetingClient("127.0.0.1", port, request_timeout=3.0, trust=trust) as client:
                client.connect()
                client.register(name, "secret-pw")
                client.login(name, "secret-pw")  # audio and video pass the pin too
        no = ServerTrust(pins=PinStore(tmp_path / "other.json"), ask=lambda *_: False)
        declined = MeetingClient("127.0.0.1", port, request_timeout=3.0, trust=no)
        with declined, pytest.raises(UntrustedServerError):
            declined.connect()
    assert asked == [("127.0.0.1", port, shared_identity().fingerprint)]
    assert pins.get("127.0.0.1", port) == shared_identity().fingerprint


def test_a_server_with_a_ca_signed_certificate_needs_no_pin(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server, \
            meeting_client("127.0.0.1", server.control_port, trust=ca_trust()) as client:
        client.connect()
        client.register("verified", "secret-pw")
        assert client.login("verified", "secret-pw")["token"]


def test_audio_and_video_must_present_the_key_control_presented(tmp_path):
    """Both certificates are CA-valid here: only the one-key rule can refuse the video port."""
    make_self_signed(tmp_path / "other.crt", tmp_path / "other.key", names=["other.test"])
    other = load_identity(str(tmp_path / "other.crt"), str(tmp_path / "other.key"), str(tmp_path))
    bundle = tmp_path / "both.pem"
    bundle.write_text(Path(shared_identity().cert_file).read_text() + Path(other.cert_file).read_text())
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        video = server.video_server
        call_in_loop(video.loop, lambda: setattr(video, "tls_context",
                                                 server_context(other.cert_file, other.key_file)))
        with meeting_client("127.0.0.1", server.control_port, trust=ServerTrust(cafile=str(bundle)),
                            request_timeout=3.0) as client:
            client.connect()
            client.register("split", "secret-pw")
            with pytest.raises(ServerKeyChangedError) as refused:
                client.login("split", "secret-pw")
        assert refused.value.expected == shared_identity().fingerprint
        assert refused.value.presented == other.fingerprint


def test_a_key_that_changes_during_a_reconnect_ends_the_session_for_good(tmp_path):
    port = free_base_port()
    other = load_identity(None, None, str(tmp_path / "other"))
    db = f"sqlite:///{tmp_path}/m.db"
    with running_meeting_server(db, port=port):
        client = meeting_client("127.0.0.1", port, request_timeout=3.0)
        pushes = client.push_queue()
        client.connect()
        client.register("steady", "secret-pw")
        client.login("steady", "secret-pw")
    try:
        with running_meeting_server(db, port=port, cert_file=other.cert_file, key_file=other.key_file):
            while True:
                push = pushes.get(timeout=15)
                if push["type"] == "reconnect_failed":
                    break
            assert push["error"]["code"] == "SERVER_KEY_CHANGED"
            assert isinstance(client.trust_error, ServerKeyChangedError)
            assert client.trust_error.presented == other.fingerprint
    finally:
        client.close()
