"""Reading a running ffmpeg's stderr: frame timestamps from ``showinfo`` and the problems it reports.

It runs in a thread of its own because ffmpeg blocks when a pipe it writes to is full: stdout (frames)
is read by the caller, stderr (a few lines per frame) here, so neither can stall the other.
ffmpeg should run with ``-loglevel level+info`` so every line carries its level (``[error]``...); lines
without a level (ffmpeg older than 4.3) are judged by their words alone.
"""

from __future__ import annotations

import queue
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import IO

_SHOWINFO_CONFIG = re.compile(r"config in time_base: (\d+)/(\d+)")
_SHOWINFO_FRAME = re.compile(r"\bn:\s*\d+\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:(\S+)")
_PREFIX = re.compile(r"^(\s*\[[^\]]*\]\s*)+")
# Warnings that mean the data itself is damaged (others, like "deprecated pixel format", are noise).
_DAMAGE_WARNING = re.compile(r"corrupt|partial file|invalid|missing|truncat|error", re.IGNORECASE)
_KEEP_PROBLEMS = 8


@dataclass(frozen=True)
class Problem:
    """One damage report from ffmpeg; ``near_s`` is the time of the last frame seen before it (seconds)."""

    message: str
    near_s: float | None


def level_of(line: str) -> str | None:
    for level in ("panic", "fatal", "error", "warning", "info"):
        if f"[{level}]" in line:
            return level
    return None


class FfmpegLog(threading.Thread):
    """Consumes ffmpeg's stderr. ``times`` yields showinfo frame times (seconds of the filter's clock,
    ``None`` for a frame without a timestamp) and finally ``END``; ``problems`` gathers damage reports."""

    END = object()

    def __init__(self, stream: IO[str]):
        super().__init__(daemon=True, name="ffmpeg-stderr")
        self._stream = stream
        self.times: queue.Queue[object] = queue.Queue()
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.last_lines: list[str] = []
        self._time_base: Fraction | None = None
        self._last_time: float | None = None

    def run(self) -> None:
        try:
            for line in self._stream:
                self._line(line.rstrip("\n"))
        except ValueError:  # the pipe was closed under us because the caller stopped early
            pass
        finally:
            self.times.put(self.END)

    def _line(self, line: str) -> None:
        if "showinfo" in line:
            config = _SHOWINFO_CONFIG.search(line)
            if config and int(config[2]) != 0:
                self._time_base = Fraction(int(config[1]), int(config[2]))
                return
            frame = _SHOWINFO_FRAME.search(line)
            if frame:
                self._last_time = self._time_of(frame[1], frame[2])
                self.times.put(self._last_time)
                return
        level = level_of(line)
        text = _PREFIX.sub("", line).strip()
        if not text:
            return
        damage = level in ("panic", "fatal", "error") or (level in ("warning", None) and _DAMAGE_WARNING.search(text))
        if damage:
            self.problem_count += 1
            if len(self.problems) < _KEEP_PROBLEMS:
                self.problems.append(Problem(text, self._last_time))
        if level != "info" or text.startswith("frame="):
            self.last_lines = (self.last_lines + [text])[-5:]

    def _time_of(self, pts: str, pts_time: str) -> float | None:
        # showinfo prints pts_time with 6 significant digits (0.01 s at one hour); pts * time base is exact.
        if pts == "NOPTS":
            return None
        if self._time_base is not None:
            return float(int(pts) * self._time_base)
        try:
            return float(pts_time)
        except ValueError:
            return None
