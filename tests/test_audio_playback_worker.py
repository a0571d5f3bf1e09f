"""AudioPlaybackWorker: two people at once, mixed without clipping, and the mix kept as echo reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from qt_client.media.audio_source import ToneSource
from qt_client.workers.audio_playback_worker import AudioPlaybackWorker
from qt_client.workers.far_end_buffer import FarEndBuffer
from tests.worker_support import running


def test_two_loud_peers_are_mixed_without_clipping_into_the_far_end(qtbot: Any) -> None:
    far_end = FarEndBuffer(48000)
    worker = AudioPlaybackWorker(far_end, sample_rate=48000, queue_frames=5)
    # Two voices at 70% of full scale, in phase: their plain sum would be 140%.
    ada, bob = ToneSource(48000, 440, 0.7), ToneSource(48000, 440, 0.7)
    with qtbot.waitSignal(worker.sink_fallback, timeout=2000) as fallback, running(worker, "playback"):
        for _ in range(5):
            worker.push_frame(1, ada.read())  # from this thread, as the receive worker does
            worker.push_frame(2, bob.read())
        qtbot.waitUntil(lambda: worker.mixed >= 10, timeout=1000)
    assert fallback.args == ["No speaker found: audio is mixed but not played"]
    played = far_end.read(len(far_end))
    assert len(played) >= 10 * 960  # silence too is played, and kept, once the voices end
    loud = played[np.abs(played) > 0]
    assert len(loud) >= 4 * 960
    peak = int(np.abs(loud.astype(np.int32)).max())
    assert 0.9 * 32767 < peak < 32767  # louder than one voice, bent below full scale, never flat-topped
    assert worker.dropped == 0


def test_a_peer_whose_frames_pile_up_loses_the_oldest_not_latency(qtbot: Any) -> None:
    far_end = FarEndBuffer(48000)
    worker = AudioPlaybackWorker(far_end, sample_rate=16000, use_speaker=False, queue_frames=3)
    frames = [np.full(320, 1000 * (index + 1), dtype=np.int16) for index in range(8)]
    for frame in frames:  # before start: a burst that arrived at once
        worker.push_frame(7, frame)
    with running(worker, "playback"):
        qtbot.waitUntil(lambda: worker.mixed >= 5, timeout=1000)
    assert worker.dropped == 5
    played = far_end.read(len(far_end))
    voiced = played[played != 0].reshape(-1, 320)[:, 0].tolist()
    assert voiced == [6000, 7000, 8000]  # the newest three, in order
