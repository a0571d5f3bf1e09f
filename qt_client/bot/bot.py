"""One headless participant: joins a room, sends synthetic media, reports what it got."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from protocol.errors import ErrorCode
from qt_client.bot.audio_sender import AudioSender
from qt_client.bot.config import BotConfig
from qt_client.bot.receiver import MediaReceiver
from qt_client.bot.screen_sender import ScreenSender, open_screen
from qt_client.bot.sources import open_audio_source, open_video_source
from qt_client.bot.video_sender import VideoSender
from qt_client.net.errors import ServerError
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

MEMBERS_WAIT_TIMEOUT = 60.0


class Bot:
    """Runs a session from login to report; `run` returns the report.

    A server that goes away does not end the run: the client reconnects and
    rejoins, the senders skip (and count) what cannot be sent meanwhile, and
    the outage is logged once when it starts and once when it ends. A room
    that is gone after the reconnect (or a refused log-in) ends the run early,
    as an error in the report: there is nobody left to send to.
    """

    def __init__(self, config: BotConfig) -> None:
        self.config = config
        self.client = MeetingClient(config.host, config.port, client_name="mini-meeting-bot")
        self.stop_sending = threading.Event()
        self.stop_receiving = threading.Event()
        self.gave_up = threading.Event()  # the room or the session is gone for good
        self.errors: list[str] = []  # written on the client's network thread, read after the run
        self._outage_started: float | None = None
        self.video: VideoSender | None = None
        self.audio: AudioSender | None = None
        self.screen: ScreenSender | None = None
        self.receiver: MediaReceiver | None = None
        self.room_id: str | None = None
        # Everyone seen in the room, kept after they leave, to name them in the report.
        self.names: dict[int, str] = {}
        # Of one core, over the sending window only (start-up and imports excluded).
        self.cpu_percent: float | None = None

    def run(self) -> dict[str, Any]:
        config = self.config
        try:
            self.client.connect()
            self._log_in()
            self.client.on_push = self._on_push
            self.room_id = self._enter_room()
            self.client.on_state = self._on_state
            self.receiver = MediaReceiver(self.client, config, self.stop_receiving)
            self.receiver.start()
            self._wait_for_members()
            self._start_senders()
            cpu_started, wall_started = time.process_time(), time.monotonic()
            self.gave_up.wait(config.seconds)
            self.cpu_percent = 100 * (time.process_time() - cpu_started) / (time.monotonic() - wall_started)
            self.stop_sending.set()
            for sender in (self.video, self.audio, self.screen):
                if sender is not None:
                    sender.join(5)
            # Frames still on their way from the others arrive meanwhile.
            time.sleep(config.linger)
            self.stop_receiving.set()
            self.receiver.wake()
            self.receiver.join(5)
            return self._report()
        finally:
            self.stop_sending.set()
            self.stop_receiving.set()
            self.client.close()

    def _log_in(self) -> None:
        try:
            self.client.login(self.config.user, self.config.password)
        except ServerError as refused:
            # The server does not say whether the name exists: try to register it. Taken means
            # the password was wrong after all, and that is the error to report.
            if refused.code not in (ErrorCode.WRONG_PASSWORD, ErrorCode.UNKNOWN_USER):
                raise
            try:
                self.client.register(self.config.user, self.config.password)
            except ServerError as exc:
                if exc.code == ErrorCode.NAME_TAKEN:
                    raise refused from None
                raise
            self.client.login(self.config.user, self.config.password)

    def _enter_room(self) -> str:
        config = self.config
        if config.create_room:
            result = self.client.create_room(title=f"{config.user}'s room", password=config.room_password,
                                             persistent=config.persistent)
            room_id = result["room"]["room_id"]
            # First line, at once: a script starts the other bots with this id.
            print(json.dumps({"room": room_id}), flush=True)
            return room_id
        return self.client.join_room(config.room, config.room_password)["room"]["room_id"]

    def _wait_for_members(self) -> None:
        deadline = time.monotonic() + MEMBERS_WAIT_TIMEOUT
        while len(self.client.members) < self.config.wait_members:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {self.config.wait_members} members after "
                                   f"{MEMBERS_WAIT_TIMEOUT:.0f} s")
            time.sleep(0.02)

    def _start_senders(self) -> None:
        config = self.config
        video_source = open_video_source(config.video, config.width, config.height, config.fps)
        if video_source is not None:
            face_effect = None
            if config.face_effect != "none":
                from qt_client.media.face_effect import FaceEffect

                face_effect = FaceEffect(config.face_effect)
            self.video = VideoSender(self.client, config, video_source, face_effect, self.stop_sending)
            self.video.start()
        # What the room shows on this bot's tile: no camera, no microphone when it sends none.
        self.client.set_media_state(microphone=config.audio != "none", camera=video_source is not None)
        picture = open_screen(config.screen)
        if picture is not None:
            self.screen = ScreenSender(self.client, picture, self.stop_sending)
            self.screen.start()
        audio_source = open_audio_source(config.audio, config.sample_rate)
        if audio_source is not None:
            self.audio = AudioSender(self.client, config, audio_source, self.stop_sending)
            self.audio.start()

    def _on_push(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        # Every screen frame is a key frame: only the camera needs asking.
        if kind == "keyframe_request" and message.get("source") != "screen" and self.video is not None:
            self.video.request_keyframe()
        elif kind == "members":
            self._remember_names(message["members"])
        elif kind == "rejoin_failed":
            self._give_up(f"room {message.get('room_id')} is gone after the reconnect "
                          f"({_error_text(message.get('error'))})")
        elif kind == "reconnect_failed":
            self._give_up(f"log-in refused after the reconnect ({_error_text(message.get('error'))})")

    def _on_state(self, state: str) -> None:
        """On the client's network thread: one line when an outage starts, one when it ends."""
        if state == "reconnecting" and self._outage_started is None:
            self._outage_started = time.monotonic()
            log.warning("%s: lost the connection to the server; reconnecting (media is not sent meanwhile)",
                        self.config.user)
        elif state == "rejoined" and self._outage_started is not None:
            log.warning("%s: back in room %s after %.1f s", self.config.user, self.room_id,
                        time.monotonic() - self._outage_started)
            self._outage_started = None
        elif state == "disconnected" and not self.stop_receiving.is_set():
            # Not our own close at the end: the session ended, and the client will not reconnect.
            self._give_up(f"disconnected for good ({self.client.ended_reason or 'connection closed'})")

    def _give_up(self, reason: str) -> None:
        if self.gave_up.is_set():
            return
        log.error("%s: %s; stopping", self.config.user, reason)
        self.errors.append(reason)
        self.stop_sending.set()
        self.gave_up.set()

    def _remember_names(self, members: list[dict[str, Any]]) -> None:
        self.names.update((m["user_id"], m["username"]) for m in members)

    def _report(self) -> dict[str, Any]:
        self._remember_names(self.client.members)
        peers = {self.names.get(sender_id, str(sender_id)): stats
                 for sender_id, stats in self.receiver.report().items()}
        errors = self.errors + [f"{name}: {thread.error!r}" for name, thread in
                                (("video", self.video), ("audio", self.audio), ("screen", self.screen),
                                 ("receiver", self.receiver))
                                if thread is not None and thread.error is not None]
        video, audio = self.video, self.audio
        senders = [sender for sender in (video, audio, self.screen) if sender is not None]
        return {
            "user": self.config.user, "room": self.room_id,
            "codec": self.config.codec.name.lower(), "size": f"{self.config.width}x{self.config.height}",
            "sent": {"video_frames": video.frames_sent if video else 0,
                     "audio_frames": audio.frames_sent if audio else 0,
                     "audio_suppressed": audio.frames_suppressed if audio else 0,
                     "keyframes": video.keyframes_sent if video else 0,
                     "screen_frames": self.screen.frames_sent if self.screen else 0,
                     "keyframe_requests": video.keyframe_requests if video else 0,
                     "skipped_while_disconnected": sum(s.skipped_while_disconnected for s in senders)},
            "peers": peers,
            "cpu_percent": None if self.cpu_percent is None else round(self.cpu_percent, 2),
            "clock_offset_ms": round(self.client.clock_offset * 1000, 3),
            "rtt_ms": None if self.client.rtt is None else round(self.client.rtt * 1000, 3),
            "errors": errors,
        }


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return repr(error)
    return f"{error.get('code')}: {error.get('message')}"


def print_report(report: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
