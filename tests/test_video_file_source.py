"""VideoFileSource: plays the committed clip like a camera: size, rate, looping, resizing, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qt_client.media.video_file_source import VideoFileSource

CLIP = Path(__file__).parent / "data" / "clip.avi"
CLIP_FRAMES = 45  # scripts/make_test_clip.py: 3 s at 15 fps, 320x240


def test_reads_frames_at_the_files_own_size_and_rate() -> None:
    with VideoFileSource(CLIP) as source:
        assert (source.width, source.height, source.fps) == (320, 240, 15)
        first, capture_us = source.read()
        second, later_us = source.read()
    assert first.shape == (240, 320, 3)
    assert first.dtype == np.uint8
    assert later_us >= capture_us > 0
    assert not np.array_equal(first, second)  # the clip moves


def test_loops_back_to_the_first_frame_at_the_end() -> None:
    with VideoFileSource(CLIP) as source:
        frames = [source.read()[0] for _ in range(CLIP_FRAMES + 2)]
    assert np.array_equal(frames[CLIP_FRAMES], frames[0])
    assert np.array_equal(frames[CLIP_FRAMES + 1], frames[1])
    assert not np.array_equal(frames[CLIP_FRAMES - 1], frames[0])


def test_without_loop_the_end_is_eof() -> None:
    with VideoFileSource(CLIP, loop=False) as source:
        for _ in range(CLIP_FRAMES):
            source.read()
        with pytest.raises(EOFError, match=r"clip\.avi"):
            source.read()


@pytest.mark.parametrize(("width", "height"), [(640, 480), (160, 120), (1280, 720)])
def test_resizes_to_the_requested_size(width: int, height: int) -> None:
    with VideoFileSource(CLIP, width, height) as source:
        assert (source.width, source.height) == (width, height)
        frame, _ = source.read()
    assert frame.shape == (height, width, 3)
    assert frame.std() > 10  # a picture, not a blank


def test_fps_can_be_overridden() -> None:
    with VideoFileSource(CLIP, fps=30) as source:
        assert source.fps == 30


def test_a_missing_file_says_which() -> None:
    with pytest.raises(FileNotFoundError, match=r"no-such-clip\.avi"):
        VideoFileSource(CLIP.with_name("no-such-clip.avi"))


def test_a_file_that_is_not_video_says_so(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.avi"
    bogus.write_text("not a video\n")
    with pytest.raises(ValueError, match=r"cannot open .*notes\.avi"):
        VideoFileSource(bogus)


def test_width_without_height_is_refused() -> None:
    with pytest.raises(ValueError, match="both width and height"):
        VideoFileSource(CLIP, width=640)
