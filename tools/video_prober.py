"""Probing files with PyAV: what the container and its video stream say (duration, rate, size, codec,
audio), plus the rotation carried by the first picture's display matrix.

Every failure a user can cause (missing file, directory, empty or foreign file, audio only, ...) comes
out as one VideoError; ``probe_many`` returns those beside the good probes so a batch never stops on one.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer
from av.video.stream import VideoStream

from tools.video_error import VideoError
from tools.video_file import IMAGE_CONTAINERS, check_readable_file, open_container, video_stream
from tools.video_probe import VideoProbe

# Packets read looking for the first picture (its display matrix says how to turn the video upright).
_FIRST_PICTURE_PACKETS = 64


def probe_video(path: str | Path, *, count_frames: bool = False) -> VideoProbe:
    """Facts about one video or image; raises VideoError naming the file when it cannot be used.

    ``count_frames`` reads the whole file (packets only, nothing decoded) when the container does not
    state the count. ``VideoProbe.path`` keeps the path as given, so messages name the file the way the
    user did.
    """
    given = str(path)
    file = check_readable_file(path)
    with open_container(file, given) as container:
        stream = video_stream(container, given)
        is_image = container.format.name in IMAGE_CONTAINERS
        rotation = _rotation(container, stream)
        frames = 1 if is_image else (stream.frames or None)
        if count_frames and frames is None:
            with open_container(file, given) as again:  # from the start again: finding the rotation read on
                frames = _count_packets(again, again.streams[stream.index])
        return VideoProbe(
            path=given,
            container=container.format.name,
            codec=stream.codec_context.codec.canonical_name or stream.codec_context.codec.name,
            video_stream=stream.index,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            sample_aspect_ratio=float(stream.sample_aspect_ratio or 1) or 1.0,
            rotation_deg=rotation,
            duration_s=0.0 if is_image else _duration_s(container, stream),
            start_s=float(Fraction(container.start_time, av.time_base)) if container.start_time is not None else 0.0,
            avg_fps=None if is_image else _rate(stream.average_rate),
            real_fps=None if is_image else _rate(stream.base_rate),
            frame_count=frames,
            has_audio=bool(container.streams.audio),
            is_image=is_image,
        )


def _duration_s(container: InputContainer, stream: VideoStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(Fraction(container.duration, av.time_base))
    if stream.duration is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _rate(rate: Fraction | None) -> float | None:
    return float(rate) if rate else None


def _rotation(container: InputContainer, stream: VideoStream) -> int:
    """Clockwise turn (0/90/180/270) that shows the picture upright. FFmpeg attaches the container's display
    matrix to every decoded picture and reports it counterclockwise; a file whose first picture cannot be
    decoded gets 0 here (decoding it says what is wrong)."""
    packets = 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                return int(round(-frame.rotation / 90.0)) * 90 % 360
            packets += 1
            if packets >= _FIRST_PICTURE_PACKETS:
                break
    except av.error.FFmpegError:
        pass
    return 0


def _count_packets(container: InputContainer, stream: VideoStream) -> int | None:
    """Frames in the video stream, counted as its packets (one picture each); nothing is decoded."""
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:  # the empty packet at the end only flushes the decoder
                count += 1
    except av.error.FFmpegError:
        return None
    return count


def probe_many(paths: Iterable[str | Path], *, count_frames: bool = False) -> list[VideoProbe | VideoError]:
    """One entry per path, in order: its probe, or the VideoError that says why it cannot be used."""
    results: list[VideoProbe | VideoError] = []
    for path in paths:
        try:
            results.append(probe_video(path, count_frames=count_frames))
        except VideoError as exc:
            results.append(exc)
    return results
