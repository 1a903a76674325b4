"""Probing files: the checks a path must pass before ffmpeg sees it, then ffprobe or ``ffmpeg -i``.

Every failure a user can cause (missing file, directory, empty or foreign file, audio only, ...) comes
out as one VideoError; ``probe_many`` returns those beside the good probes so a batch never stops on one.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from tools.ffmpeg_binary import FfmpegBinary, find_ffmpeg
from tools.video_error import VideoError
from tools.video_probe import VideoProbe
from tools.video_probe_parse import open_failure, parse_ffmpeg_banner, parse_ffprobe_json, parse_frame_count

PROBE_TIMEOUT_S = 120.0


def check_readable_file(path: str | Path) -> Path:
    """The absolute path ffmpeg will be given, or the VideoError that saves starting it."""
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
    # Absolute, so that a name like "-x.mp4" or "rtmp:x.mp4" can never read as an option or a protocol.
    return file.resolve()


def _run(cmd: list[str], path: str, what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise VideoError(path, f"{what} took longer than {PROBE_TIMEOUT_S:.0f} s (unreadable or stalled input)") from None


def probe_video(path: str | Path, *, count_frames: bool = False, binary: FfmpegBinary | None = None) -> VideoProbe:
    """Facts about one video or image; raises VideoError naming the file when it cannot be used.

    ``count_frames`` reads the whole file (no decoding) when the container does not state the count.
    ``VideoProbe.path`` keeps the path as given, so messages name the file the way the user did.
    """
    given = str(path)
    file = check_readable_file(path)
    binary = binary or find_ffmpeg()
    if binary.ffprobe:
        # -v warning, not error: "detected only with low score" (a foreign file) is a warning.
        cmd = [binary.ffprobe, "-v", "warning", "-print_format", "json", "-show_format", "-show_streams", str(file)]
        done = _run(cmd, given, "ffprobe")
        if done.returncode != 0:
            raise open_failure(given, done.stderr)
        try:
            data = json.loads(done.stdout or "{}")
        except json.JSONDecodeError:
            raise VideoError(given, "ffprobe printed something that is not JSON") from None
        probe = parse_ffprobe_json(given, data)
    else:
        done = _run([binary.ffmpeg, "-hide_banner", "-nostdin", "-i", str(file)], given, "ffmpeg -i")
        probe = parse_ffmpeg_banner(given, done.stderr)
    if count_frames and probe.frame_count is None:
        probe = probe.model_copy(update={"frame_count": count_video_frames(file, probe, binary)})
    return probe


def count_video_frames(file: Path, probe: VideoProbe, binary: FfmpegBinary) -> int | None:
    """Frames in the video stream, counted by copying its packets to nowhere (fast: nothing is decoded)."""
    cmd = [binary.ffmpeg, "-hide_banner", "-nostdin", "-i", str(file), "-map", f"0:{probe.video_stream}",
           "-c", "copy", "-f", "null", "-"]
    done = _run(cmd, probe.path, "counting frames")
    return parse_frame_count(done.stderr)


def probe_many(paths: Iterable[str | Path], *, count_frames: bool = False) -> list[VideoProbe | VideoError]:
    """One entry per path, in order: its probe, or the VideoError that says why it cannot be used."""
    results: list[VideoProbe | VideoError] = []
    for path in paths:
        try:
            results.append(probe_video(path, count_frames=count_frames))
        except VideoError as exc:
            results.append(exc)
    return results
