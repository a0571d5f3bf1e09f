"""H.264 (libx264) and VP8 (libvpx) through PyAV, set for live video: one packet in, one frame out.

No B-frames and no look-ahead, so an encoder never holds a frame back and a
decoder never waits for a later one; a receiver that joins mid-stream or loses
its place waits for the next key frame, which the sender sends periodically and
on request.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
from av.video.frame import PictureType

from protocol.media import Codec
from qt_client.media.video_codec import DecodeError, EncodedFrame, check_frame, fit_image, fit_size

_ENCODERS = {
    Codec.H264: ("libx264", {
        "preset": "ultrafast",
        "tune": "zerolatency",  # no frame threads, no look-ahead: a packet for every frame
        "x264-params": "bframes=0:intra-refresh=0",
        "forced-idr": "1",  # a forced key frame must be one a new receiver can start from
    }),
    Codec.VP8: ("libvpx", {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "auto-alt-ref": "0",  # an alt-ref frame is never shown, so it would be a packet without a frame
    }),
}
_DECODERS = {Codec.H264: "h264", Codec.VP8: "vp8"}


class PyAvVideoEncoder:
    """Key frames come first, on `force_keyframe`, and every `keyframe_interval_s` after the last one."""

    def __init__(self, codec: Codec, width: int, height: int, fps: float, bitrate: int,
                 keyframe_interval_s: float) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"{codec.name} needs an even frame size (4:2:0 chroma), not {width}x{height}")
        name, options = _ENCODERS[codec]
        self.codec, self.width, self.height = codec, width, height
        context = av.CodecContext.create(name, "w")
        context.width, context.height, context.pix_fmt = width, height, "yuv420p"
        context.framerate = Fraction(fps).limit_denominator(1001)
        context.time_base = 1 / context.framerate
        context.bit_rate = bitrate
        # Both encoders restart this count at a forced key frame.
        context.gop_size = max(1, round(keyframe_interval_s * fps))
        context.max_b_frames = 0
        context.options = options
        context.open()
        # Reordering or look-ahead would hold frames back, which live video cannot wait for.
        if context.has_b_frames or context.delay:
            raise RuntimeError(f"{name} opened with a delay of {context.delay} frames")
        self._context: av.VideoCodecContext | None = context
        self._pts = 0

    def encode(self, frame: np.ndarray, force_keyframe: bool = False) -> EncodedFrame | None:
        if self._context is None:
            raise ValueError(f"{self.codec.name} encoder is closed")
        check_frame(frame, self.width, self.height)
        video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
        video_frame.pts = self._pts
        self._pts += 1
        if force_keyframe:
            video_frame.pict_type = PictureType.I
        packets = self._context.encode(video_frame)
        if not packets:
            return None
        if len(packets) > 1:
            raise RuntimeError(f"{self.codec.name} encoder gave {len(packets)} packets for one frame")
        return EncodedFrame(bytes(packets[0]), packets[0].is_keyframe)

    def close(self) -> None:
        """Free the codec now rather than whenever the garbage collector gets to it."""
        self._context = None


class PyAvVideoDecoder:
    """Skips everything until a key frame (a receiver that joined mid-stream has no reference yet)."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self._is_keyframe = _h264_is_keyframe if codec is Codec.H264 else _vp8_is_keyframe
        context = av.CodecContext.create(_DECODERS[codec], "r")
        context.thread_type = "SLICE"  # frame threads would return each frame several packets late
        # One thread: a call decodes several small streams, and slice threads waking per frame cost
        # more CPU than they save (0.29 -> 0.23 ms a 640x480 frame, and fewer threads on two cores).
        context.thread_count = 1
        self._context: av.VideoCodecContext | None = context
        self._waiting_for_keyframe = True

    def decode(self, payload: bytes, fit: tuple[int, int] | None = None,
               rgb: bool = False) -> np.ndarray | None:
        if self._context is None:
            raise ValueError(f"{self.codec.name} decoder is closed")
        # An empty packet would put FFmpeg's decoder into draining, after which it decodes nothing.
        if not payload:
            raise DecodeError(f"empty {self.codec.name} payload")
        if self._waiting_for_keyframe and not self._is_keyframe(payload):
            return None
        try:
            frames = self._context.decode(av.Packet(payload))
        except av.FFmpegError as exc:
            raise DecodeError(f"corrupt {self.codec.name} payload of {len(payload)} bytes: {exc}") from None
        if not frames:
            return None
        self._waiting_for_keyframe = False
        return _to_colour(frames[-1], fit, rgb)

    def close(self) -> None:
        """Free the codec now rather than whenever the garbage collector gets to it."""
        self._context = None


def _to_colour(frame: av.VideoFrame, fit: tuple[int, int] | None, rgb: bool) -> np.ndarray:
    """The picture as RGB or BGR within `fit`: shrunk while still 4:2:0 (1.5 bytes a pixel, not 3),
    then converted by OpenCV, which takes half the time swscale does."""
    width, height = frame.width, frame.height
    # As one OpenCV I420 image each chroma plane must fill whole rows: height a multiple of 4.
    if frame.format.name != "yuv420p" or width % 2 or height % 4:
        return fit_image(frame.to_ndarray(format="rgb24" if rgb else "bgr24"), fit)
    yuv = frame.to_ndarray()  # the Y plane's rows, then U's and V's, each a quarter of Y
    target = fit_size(width, height, *fit) if fit is not None else (width, height)
    target = (max(2, target[0] - target[0] % 2), max(4, target[1] - target[1] % 4))
    if target != (width, height):
        yuv = _shrink_i420(yuv, width, height, *target)
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420 if rgb else cv2.COLOR_YUV2BGR_I420)


def _shrink_i420(yuv: np.ndarray, width: int, height: int, to_width: int, to_height: int) -> np.ndarray:
    interpolation = cv2.INTER_AREA if to_width * 2 <= width else cv2.INTER_LINEAR
    quarter = height // 4
    planes = [cv2.resize(yuv[:height], (to_width, to_height), interpolation=interpolation)]
    for start in (height, height + quarter):
        chroma = yuv[start:start + quarter].reshape(height // 2, width // 2)
        planes.append(cv2.resize(chroma, (to_width // 2, to_height // 2), interpolation=interpolation)
                      .reshape(-1, to_width))
    return np.concatenate(planes)


def _h264_is_keyframe(payload: bytes) -> bool:
    """Whether an Annex B access unit holds an IDR slice (x264 sends SPS and PPS with each one)."""
    start = payload.find(b"\x00\x00\x01")
    while start >= 0 and start + 3 < len(payload):
        nal_type = payload[start + 3] & 0x1F
        if nal_type == 5:
            return True
        if nal_type == 1:  # a non-IDR slice: the frame's slices all have one type
            return False
        start = payload.find(b"\x00\x00\x01", start + 3)
    return False


def _vp8_is_keyframe(payload: bytes) -> bool:
    """RFC 6386 section 9.1: bit 0 of the frame tag is 0 for a key frame."""
    return not payload[0] & 1
