"""`python -m qt_client.bot`: the command line of the headless participant."""

from __future__ import annotations

import argparse
import logging
import sys

from protocol.fingerprint import normalize_fingerprint
from qt_client.bot.bot import Bot, print_report
from qt_client.bot.config import CODECS, BotConfig
from qt_client.media.video_source import parse_size
from qt_client.net.errors import ServerError


def _server(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--server must be HOST:PORT, not {text!r}")
    return host, int(port)


def parse_args(argv: list[str] | None = None) -> BotConfig:
    parser = argparse.ArgumentParser(
        prog="python -m qt_client.bot",
        description="A headless meeting participant: joins a room, sends synthetic audio and video, "
                    "and prints a JSON report of what it sent and received.")
    parser.add_argument("--server", type=_server, default=("127.0.0.1", 9000),
                        help="HOST:PORT of the control port (default 127.0.0.1:9000)")
    parser.add_argument("--user", required=True, help="user name (registered if it does not exist)")
    parser.add_argument("--password", required=True)
    room = parser.add_mutually_exclusive_group(required=True)
    room.add_argument("--create-room", action="store_true", help='create a room; prints {"room": ID} first')
    room.add_argument("--room", help="join this room id")
    parser.add_argument("--room-password", help="the room's password (to create or to join)")
    parser.add_argument("--persistent", action="store_true", help="with --create-room: keep the room")
    parser.add_argument("--video", default="testpattern", help="testpattern | file:PATH | none")
    parser.add_argument("--audio", default="tone", help="tone | wav:PATH | none")
    parser.add_argument("--screen", default="none",
                        help="share a screen: slide (a synthetic slide) | file:PATH (a picture) | none")
    parser.add_argument("--codec", choices=sorted(CODECS), default="jpeg")
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality (default 80)")
    parser.add_argument("--bitrate", type=int, default=800_000, help="H.264/VP8 bits per second")
    parser.add_argument("--keyframe-interval", type=float, default=2.0,
                        help="seconds between periodic H.264/VP8 key frames (default 2)")
    parser.add_argument("--sample-rate", type=int, choices=[16000, 48000], default=48000)
    parser.add_argument("--no-vad", dest="vad", action="store_false", help="send silent audio frames too")
    parser.add_argument("--vad-aggressiveness", type=int, choices=range(4), default=2)
    parser.add_argument("--face-effect", choices=["none", "pixelate", "blur", "box"], default="none")
    parser.add_argument("--pre-encoded", action="store_true",
                        help="encode a few seconds up front and replay them (cheap load generation)")
    parser.add_argument("--no-decode", dest="decode", action="store_false",
                        help="count and time received frames without decoding them (load tests)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to send")
    parser.add_argument("--wait-members", type=int, default=1,
                        help="start sending once the room has this many members (default 1)")
    parser.add_argument("--linger", type=float, default=1.0,
                        help="seconds to keep receiving after sending stops (default 1)")
    parser.add_argument("--playout-delay-ms", type=int, default=20,
                        help="jitter buffer delay after capture time (default 20)")
    trust = parser.add_argument_group(
        "TLS", "a server with a certificate from a CA the system trusts needs none of these; for a "
               "self-signed one, give the fingerprint the server printed, or --tofu")
    trust.add_argument("--trust-fingerprint", metavar="SHA256HEX",
                       help="trust the server whose public key has this SHA-256 fingerprint, and no other")
    trust.add_argument("--tofu", action="store_true",
                       help="trust a self-signed server's key on first use and pin it (in --pin-store); "
                            "a later change of key is refused")
    trust.add_argument("--pin-store", metavar="PATH",
                       help="file of pinned server keys (default ~/.config/mini-meeting/known_servers.json)")
    trust.add_argument("--ca-file", metavar="PEM", help="verify against this CA instead of the system's")
    trust.add_argument("--no-tls", dest="tls", action="store_false",
                       help="INSECURE: speak in clear, only to a server run with --no-tls")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    try:
        width, height = parse_size(args.size)
        fingerprint = normalize_fingerprint(args.trust_fingerprint) if args.trust_fingerprint else None
    except ValueError as exc:
        parser.error(str(exc))
    if not args.tls and (fingerprint or args.tofu or args.ca_file):
        parser.error("--no-tls speaks in clear: it takes no --trust-fingerprint, --tofu or --ca-file")
    return BotConfig(
        host=args.server[0], port=args.server[1], user=args.user, password=args.password,
        create_room=args.create_room, room=args.room, room_password=args.room_password,
        persistent=args.persistent, video=args.video, audio=args.audio, screen=args.screen,
        codec=CODECS[args.codec],
        width=width, height=height, fps=args.fps, quality=args.quality, bitrate=args.bitrate,
        keyframe_interval=args.keyframe_interval, decode=args.decode,
        sample_rate=args.sample_rate, vad=args.vad, vad_aggressiveness=args.vad_aggressiveness,
        face_effect=args.face_effect, pre_encoded=args.pre_encoded, seconds=args.seconds,
        wait_members=args.wait_members, linger=args.linger, playout_delay_ms=args.playout_delay_ms,
        tls=args.tls, trust_fingerprint=fingerprint, tofu=args.tofu, pin_store=args.pin_store,
        ca_file=args.ca_file)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        report = Bot(config).run()
    except (ServerError, OSError, TimeoutError, ValueError) as exc:
        print(f"bot {config.user}: {exc}", file=sys.stderr)
        return 1
    print_report(report)
    return 0 if not report["errors"] else 1
