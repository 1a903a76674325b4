"""Seconds as people read them on a video player: 0:07.5, 12:03.0, 1:02:03."""

from __future__ import annotations


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 1:
        return f"{int(hours)}:{int(minutes):02d}:{int(secs):02d}"
    return f"{int(minutes)}:{secs:04.1f}"


def span(start_s: float, end_s: float) -> str:
    return f"{clock(start_s)}–{clock(end_s)}"
