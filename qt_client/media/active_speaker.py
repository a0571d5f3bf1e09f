"""Who is the meeting's dominant speaker, decided with hysteresis so the big tile does not flicker.

The client feeds it the audio levels it already measures; a server-side speaker signal
can replace this module later without the views noticing (they only see a user id).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SPEECH_DB = -45.0  # dBFS above which a reading counts as speech
WINDOW_S = 1.0  # speech is compared over this much recent time
MIN_SPEECH_S = 0.4  # less speech than this in the window (a cough, a "hm") never takes over
MARGIN_S = 0.2  # a challenger must out-talk the current speaker by this much
MIN_HOLD_S = 1.5  # the current speaker keeps the floor this long unless silent
LEAD_S = 0.5  # ... and a challenger must keep that lead this long (quick back-and-forth never does)
SILENT_AFTER_S = 1.0  # no speech for this long: the current speaker has stopped, hand over at once
MAX_READING_S = 0.1  # one reading stands for at most this long (readings come ~20 a second)


@dataclass
class _Speaker:
    readings: deque[tuple[float, bool]] = field(default_factory=deque)
    last_speech: float = float("-inf")


class ActiveSpeakerDetector:
    """Picks the dominant speaker from (user_id, level_db, now) readings; time is passed in, never read."""

    def __init__(self, speech_db: float = SPEECH_DB, window_s: float = WINDOW_S,
                 min_speech_s: float = MIN_SPEECH_S, margin_s: float = MARGIN_S,
                 min_hold_s: float = MIN_HOLD_S, lead_s: float = LEAD_S,
                 silent_after_s: float = SILENT_AFTER_S) -> None:
        self.speech_db = speech_db
        self.window_s = window_s
        self.min_speech_s = min_speech_s
        self.margin_s = margin_s
        self.min_hold_s = min_hold_s
        self.lead_s = lead_s
        self.silent_after_s = silent_after_s
        self._speakers: dict[int, _Speaker] = {}
        self._dominant: int | None = None
        self._dominant_since = float("-inf")
        self._leader: int | None = None  # who has out-talked the dominant speaker, and since when
        self._leading_since = 0.0

    @property
    def dominant(self) -> int | None:
        """The last answer of update()."""
        return self._dominant

    def feed(self, user_id: int, level_db: float, now: float) -> None:
        """One level reading (dBFS, -100..0) of one person's audio, taken at time now (seconds)."""
        speaker = self._speakers.setdefault(user_id, _Speaker())
        speaking = level_db > self.speech_db  # NaN compares False: no speech
        speaker.readings.append((now, speaking))
        if speaking:
            speaker.last_speech = now
        self._forget_before(speaker, now - self.window_s)

    def remove(self, user_id: int) -> None:
        """Forgets someone who left; if they held the floor, the next update picks anew."""
        self._speakers.pop(user_id, None)
        if self._dominant == user_id:
            self._dominant = None
            self._dominant_since = float("-inf")

    def update(self, now: float) -> int | None:
        """The dominant speaker at time now; it stays the last one heard while everyone is silent."""
        scores = {user_id: self._speech_seconds(speaker, now) for user_id, speaker in self._speakers.items()}
        challenger = max(scores, key=scores.__getitem__, default=None)
        if challenger is None or challenger == self._dominant or scores[challenger] < self.min_speech_s:
            self._leader = None
            return self._dominant
        if self._dominant is not None and not self._may_hand_over(challenger, scores, now):
            return self._dominant
        self._dominant = challenger
        self._dominant_since = now
        self._leader = None
        return challenger

    def _may_hand_over(self, challenger: int, scores: dict[int, float], now: float) -> bool:
        current = self._speakers[self._dominant]
        if now - current.last_speech >= self.silent_after_s:
            return True  # they stopped talking: the floor is free at once
        if scores[challenger] < scores[self._dominant] + self.margin_s:
            self._leader = None
            return False
        if self._leader != challenger:
            self._leader, self._leading_since = challenger, now
        return now - self._leading_since >= self.lead_s and now - self._dominant_since >= self.min_hold_s

    def _speech_seconds(self, speaker: _Speaker, now: float) -> float:
        """Seconds of speech in the window; each reading lasts until the next one (at most MAX_READING_S)."""
        self._forget_before(speaker, now - self.window_s)
        readings = speaker.readings
        total = 0.0
        for index, (taken, speaking) in enumerate(readings):
            if not speaking:
                continue
            until = readings[index + 1][0] if index + 1 < len(readings) else now
            total += min(max(0.0, until - taken), MAX_READING_S)
        return total

    @staticmethod
    def _forget_before(speaker: _Speaker, start: float) -> None:
        readings = speaker.readings
        while readings and readings[0][0] < start:
            readings.popleft()
