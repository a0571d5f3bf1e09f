"""The bot end to end: three bots meet through a real server on loopback."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import running_meeting_server
from tests.tls_support import bot_tls_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEECH_WAV = os.path.join(ROOT, "tests", "data", "speech_with_gaps.wav")


def _start_bot(port: int, user: str, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}", "--user", user,
               "--password", "bot-password", *bot_tls_flags(), *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _first_line_room(bot: subprocess.Popen) -> str:
    line = bot.stdout.readline()
    assert line, bot.stderr.read()
    return json.loads(line)["room"]


def _report(bot: subprocess.Popen) -> dict:
    stdout, stderr = bot.communicate(timeout=90)
    assert bot.returncode == 0, stderr
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["errors"] == [], report["errors"]
    return report


@pytest.fixture
def server(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", threads=1) as server:
        yield server


@pytest.mark.parametrize("codec", ["jpeg", "h264"])
def test_three_bots_see_and_hear_each_other(server, codec):
    common = ["--codec", codec, "--size", "320x240", "--fps", "15", "--seconds", "3",
              "--wait-members", "3", "--linger", "1"]
    first = _start_bot(server.control_port, "bot-a", "--create-room", *common)
    room = _first_line_room(first)
    others = [_start_bot(server.control_port, name, "--room", room, *common) for name in ("bot-b", "bot-c")]
    reports = {r["user"]: r for r in (_report(bot) for bot in [first, *others])}
    assert set(reports) == {"bot-a", "bot-b", "bot-c"}
    for receiver, report in reports.items():
        assert set(report["peers"]) == set(reports) - {receiver}
        for sender, seen in report["peers"].items():
            sent = reports[sender]["sent"]
            assert sent["video_frames"] >= 40 and sent["audio_frames"] >= 100
            assert sent["skipped_while_disconnected"] == 0  # no outage, nothing skipped
            assert seen["video_frames"] >= 0.95 * sent["video_frames"], (receiver, sender, seen, sent)
            assert seen["audio_frames"] >= 0.95 * sent["audio_frames"], (receiver, sender, seen, sent)
            assert seen["decode_errors"] == 0 and seen["wrong_size"] == 0
            assert seen["decoded"] >= 0.95 * (seen["video_frames"] + seen["audio_frames"])
            # Measured and reported; how low it is belongs to benchmarks (relay_bench, soak).
            assert seen["latency_ms"]["p95"] is not None and seen["av_sync_ms"] is not None


def test_a_late_joiner_gets_a_key_frame_by_asking_for_one(server):
    # Periodic key frames only every 30 s: within the late bot's 1.5 s, only a request can bring one.
    common = ["--codec", "h264", "--size", "320x240", "--fps", "15", "--keyframe-interval", "30",
              "--audio", "none"]
    first = _start_bot(server.control_port, "early", "--create-room", "--seconds", "4", *common)
    room = _first_line_room(first)
    time.sleep(1.5)
    late = _start_bot(server.control_port, "late", "--room", room, "--seconds", "1.5", *common)
    late_report, early_report = _report(late), _report(first)
    seen = late_report["peers"]["early"]
    assert seen["first_keyframe_ms"] is not None and seen["keyframes"] >= 1, seen
    assert seen["keyframe_requests_sent"] >= 1
    assert early_report["sent"]["keyframe_requests"] >= 1


def test_voice_detection_sends_fewer_frames_for_speech_with_pauses_than_for_a_tone(server):
    common = ["--video", "none", "--seconds", "4", "--wait-members", "2", "--sample-rate", "16000"]
    tone = _start_bot(server.control_port, "tone", "--create-room", "--audio", "tone", *common)
    room = _first_line_room(tone)
    speech = _start_bot(server.control_port, "speech", "--room", room, "--audio", f"wav:{SPEECH_WAV}",
                        *common)
    tone_report, speech_report = _report(tone), _report(speech)
    assert speech_report["sent"]["audio_suppressed"] > 0
    assert speech_report["sent"]["audio_frames"] < 0.85 * tone_report["sent"]["audio_frames"]
    # What was sent arrived.
    heard = tone_report["peers"]["speech"]["audio_frames"]
    assert heard >= 0.95 * speech_report["sent"]["audio_frames"]


def test_a_pre_encoded_bot_sends_and_reports_its_cpu(server):
    # How little CPU it takes is measured in benchmarks/, not asserted on a busy test machine.
    bot = _start_bot(server.control_port, "cheap", "--create-room", "--pre-encoded", "--no-decode",
                     "--size", "640x480", "--fps", "15", "--seconds", "4")
    _first_line_room(bot)
    report = _report(bot)
    assert report["sent"]["video_frames"] >= 50 and report["sent"]["audio_frames"] >= 150
    assert isinstance(report["cpu_percent"], float) and report["cpu_percent"] >= 0, report["cpu_percent"]


def test_a_bad_flag_is_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "qt_client.bot", "--user", "x", "--password", "y",
                             "--room", "abc", "--size", "big"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode == 2 and "640x480" in result.stderr) or "size" in result.stderr
