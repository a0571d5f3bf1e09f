"""The one audio format the client records and plays: 16-bit signed mono PCM."""

from __future__ import annotations

from PyQt5.QtMultimedia import QAudioFormat


def pcm16_mono(sample_rate: int) -> QAudioFormat:
    """What the codecs, the echo canceller and the voice detector all take."""
    audio_format = QAudioFormat()
    audio_format.setSampleRate(sample_rate)
    audio_format.setChannelCount(1)
    audio_format.setSampleSize(16)
    audio_format.setSampleType(QAudioFormat.SignedInt)
    audio_format.setByteOrder(QAudioFormat.LittleEndian)
    audio_format.setCodec("audio/pcm")
    return audio_format
