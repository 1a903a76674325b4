"""An overlay video: decoded frames with mask tracks drawn on, encoded so a browser can play it.

Why these choices:
- Streaming. Frames are drawn, converted and encoded one at a time in this process (PyAV: FFmpeg's
  libraries and the libx264 its wheel ships), so memory does not grow with the video's length.
- Browser-playable. H.264 (libx264), yuv420p, even width and height, ``faststart`` (the index at the
  front, so playback starts before the download ends), colours converted and tagged BT.709 (limited
  range): what Chromium's HTML5 <video> plays without plugins. An odd side loses its last pixel
  row/column (a 1-pixel side is doubled).
- Constant rate. The output plays at ``fps`` frames per second whatever the input times were: a gap in
  the decoded frames (a variable-rate recording) is closed up, not held on screen.
- All or nothing. The encoder writes a hidden ``.<name>.<random>.part`` file next to ``out`` which is
  renamed onto ``out`` only after the last packet is written, so a failure never leaves a half-written
  file at ``out``.

Which track point goes on which frame: the point of each masklet nearest the frame's time (seconds), if
it is within half of that masklet's own point spacing (the median gap between its points) plus 1 ms for
timestamp rounding. Half the spacing is the widest window in which every frame still belongs to exactly
one point, so a track sampled at 2 fps covers every frame of a 30 fps overlay, while a frame that falls
in a gap of the track, or before its first or after its last point, shows nothing for it. A masklet of
a single point has no spacing; it gets half the output frame interval (``0.5 / fps``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace
from pydantic import BaseModel, Field

from sa2va_engine.masklet import Masklet, TrackPoint
from tools.overlay_draw import draw_tracks
from tools.video_decode import DecodedFrame
from tools.video_error import VideoError

# Slack added to every tolerance: decoded times are rounded to the stream's time base.
_TIME_SLACK_S = 1e-3
_CRF = 20  # x264 quality: visually clean at small sizes; masks and text stay crisp
H264_ENCODER = "libx264"
_BT709 = 1  # ITU-T H.273 code of BT.709 primaries, transfer and matrix


class OverlayReport(BaseModel):
    """What ``write_overlay_video`` wrote."""

    path: str
    frames: int
    duration_s: float = Field(description="seconds of playback: frames / fps")
    width: int = Field(description="pixels, as encoded (even)")
    height: int = Field(description="pixels, as encoded (even)")


class _Track:
    """One masklet's points sorted by time, for nearest-in-time lookups (seconds)."""

    def __init__(self, masklet: Masklet, tolerance_s: float):
        self.label = masklet.expression
        self.points = sorted(masklet.points, key=lambda p: p.time_s)
        self.times = [p.time_s for p in self.points]
        self.tolerance_s = tolerance_s

    def at(self, time_s: float) -> TrackPoint | None:
        i = bisect.bisect_left(self.times, time_s)
        # On a tie the earlier point wins, so the choice never depends on float noise in the order.
        candidates = [j for j in (i - 1, i) if 0 <= j < len(self.times)]
        if not candidates:
            return None
        best = min(candidates, key=lambda j: abs(self.times[j] - time_s))
        return self.points[best] if abs(self.times[best] - time_s) <= self.tolerance_s else None


def track_tolerance_s(masklet: Masklet, fallback_s: float) -> float:
    """Half the median gap (seconds) between the masklet's points plus 1 ms; ``fallback_s`` when it has
    fewer than two distinct times. See the module docstring for why."""
    times = sorted({p.time_s for p in masklet.points})
    if len(times) < 2:
        return fallback_s
    return float(np.median(np.diff(times))) / 2 + _TIME_SLACK_S


def points_at(masklets: Sequence[Masklet], time_s: float, tolerance_s: float) -> list[tuple[TrackPoint, str]]:
    """For each masklet, its point nearest ``time_s`` (seconds) if at most ``tolerance_s`` seconds away,
    labelled with the masklet's expression. Masklets with no point that close are left out; an absent
    point that is nearest is returned (it draws nothing, which is what it means)."""
    return _points_at([_Track(m, tolerance_s) for m in masklets], time_s)


def _points_at(tracks: Sequence[_Track], time_s: float) -> list[tuple[TrackPoint, str]]:
    found = []
    for track in tracks:
        point = track.at(time_s)
        if point is not None:
            found.append((point, track.label))
    return found


def write_overlay_video(
    frames: Iterable[DecodedFrame],
    masklets: Sequence[Masklet],
    out: Path,
    fps: float,
) -> OverlayReport:
    """Draw ``masklets`` on ``frames`` and encode them as an H.264 mp4 at ``out`` playing at ``fps``
    frames per second. Raises VideoError naming ``out`` when the destination is unusable, there is no
    frame, or encoding fails; nothing is left at ``out`` then (an existing file there is kept as it was)."""
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    out = Path(out)
    _check_destination(out)
    stream = iter(frames)
    first = next(stream, None)
    if first is None:
        raise VideoError(out, "no frames to write")
    tracks = [_Track(m, track_tolerance_s(m, 0.5 / fps)) for m in masklets]
    source_h, source_w = first.image.shape[:2]
    width, height = _even(source_w), _even(source_h)
    part = out.absolute().with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.part")
    done = False
    count = 0
    try:
        try:
            container = av.open(str(part), mode="w", format="mp4", options={"movflags": "+faststart"})
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(out, f"cannot write the file ({getattr(exc, 'strerror', None) or exc})") from None
        try:
            video = _add_h264_stream(container, out, width, height, fps)
            for image in _drawn(itertools.chain([first], stream), tracks):
                frame = av.VideoFrame.from_ndarray(_fit(image, source_w, source_h, width, height), format="rgb24")
                frame = frame.reformat(format="yuv420p", src_colorspace=Colorspace.ITU709,
                                       dst_colorspace=Colorspace.ITU709)
                frame.pts = count
                for packet in video.encode(frame):
                    container.mux(packet)
                count += 1
            for packet in video.encode(None):  # what the encoder still holds
                container.mux(packet)
        except av.error.FFmpegError as exc:
            raise VideoError(out, f"the video could not be encoded ({exc.strerror or exc})") from None
        finally:
            try:
                container.close()
            except av.error.FFmpegError as exc:
                if not done:
                    raise VideoError(out, f"the video could not be written ({exc.strerror or exc})") from None
        try:
            os.replace(part, out)
        except OSError as exc:
            raise VideoError(out, f"cannot write the file ({exc.strerror or exc})") from None
        done = True
    finally:
        if not done:
            part.unlink(missing_ok=True)
            # A decoding generator stopped early releases its file now, not at GC.
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    return OverlayReport(path=str(out), frames=count, duration_s=count / fps, width=width, height=height)


def encoder_problem() -> str | None:
    """Why overlays cannot be written here (PyAV's FFmpeg has no H.264 encoder), or None when they can."""
    try:
        av.codec.Codec(H264_ENCODER, "w")
    except (av.error.FFmpegError, ValueError) as exc:
        return f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}) has no {H264_ENCODER} encoder ({exc})"
    return None


def _add_h264_stream(container, out: Path, width: int, height: int, fps: float):
    problem = encoder_problem()
    if problem is not None:
        raise VideoError(out, f"cannot encode H.264: {problem}")
    rate = Fraction(fps).limit_denominator(100_000)
    video = container.add_stream(H264_ENCODER, rate=rate)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    video.time_base = 1 / rate
    video.options = {"crf": str(_CRF), "preset": "veryfast"}
    context = video.codec_context
    context.color_range = ColorRange.MPEG
    context.colorspace = context.color_primaries = context.color_trc = _BT709
    return video


def _drawn(frames: Iterable[DecodedFrame], tracks: Sequence[_Track]) -> Iterator[np.ndarray]:
    for frame in frames:
        yield draw_tracks(frame.image, _points_at(tracks, frame.time_s))


def _check_destination(out: Path) -> None:
    folder = out.parent
    if out.is_dir():
        raise VideoError(out, "is a directory; give a file name such as overlay.mp4")
    if not folder.exists():
        raise VideoError(out, f"output folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise VideoError(out, f"{str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise VideoError(out, f"output folder {str(folder)!r} is not writable (permission denied)")


def _even(side: int) -> int:
    """Encoded side in pixels: H.264 in yuv420p needs it even; drop a pixel, or double a 1-pixel side."""
    if side % 2 == 0:
        return side
    return side - 1 if side > 1 else 2


def _fit(image: np.ndarray, source_w: int, source_h: int, width: int, height: int) -> np.ndarray:
    """``image`` at the encoded size: frames of another size than the first are resized to it, then the
    last odd row/column is cropped (or a 1-pixel side repeated)."""
    if image.shape[:2] != (source_h, source_w):
        image = cv2.resize(image, (source_w, source_h), interpolation=cv2.INTER_AREA)
    image = image[:height, :width]
    if image.shape[:2] != (height, width):
        image = np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)), mode="edge")
    return image
