"""parse_size and now_us: sizes from settings and command lines, capture times on the media header's clock."""

from __future__ import annotations

import time

import pytest

from qt_client.media.video_source import now_us, parse_size


@pytest.mark.parametrize(("text", "size"), [("640x480", (640, 480)), ("1280X720", (1280, 720)),
                                            (" 320 x 240 ", (320, 240))])
def test_parse_size_reads_width_by_height(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["640", "640x", "x480", "640*480", "640x480x3", "-640x480", "0x480", ""])
def test_parse_size_rejects_anything_else_and_quotes_it(text: str) -> None:
    with pytest.raises(ValueError, match="640x480") as caught:
        parse_size(text)
    assert repr(text) in str(caught.value)


def test_now_us_is_time_time_in_whole_microseconds() -> None:
    stamp = now_us()
    assert isinstance(stamp, int)
    assert abs(stamp - time.time() * 1_000_000) < 50_000
