"""Per sender: can this video frame be decoded, and is it time to ask for a key frame?"""

from __future__ import annotations

from protocol.media import Codec, MediaHeader

INTER_CODECS = frozenset({Codec.H264, Codec.VP8})


class KeyframeGate:
    """An inter-coded stream (H.264, VP8) decodes only from a key frame on: after
    joining, after a lost frame (a gap in sequence numbers breaks the chain of
    references) and after a decode error. Until one comes, frames are held
    back and the sender is asked, at most once per REQUEST_INTERVAL."""

    REQUEST_INTERVAL = 0.5

    def __init__(self) -> None:
        self.waiting = True
        self._last_sequence: int | None = None
        self._last_request = float("-inf")

    def admit(self, header: MediaHeader) -> bool:
        """Whether to decode this frame (JPEG frames always stand alone)."""
        if header.codec not in INTER_CODECS:
            return True
        gap = self._last_sequence is not None and header.sequence != (self._last_sequence + 1) & 0xFFFFFFFF
        self._last_sequence = header.sequence
        if header.keyframe:
            self.waiting = False
        elif gap:
            self.waiting = True
        return not self.waiting

    def decode_failed(self) -> None:
        self.waiting = True

    def should_request(self, now: float) -> bool:
        """True when a key-frame request is due (call with time.monotonic())."""
        if not self.waiting or now - self._last_request < self.REQUEST_INTERVAL:
            return False
        self._last_request = now
        return True
