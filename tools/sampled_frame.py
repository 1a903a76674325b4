"""One frame the indexer sampled, decoded again from its stored time (for the passes that name regions of a finished
video: agent/indexing/event_parts.py, agent/indexing/object_views.py)."""

from __future__ import annotations

from pathlib import Path

from sa2va_engine.user_error import UserError
from tools.video_decode import DecodedFrame, decode_frames


def sampled_frame(path: str | Path, time_s: float, max_side: int, sample_fps: float) -> DecodedFrame | None:
    """The frame the indexer sampled at `time_s`, at a long side of `max_side`; None when it no longer decodes (the
    file changed or broke since). The stored time is that frame's own, and it is the first of its sampling slot, so
    a window of one sampling step around it decodes it again; the nearest is taken."""
    half = 0.5 / sample_fps
    try:
        frames = list(decode_frames(path, sample_fps=sample_fps, max_side=max_side, start_s=max(0.0, time_s - half),
                                    end_s=time_s + half))
    except UserError:
        return None
    return min(frames, key=lambda f: abs(f.time_s - time_s)) if frames else None
