"""Turning what ffprobe (JSON) or ``ffmpeg -i`` (its stderr banner) says about a file into a VideoProbe.

Two readers because imageio-ffmpeg ships no ffprobe: without one, the banner that ``ffmpeg -i FILE``
prints is the only description of the file we can get. The banner is meant for people, so the reader
is lenient: a line it does not understand is skipped, and only a missing video stream is an error.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from tools.video_error import VideoError
from tools.video_probe import VideoProbe

# Demuxers that read a single still picture; everything else plays as a video (GIF included).
_IMAGE_CONTAINERS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "jpegxl_pipe", "qoi_pipe"}

# ffmpeg "plays" any .txt file as ANSI art; a text file is never a video to us.
_TEXT_CONTAINERS = {"tty"}

# The banner prints 29.97 for 30000/1001; the exact NTSC rates keep sampled times from drifting.
_NTSC = [Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120)]


def _snap_ntsc(fps: float) -> float:
    for exact in _NTSC:
        if abs(fps - float(exact)) < 0.006:
            return float(exact)
    return fps


def _rotation_from_displaymatrix(counterclockwise: float) -> int:
    """ffmpeg prints the display matrix angle counterclockwise; the picture must be turned back by it."""
    return int(round(-counterclockwise / 90.0)) * 90 % 360


def _rotation_from_tag(clockwise: float) -> int:
    """The old ``rotate`` tag is already the clockwise turn to apply."""
    return int(round(clockwise / 90.0)) * 90 % 360


def open_failure(path: str, text: str) -> VideoError:
    """The one-line reason ffmpeg/ffprobe could not open ``path``, from what it printed."""
    lowered = text.lower()
    if "no such file" in lowered:
        return VideoError(path, "no such file")
    if "permission denied" in lowered:
        return VideoError(path, "not readable (permission denied)")
    if "detected only with low score" in lowered and ("moov atom not found" in lowered or "invalid data" in lowered):
        return VideoError(path, "not a video or image file (ffmpeg does not recognise its contents)")
    if "moov atom not found" in lowered:
        return VideoError(path, "truncated or unfinished MP4 (its index, the moov atom, is missing)")
    if "invalid data found when processing input" in lowered:
        return VideoError(path, "not a video or image file (invalid data found when processing input)")
    if "end of file" in lowered:
        return VideoError(path, "file ends before any picture (truncated)")
    reasons = [_strip_prefixes(line) for line in text.splitlines() if "rror" in line]
    return VideoError(path, f"ffmpeg cannot open it ({reasons[-1] if reasons else 'no reason given'})")


_PREFIX = re.compile(r"^(\s*\[[^\]]*\]\s*)+")


def _strip_prefixes(line: str) -> str:
    """``[in#0 @ 0x55..] [error] Something`` -> ``Something``."""
    return _PREFIX.sub("", line).strip()


# ---------------------------------------------------------------- ffmpeg -i banner

_INPUT = re.compile(r"^Input #0, (?P<container>.+?), from '")
_DURATION = re.compile(r"^\s*Duration: (?P<duration>N/A|\d+:\d\d:\d\d(?:\.\d+)?)(?:, start: (?P<start>-?\d+(?:\.\d+)?))?")
_STREAM = re.compile(r"^(?P<indent>\s*)Stream #0:(?P<index>\d+)\S*: (?P<kind>[A-Za-z]+): (?P<desc>.*)$")
_SIZE = re.compile(r"(?:^|[\s,])([1-9]\d{0,5})x([1-9]\d{0,5})(?=[\s,\[]|$)")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_RATE = re.compile(r"(\d+(?:\.\d+)?)(k?) (fps|tbr)\b")
_DISPLAYMATRIX = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+(?:\.\d+)?)\s*$", re.IGNORECASE)
_FRAME_STAT = re.compile(r"frame=\s*(\d+)")


def _hms(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _streams(lines: list[str]) -> list[dict[str, Any]]:
    """Each ``Stream #0:N`` line with the more-indented lines under it (its metadata and side data)."""
    streams: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in lines:
        match = _STREAM.match(line)
        if match:
            current = {
                "index": int(match["index"]),
                "kind": match["kind"],
                "desc": match["desc"],
                "indent": len(match["indent"]),
                "block": [],
            }
            streams.append(current)
            continue
        if current is not None:
            indent = len(line) - len(line.lstrip())
            # ffmpeg 4.x prints a stream's "Metadata:" and "Side data:" at the stream line's own indent.
            heading = indent == current["indent"] and line.strip() in ("Metadata:", "Side data:")
            if line.strip() and (indent > current["indent"] or heading):
                current["block"].append(line)
            else:
                current = None
    seen: set[int] = set()
    unique = []
    for stream in streams:  # stream groups may list a stream a second time
        if stream["index"] not in seen:
            seen.add(stream["index"])
            unique.append(stream)
    return unique


def _choose_video(streams: list[dict[str, Any]], kind_of: Any, is_cover: Any, is_default: Any) -> Any:
    """The stream ffmpeg would pick: a real picture stream (not cover art), the default one first."""
    videos = [s for s in streams if kind_of(s) == "video" and not is_cover(s)]
    if not videos:
        return None
    defaults = [s for s in videos if is_default(s)]
    return (defaults or videos)[0]


def parse_ffmpeg_banner(path: str, text: str) -> VideoProbe:
    """Read the stderr of ``ffmpeg -hide_banner -i FILE`` (any ffmpeg from 4.x on)."""
    lines = text.splitlines()
    container = next((m["container"] for m in map(_INPUT.match, lines) if m), None)
    if container is None:
        raise open_failure(path, text)
    if container in _TEXT_CONTAINERS:
        raise VideoError(path, "not a video or image file (text; ffmpeg would only render it as ANSI art)")
    duration: float | None = None
    start = 0.0
    for line in lines:
        match = _DURATION.match(line)
        if match:
            duration = None if match["duration"] == "N/A" else _hms(match["duration"])
            start = float(match["start"]) if match["start"] else 0.0
            break
    streams = _streams(lines)
    video = _choose_video(
        streams,
        kind_of=lambda s: s["kind"].lower(),
        is_cover=lambda s: "(attached pic)" in s["desc"] or "(thumbnail)" in s["desc"],
        is_default=lambda s: "(default)" in s["desc"],
    )
    has_audio = any(s["kind"] == "Audio" for s in streams)
    if video is None:
        raise VideoError(path, "no video stream (audio only)" if has_audio else "no video stream")
    desc = video["desc"]
    size = _SIZE.search(desc)
    if size is None:
        raise VideoError(path, "video stream has no picture size (ffmpeg cannot decode it)")
    codec_match = re.match(r"[\w-]+", desc)
    codec = codec_match.group(0) if codec_match else "unknown"
    sar = 1.0
    sar_match = _SAR.search(desc)
    if sar_match and int(sar_match[1]) > 0 and int(sar_match[2]) > 0:
        sar = int(sar_match[1]) / int(sar_match[2])
    rates: dict[str, float] = {}
    for value, kilo, unit in _RATE.findall(desc):
        rates.setdefault(unit, float(value) * (1000 if kilo else 1))
    rotation = 0
    tag_rotation: int | None = None
    for line in video["block"]:
        matrix = _DISPLAYMATRIX.search(line)
        if matrix:
            rotation = _rotation_from_displaymatrix(float(matrix[1]))
            tag_rotation = None
            break
        tag = _ROTATE_TAG.match(line)
        if tag:
            tag_rotation = _rotation_from_tag(float(tag[1]))
    if tag_rotation is not None:
        rotation = tag_rotation
    is_image = container in _IMAGE_CONTAINERS
    avg = rates.get("fps")
    real = rates.get("tbr")
    return VideoProbe(
        path=path,
        container=container,
        codec=codec,
        video_stream=video["index"],
        width=int(size[1]),
        height=int(size[2]),
        sample_aspect_ratio=sar,
        rotation_deg=rotation,
        duration_s=0.0 if is_image else duration,
        start_s=start,
        avg_fps=None if is_image or avg is None else _snap_ntsc(avg),
        real_fps=None if is_image or real is None else _snap_ntsc(real),
        frame_count=1 if is_image else None,
        has_audio=has_audio,
        is_image=is_image,
        probed_with="ffmpeg",
    )


def parse_frame_count(text: str) -> int | None:
    """Frames counted by ``ffmpeg -i FILE -map 0:V -c copy -f null -``: the last ``frame=`` figure."""
    counts = _FRAME_STAT.findall(text)
    return int(counts[-1]) if counts else None


# ---------------------------------------------------------------- ffprobe -print_format json


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "N/A"):
        return None
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _float(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def parse_ffprobe_json(path: str, data: dict[str, Any]) -> VideoProbe:
    """Read ``ffprobe -print_format json -show_format -show_streams FILE``."""
    streams: list[dict[str, Any]] = data.get("streams") or []
    fmt: dict[str, Any] = data.get("format") or {}
    if not fmt and not streams:
        raise VideoError(path, "not a video or image file (ffprobe found no streams)")
    video = _choose_video(
        streams,
        kind_of=lambda s: s.get("codec_type"),
        is_cover=lambda s: bool((s.get("disposition") or {}).get("attached_pic")),
        is_default=lambda s: bool((s.get("disposition") or {}).get("default")),
    )
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if video is None:
        raise VideoError(path, "no video stream (audio only)" if has_audio else "no video stream")
    if not video.get("width") or not video.get("height"):
        raise VideoError(path, "video stream has no picture size (ffprobe cannot decode it)")
    rotation = 0
    for side in video.get("side_data_list") or []:
        if "rotation" in side:
            rotation = _rotation_from_displaymatrix(float(side["rotation"]))
            break
    else:
        tag = (video.get("tags") or {}).get("rotate")
        if _float(tag) is not None:
            rotation = _rotation_from_tag(float(tag))
    sar = 1.0
    sar_text = video.get("sample_aspect_ratio") or ""
    if re.fullmatch(r"\d+:\d+", sar_text) and not sar_text.startswith("0:") and not sar_text.endswith(":0"):
        num, den = sar_text.split(":")
        sar = int(num) / int(den)
    container = fmt.get("format_name") or "unknown"
    if container in _TEXT_CONTAINERS:
        raise VideoError(path, "not a video or image file (text; ffmpeg would only render it as ANSI art)")
    is_image = container in _IMAGE_CONTAINERS
    duration = _float(fmt.get("duration"))
    if duration is None:
        duration = _float(video.get("duration"))
    frames = video.get("nb_frames")
    return VideoProbe(
        path=path,
        container=container,
        codec=video.get("codec_name") or "unknown",
        video_stream=int(video.get("index", 0)),
        width=int(video["width"]),
        height=int(video["height"]),
        sample_aspect_ratio=sar,
        rotation_deg=rotation,
        duration_s=0.0 if is_image else duration,
        start_s=_float(fmt.get("start_time")) or 0.0,
        avg_fps=None if is_image else _rate(video.get("avg_frame_rate")),
        real_fps=None if is_image else _rate(video.get("r_frame_rate")),
        frame_count=1 if is_image else (int(frames) if str(frames).isdigit() else None),
        has_audio=has_audio,
        is_image=is_image,
        probed_with="ffprobe",
    )
