"""Make tests/data/speech_with_gaps.wav: synthetic speech with two known 1 s silent gaps.

The audio tests (voice detector, echo canceller, codecs) need real speech whose
pauses are known exactly, without a microphone. Needs espeak-ng and sox only when
run (apt-get install -y espeak-ng sox); the tests use the committed WAV and JSON.

Layout: phrase 1, 1 s of digital silence, phrase 2, 1 s of digital silence, phrase 3.
Each phrase is espeak-ng's speech with its own leading and trailing quiet trimmed
by sox, so the JSON's speech segments start and end on voice.

    .venv/bin/python scripts/make_speech_wav.py
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

RATE = 16000
GAP_SECONDS = 1.0
PHRASES = (
    "Hello everyone, welcome to the meeting.",
    "Can you all hear me clearly?",
    "Let us begin with the first item.",
)
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
WAV = DATA / "speech_with_gaps.wav"
SEGMENTS = DATA / "speech_with_gaps.json"


def speak(text: str, workdir: Path) -> bytes:
    """16 kHz mono 16-bit PCM of one phrase, trimmed to where the voice starts and ends."""
    raw, trimmed = workdir / "raw.wav", workdir / "trimmed.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text], check=True)
    # -D: no dither, so that reruns give the same bytes. silence 1 0.02 0.5%: drop the
    # start until 20 ms above 0.5% of full scale; reversing and repeating trims the end.
    subprocess.run(["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(trimmed),
                    "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"],
                   check=True)
    with wave.open(str(trimmed), "rb") as w:
        return w.readframes(w.getnframes())


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    gap = bytes(2 * int(RATE * GAP_SECONDS))
    pcm = bytearray()
    speech, gaps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index, phrase in enumerate(PHRASES):
            if index:
                gaps.append([len(pcm) // 2, len(pcm) // 2 + len(gap) // 2])
                pcm += gap
            clip = speak(phrase, Path(tmp))
            speech.append([len(pcm) // 2, len(pcm) // 2 + len(clip) // 2])
            pcm += clip
    with wave.open(str(WAV), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(pcm))
    # Positions are in samples at sample_rate, half-open [start, end).
    SEGMENTS.write_text(json.dumps({"sample_rate": RATE, "speech": speech, "silence": gaps}) + "\n")
    print(f"wrote {WAV} ({len(pcm)} bytes of PCM) and {SEGMENTS}")


if __name__ == "__main__":
    main()
