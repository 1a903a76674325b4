"""Which ffmpeg the video tools run, found once per process.

Order: ``$SVA_FFMPEG`` (an explicit choice wins), then ``ffmpeg`` on PATH (the user's own build, usually
with ffprobe beside it), then the static binary that the pip package imageio-ffmpeg ships, so that
``bash install.sh`` is enough on a machine without ffmpeg. imageio-ffmpeg ships no ffprobe; probing then
reads ``ffmpeg -i`` output instead (see ``video_probe_parse``).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from typing import Literal

from pydantic import BaseModel

from sa2va_engine.user_error import UserError


class FfmpegMissing(UserError):
    """No usable ffmpeg binary: nothing in tools/video_* can run."""


class FfmpegBinary(BaseModel):
    ffmpeg: str
    ffprobe: str | None
    source: Literal["SVA_FFMPEG", "system", "imageio-ffmpeg"]
    version: str
    version_tuple: tuple[int, int] | None = None

    @property
    def fps_mode_option(self) -> str:
        """The output option that stops ffmpeg from duplicating or dropping frames.

        ``-fps_mode`` replaced ``-vsync`` in ffmpeg 5.1; git builds print no release number and are new."""
        if self.version_tuple is not None and self.version_tuple < (5, 1):
            return "vsync"
        return "fps_mode"

    @property
    def loglevel(self) -> str:
        """``level+info`` tags every stderr line with its level (ffmpeg 4.3+); older ones get plain ``info``."""
        if self.version_tuple is not None and self.version_tuple < (4, 3):
            return "info"
        return "level+info"

    def describe(self) -> str:
        probe = self.ffprobe or "none (probing parses `ffmpeg -i` output)"
        return f"ffmpeg {self.version} from {self.source}: {self.ffmpeg}; ffprobe: {probe}"


_VERSION = re.compile(r"version\s+n?(\d+)\.(\d+)(?:\.\d+)?")


def parse_version(first_line: str) -> tuple[str, tuple[int, int] | None]:
    """``ffmpeg version n9.0.2-17-g2a5... Copyright`` -> ("n9.0.2-17-g2a5...", (9, 0))."""
    words = first_line.split()
    raw = words[2] if len(words) > 2 and words[0] == "ffmpeg" and words[1] == "version" else first_line.strip()
    match = _VERSION.search(first_line)
    return raw, ((int(match.group(1)), int(match.group(2))) if match else None)


def _version_of(ffmpeg: str) -> tuple[str, tuple[int, int] | None]:
    try:
        out = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FfmpegMissing(f"{ffmpeg}: cannot run ffmpeg ({exc})") from None
    first = (out.stdout or out.stderr).splitlines()[:1]
    if out.returncode != 0 or not first:
        raise FfmpegMissing(f"{ffmpeg}: does not answer `-version` like ffmpeg does")
    return parse_version(first[0])


def _sibling_ffprobe(ffmpeg: str) -> str | None:
    candidate = os.path.join(os.path.dirname(ffmpeg), "ffprobe" + (".exe" if ffmpeg.endswith(".exe") else ""))
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def locate() -> tuple[str, str | None, str]:
    """(ffmpeg, ffprobe or None, source) without running anything."""
    explicit = os.environ.get("SVA_FFMPEG")
    if explicit:
        return explicit, _sibling_ffprobe(explicit), "SVA_FFMPEG"
    system = shutil.which("ffmpeg")
    if system:
        return system, _sibling_ffprobe(system) or shutil.which("ffprobe"), "system"
    try:
        import imageio_ffmpeg
    except ImportError:
        raise FfmpegMissing("no ffmpeg on PATH and imageio-ffmpeg is not installed; run install.sh") from None
    try:
        bundled = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise FfmpegMissing(f"no ffmpeg on PATH and imageio-ffmpeg has none: {exc}") from None
    return bundled, None, "imageio-ffmpeg"


@functools.lru_cache(maxsize=1)
def find_ffmpeg() -> FfmpegBinary:
    """The binary every video tool uses; cached, so call ``find_ffmpeg.cache_clear()`` after changing PATH."""
    ffmpeg, ffprobe, source = locate()
    version, version_tuple = _version_of(ffmpeg)
    return FfmpegBinary(ffmpeg=ffmpeg, ffprobe=ffprobe, source=source, version=version, version_tuple=version_tuple)
