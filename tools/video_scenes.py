"""Scene cuts: the times at which the picture changes abruptly, by ffmpeg's scene score.

This decodes the whole video once more (every frame, since a cut can fall between two samples), on
frames shrunk to ``max_side`` px first because the score does not need detail. For chunk planning only.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import ffmpeg

from tools.ffmpeg_binary import FfmpegBinary, find_ffmpeg
from tools.video_error import VideoError
from tools.video_ffmpeg_log import FfmpegLog
from tools.video_probe import VideoProbe
from tools.video_prober import check_readable_file, probe_video

DEFAULT_SCENE_THRESHOLD = 0.4


def scene_cut_command(file: Path, probe: VideoProbe, binary: FfmpegBinary, threshold: float, max_side: int) -> list[str]:
    scale = min(1.0, max_side / max(probe.width, probe.height))
    width, height = max(2, round(probe.width * scale / 2) * 2), max(2, round(probe.height * scale / 2) * 2)
    stream = ffmpeg.input(str(file), noautorotate=None)[str(probe.video_stream)]
    stream = stream.filter("scale", width, height, flags="fast_bilinear")
    stream = stream.filter("select", f"gt(scene,{threshold:.4f})").filter("showinfo")
    out = stream.output("-", format="null", **{binary.fps_mode_option: "passthrough"})
    return [binary.ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", binary.loglevel, *out.get_args()]


def detect_scene_cuts(
    path: str | Path,
    *,
    threshold: float = DEFAULT_SCENE_THRESHOLD,
    max_side: int = 320,
    probe: VideoProbe | None = None,
) -> list[float]:
    """Times (seconds from the start of the video) of the first frame of each new scene, ascending.

    ``threshold`` is ffmpeg's scene score in [0, 1]; 0.4 finds hard cuts and ignores camera motion.
    A damaged file gives the cuts found in what could be decoded; an unusable one raises VideoError."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    file = check_readable_file(path)
    binary = find_ffmpeg()
    probe = probe or probe_video(path, binary=binary)
    if probe.is_image:
        return []
    proc = subprocess.Popen(
        scene_cut_command(file, probe, binary, threshold, max_side),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    ffmpeg_log = FfmpegLog(io.TextIOWrapper(proc.stderr, encoding="utf-8", errors="replace"))
    # No frames come through a pipe here, so reading stderr in this thread is enough.
    ffmpeg_log.run()
    returncode = proc.wait()
    cuts: list[float] = []
    while True:
        item = ffmpeg_log.times.get_nowait()
        if item is FfmpegLog.END:
            break
        if isinstance(item, float):
            cuts.append(item)
    if returncode != 0 and not cuts:
        reason = ffmpeg_log.problems[0].message if ffmpeg_log.problems else f"ffmpeg exit code {returncode}"
        raise VideoError(str(path), f"scene detection failed ({reason})")
    return cuts
