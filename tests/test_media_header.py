"""The media header: what a receiver needs to tell streams apart survives the wire."""

import pytest

from protocol.framing import FrameError
from protocol.media import Codec, MediaHeader, MediaSource, StreamKind, parse_media_header


@pytest.mark.parametrize("source", list(MediaSource))
@pytest.mark.parametrize("keyframe", [False, True])
def test_source_and_keyframe_survive_pack_and_parse(source: MediaSource, keyframe: bool) -> None:
    header = MediaHeader(StreamKind.VIDEO, 42, 7, 1_700_000_000_000_000, Codec.H264, keyframe, source)
    assert parse_media_header(header.pack()) == header


def test_a_header_without_the_screen_flag_is_the_camera() -> None:
    header = MediaHeader(StreamKind.VIDEO, 1, 0, 0, Codec.JPEG, True)
    assert parse_media_header(header.pack()).source is MediaSource.CAMERA


def test_a_short_header_is_refused() -> None:
    with pytest.raises(FrameError):
        parse_media_header(b"\x02\x00")
