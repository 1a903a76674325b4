"""Pictures of indexed videos with the tracked masks drawn on, rendered on demand and kept on disk:
moment and object thumbnails (PNG) and short overlay clips (H.264 mp4 a browser plays).

A rendered file is named by a hash of what it shows (the video's content hash, the object ids, the time
window, the renderer's version), so it stays valid until the video's content changes, is shared by
every session and every dashboard process, and a half-written file is never served (writes go to a
temporary name that is renamed into place).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from index.reader import IndexReader
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.overlay_draw import thumbnail
from tools.overlay_video import write_overlay_video
from tools.video_decode import decode_frames
from tools.video_error import VideoError
from ui.media import IndexedVideo

_VERSION = 1  # bump when drawing changes, so old renders are not served
THUMB_SIDE = 320
CLIP_SIDE = 640
CLIP_PAD_S = 1.0  # seconds shown before and after a moment
MAX_CLIP_S = 60.0  # a longer moment is shown from its start for this long
MAX_CLIP_FPS = 12.0


class RenderedClip(BaseModel):
    """An overlay clip of ``start_s``-``end_s`` seconds of the source video."""

    path: Path
    start_s: float = Field(description="source time of the clip's first frame, seconds")
    end_s: float = Field(description="seconds")

    def offset(self, source_time_s: float) -> int:
        """Where in the clip (whole seconds, what st.video takes) a source time falls."""
        return max(0, int(source_time_s - self.start_s))


def _cache_file(cache_dir: Path, kind: str, video: IndexedVideo, key: dict, suffix: str) -> Path:
    ident = {"v": _VERSION, "kind": kind, "hash": video.summary.content_hash or video.summary.path} | key
    digest = hashlib.blake2b(json.dumps(ident, sort_keys=True).encode(), digest_size=16).hexdigest()
    folder = cache_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}{suffix}"


def _labels(reader: IndexReader, video: IndexedVideo, object_ids: Sequence[int]) -> dict[int, str]:
    wanted = set(object_ids)
    return {o.object_id: o.label for o in reader.objects(video.summary.path) if o.object_id in wanted}


def _nearest(points: Sequence[TrackPoint], time_s: float, within_s: float) -> TrackPoint | None:
    if not points:
        return None
    best = min(points, key=lambda p: abs(p.time_s - time_s))
    return best if abs(best.time_s - time_s) <= within_s else None


def _frame_at(video: IndexedVideo, time_s: float) -> np.ndarray:
    """The first frame at or after ``time_s`` seconds (the last one before, at the very end), full size so
    masks line up after the thumbnail scales both."""
    side = max(video.summary.width or 0, video.summary.height or 0) or 4096
    for start in (time_s, max(0.0, time_s - 1.0)):
        frames = iter(decode_frames(video.path, sample_fps=60.0, max_side=side, start_s=start, end_s=start + 1.0))
        try:
            first = next(frames, None)
        finally:
            frames.close()  # releases the decoder now rather than when the generator is collected
        if first is not None:
            return first.image
    raise VideoError(str(video.path), f"no frame near {time_s:.1f} s")


def _write_png(image: np.ndarray, out: Path) -> None:
    part = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")
    Image.fromarray(image).save(part, format="PNG")
    os.replace(part, out)


def frame_thumbnail(
    reader: IndexReader, video: IndexedVideo, time_s: float, object_ids: Sequence[int], cache_dir: Path
) -> Path:
    """A PNG (long side 320 px) of the frame at ``time_s`` seconds with the objects' masks drawn on."""
    ids = sorted(set(object_ids))
    out = _cache_file(cache_dir, "thumbs", video, {"t": round(time_s, 3), "objects": ids}, ".png")
    if out.is_file():
        return out
    labels = _labels(reader, video, ids)
    drawn = []
    for oid in ids:
        point = _nearest(reader.tracks(oid, time_s - 1.0, time_s + 1.0), time_s, within_s=1.0)
        if point is not None:
            drawn.append((point, labels.get(oid, str(oid))))
    _write_png(thumbnail(_frame_at(video, time_s), drawn, max_side=THUMB_SIDE), out)
    return out


def moment_clip(
    reader: IndexReader,
    video: IndexedVideo,
    start_s: float,
    end_s: float,
    object_ids: Sequence[int],
    cache_dir: Path,
) -> RenderedClip:
    """An overlay clip of [start_s - 1 s, end_s + 1 s] (at most 60 s) with the objects' tracks drawn."""
    duration = video.summary.duration_s or (end_s + CLIP_PAD_S)
    w0 = max(0.0, start_s - CLIP_PAD_S)
    w1 = min(duration, max(end_s, start_s) + CLIP_PAD_S, w0 + MAX_CLIP_S)
    w1 = max(w1, min(duration, w0 + 0.5))
    ids = sorted(set(object_ids))
    out = _cache_file(cache_dir, "clips", video, {"t0": round(w0, 3), "t1": round(w1, 3), "objects": ids}, ".mp4")
    clip = RenderedClip(path=out, start_s=w0, end_s=w1)
    if out.is_file():
        return clip
    labels = _labels(reader, video, ids)
    masklets = [
        Masklet(expression=labels.get(oid, str(oid)), points=reader.tracks(oid, w0 - 1.0, w1 + 1.0)) for oid in ids
    ]
    fps = min(video.summary.fps or MAX_CLIP_FPS, MAX_CLIP_FPS)
    frames = decode_frames(video.path, sample_fps=fps, max_side=CLIP_SIDE, start_s=w0, end_s=w1)
    write_overlay_video(frames, [m for m in masklets if m.points], out, fps=fps)
    return clip
