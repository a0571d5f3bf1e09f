"""FarEndBuffer: the echo canceller's reference must be what was played, in order, and bounded."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from qt_client.workers.far_end_buffer import FarEndBuffer


def test_reads_back_what_was_written_in_order_across_the_wrap() -> None:
    buffer = FarEndBuffer(10)
    buffer.write(np.arange(1, 8, dtype=np.int16))
    assert buffer.read(5).tolist() == [1, 2, 3, 4, 5]
    buffer.write(np.arange(8, 14, dtype=np.int16))  # wraps past the end of the ring
    assert len(buffer) == 8
    assert buffer.read(8).tolist() == list(range(6, 14))


def test_nothing_played_reads_as_silence() -> None:
    buffer = FarEndBuffer(10)
    buffer.write(np.array([5, 6], dtype=np.int16))
    assert buffer.read(4).tolist() == [5, 6, 0, 0]
    assert buffer.read(3).tolist() == [0, 0, 0]


def test_a_reader_that_falls_behind_loses_the_oldest_samples_not_memory() -> None:
    buffer = FarEndBuffer(6)
    for start in range(0, 40, 4):
        buffer.write(np.arange(start, start + 4, dtype=np.int16))
    assert len(buffer) == 6
    assert buffer.read(6).tolist() == list(range(34, 40))
    assert buffer.dropped_samples == 34


def test_a_writer_and_a_reader_on_two_threads_lose_nothing_within_capacity() -> None:
    buffer = FarEndBuffer(1 << 16)
    frames = 400
    got: list[np.ndarray] = []

    def write() -> None:
        for index in range(frames):
            buffer.write(np.full(100, index % 1000, dtype=np.int16))

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive() or len(buffer):
        got.append(buffer.read(37))
    writer.join()
    samples = np.concatenate(got)
    played = samples[samples != 0]
    # Silence only where the reader was ahead; every sample written arrives, in order.
    assert len(played) == (frames - 1) * 100  # frame 0 is zeros itself
    assert np.all(np.diff(played.astype(int)) >= 0)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FarEndBuffer(0)
