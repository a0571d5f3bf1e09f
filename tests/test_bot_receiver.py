"""The bot's receiver: a frame it cannot decode is counted, and receiving goes on."""

import queue
import threading
import time

from protocol.media import Codec, MediaHeader, StreamKind
from qt_client.bot.cli import parse_args
from qt_client.bot.receiver import MediaReceiver


class _Clock:
    """Just what MediaReceiver asks of a MeetingClient: its frame queue and the server clock."""

    def __init__(self) -> None:
        self.frames: queue.Queue = queue.Queue()

    def media_queue(self, maxsize: int) -> queue.Queue:
        return self.frames

    def server_clock_us(self) -> int:
        return time.time_ns() // 1000


def test_video_claiming_an_audio_codec_is_a_decode_error_not_a_dead_thread():
    client = _Clock()
    config = parse_args(["--user", "u", "--password", "p", "--room", "r", "--playout-delay-ms", "0"])
    stop = threading.Event()
    receiver = MediaReceiver(client, config, stop)
    receiver.start()
    try:
        now = client.server_clock_us()
        client.frames.put((MediaHeader(StreamKind.VIDEO, 9, 1, now, Codec.OPUS, True), memoryview(b"x")))
        client.frames.put((MediaHeader(StreamKind.VIDEO, 9, 2, now, Codec.JPEG, True), memoryview(b"bad")))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and receiver.report().get(9, {}).get("decode_errors", 0) < 2:
            time.sleep(0.02)
        assert receiver.report()[9]["decode_errors"] == 2
        assert receiver.is_alive() and receiver.error is None
    finally:
        stop.set()
        receiver.wake()
        receiver.join(5)
