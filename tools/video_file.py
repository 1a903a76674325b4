"""Opening a video file with PyAV (FFmpeg's libraries, in process): the checks a path must pass first,
the video stream to read, and the one-line reason when a file cannot be used.

Reasons come only from what is structured: the error's kind (errno / AVERROR), the container's format
name, the streams' types and dispositions, the file's first bytes. Never from FFmpeg's log text, which
is written for people and changes between versions.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from tools.video_error import VideoError

# Demuxers that read a single still picture; everything else plays as a video (GIF included).
IMAGE_CONTAINERS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "jpegxl_pipe", "qoi_pipe"}

# FFmpeg "plays" any .txt file as ANSI art; a text file is never a video to us.
_TEXT_CONTAINERS = {"tty"}

# Box types an ISO-BMFF / QuickTime file (mp4, mov, m4a) can start with.
_MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

# Pictures that are not the video: cover art and thumbnails stored as a video stream.
_NOT_THE_VIDEO = Disposition.attached_pic | Disposition.timed_thumbnails


def check_readable_file(path: str | Path) -> Path:
    """The absolute path to open, or the VideoError that saves opening it."""
    given = str(path)
    if given.strip() == "":
        raise VideoError("''", "empty path")
    file = Path(path).expanduser()
    if not file.exists():
        raise VideoError(given, "no such file")
    if file.is_dir():
        raise VideoError(given, "is a directory, not a video file")
    if not file.is_file():
        raise VideoError(given, "not a regular file")
    if not os.access(file, os.R_OK):
        raise VideoError(given, "not readable (permission denied)")
    if file.stat().st_size == 0:
        raise VideoError(given, "empty file (0 bytes)")
    # Absolute, so that a name like "rtmp:x.mp4" can never read as a protocol.
    return file.resolve()


def open_container(file: Path, given: str) -> InputContainer:
    """``file`` opened for reading; VideoError naming ``given`` (the user's spelling) when it cannot be."""
    try:
        container = av.open(str(file), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise _open_failure(file, given, exc) from None
    if container.format.name in _TEXT_CONTAINERS:
        container.close()
        raise VideoError(given, "not a video or image file (text; ffmpeg would only render it as ANSI art)")
    return container


def video_stream(container: InputContainer, given: str) -> VideoStream:
    """The stream FFmpeg would pick: a real picture stream (not cover art), the default one first."""
    videos = [s for s in container.streams.video if not (s.disposition & _NOT_THE_VIDEO)]
    if not videos:
        has_audio = bool(container.streams.audio)
        raise VideoError(given, "no video stream (audio only)" if has_audio else "no video stream")
    defaults = [s for s in videos if s.disposition & Disposition.default]
    stream = (defaults or videos)[0]
    if stream.codec_context is None:
        raise VideoError(given, f"no decoder for its video codec ({stream.codec.name if stream.codec else 'unknown'})")
    if not stream.codec_context.width or not stream.codec_context.height:
        raise VideoError(given, "video stream has no picture size (ffmpeg cannot decode it)")
    return stream


def _open_failure(file: Path, given: str, exc: av.error.FFmpegError) -> VideoError:
    if isinstance(exc, FileNotFoundError):
        return VideoError(given, "no such file")
    if isinstance(exc, PermissionError):
        return VideoError(given, "not readable (permission denied)")
    if isinstance(exc, av.error.InvalidDataError):
        if _starts_like_mp4(file):
            return VideoError(given, "truncated or unfinished MP4 (its index, the moov atom, is missing)")
        return VideoError(given, "not a video or image file (ffmpeg does not recognise its contents)")
    if isinstance(exc, av.error.EOFError):
        return VideoError(given, "file ends before any picture (truncated)")
    return VideoError(given, f"ffmpeg cannot open it ({exc.strerror or exc})")


def _starts_like_mp4(file: Path) -> bool:
    """An MP4/MOV box header at offset 0: a plausible size, then a known box type."""
    try:
        with open(file, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    if len(head) < 8 or head[4:8] not in _MP4_FIRST_BOXES:
        return False
    size = int.from_bytes(head[:4], "big")
    return size in (0, 1) or size >= 8  # 0: the box runs to the end; 1: a 64-bit size follows


def clock_origin(container: InputContainer, stream: VideoStream) -> Fraction:
    """Seconds (exact) that decoded times count from: the video stream's own start, so the first frame of
    the usual files is at 0 s (an MPEG-TS whose container clock starts at 1.4 s still starts at 0)."""
    if stream.start_time is not None:
        return stream.start_time * stream.time_base
    if container.start_time is not None:
        return Fraction(container.start_time, av.time_base)
    return Fraction(0)
