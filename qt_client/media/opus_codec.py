"""Opus through PyAV's libopus: one 20 ms frame in, one packet out, and back.

Audio frames travel one per media frame, so the encoder must not hold samples
back (a packet per frame, or the receiver starves) and the decoder must hand
back exactly one frame per packet at the caller's rate.
"""

from __future__ import annotations

import fractions

import av
import numpy as np

from qt_client.media.audio_source import FRAMES_PER_SECOND, check_frame

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
DECODER_RATE = 48000  # FFmpeg's libopus decoder always decodes at 48 kHz


def _check_rate(sample_rate: int) -> None:
    if sample_rate not in OPUS_RATES:
        raise ValueError(f"Opus does not run at {sample_rate} Hz; use one of {OPUS_RATES}")


class OpusEncoder:
    """Compresses 20 ms mono int16 frames; 'voip' tunes libopus for speech, as WebRTC does."""

    def __init__(self, sample_rate: int = 48000, bitrate: int = 32000) -> None:
        _check_rate(sample_rate)
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND
        self._context = av.CodecContext.create("libopus", "w")
        self._context.sample_rate = sample_rate
        self._context.layout = "mono"
        self._context.format = "s16"
        self._context.bit_rate = bitrate
        self._context.time_base = fractions.Fraction(1, sample_rate)
        self._context.options = {"application": "voip", "frame_duration": "20"}
        self._context.open()
        if self._context.frame_size != self.frame_samples:
            raise RuntimeError(f"libopus wants {self._context.frame_size}-sample frames, "
                               f"not {self.frame_samples}")
        self._pts = 0

    def encode(self, pcm: np.ndarray) -> bytes:
        """The Opus packet of exactly one 20 ms frame."""
        check_frame(pcm, self.frame_samples, "pcm")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        self._pts += self.frame_samples
        packets = self._context.encode(frame)
        if len(packets) != 1:
            raise RuntimeError(f"libopus returned {len(packets)} packets for one frame")
        return bytes(packets[0])


class OpusDecoder:
    """Turns each Opus packet back into one 20 ms int16 frame at sample_rate."""

    def __init__(self, sample_rate: int = 48000) -> None:
        _check_rate(sample_rate)
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND
        self._context = av.CodecContext.create("libopus", "r")
        self._context.sample_rate = DECODER_RATE
        self._context.layout = "mono"  # libopus downmixes a stereo sender for us
        self._context.open()
        self._resampler = (None if sample_rate == DECODER_RATE
                           else av.AudioResampler(format="s16", layout="mono", rate=sample_rate))
        self._pending = np.zeros(0, dtype=np.int16)

    def decode(self, packet: bytes) -> np.ndarray:
        """One frame of frame_samples; ValueError when the packet is not a 20 ms Opus packet."""
        if not packet:
            # An empty packet would tell FFmpeg the stream has ended, and it would decode no more.
            raise ValueError("empty Opus packet")
        try:
            frames = self._context.decode(av.Packet(packet))
        except av.FFmpegError as exc:
            raise ValueError(f"not an Opus packet: {exc}") from None
        decoded = sum(frame.samples for frame in frames)
        if decoded != DECODER_RATE // FRAMES_PER_SECOND:
            raise ValueError(f"Opus packet of {decoded} samples at 48 kHz is not 20 ms")
        if self._resampler is not None:
            frames = [out for frame in frames for out in self._resampler.resample(frame)]
        self._pending = np.concatenate([self._pending, *(frame.to_ndarray()[0] for frame in frames)])
        short = self.frame_samples - len(self._pending)
        if short > 0:
            # The resampler's filter holds back a few samples of the first packet only;
            # leading silence makes up for them once, a fixed delay of about 1 ms.
            self._pending = np.concatenate([np.zeros(short, dtype=np.int16), self._pending])
        frame, self._pending = self._pending[:self.frame_samples], self._pending[self.frame_samples:]
        return frame.astype(np.int16, copy=True)
