"""The pass that names each object of a finished video on a few typical views of its whole track, and labels it by
what most views say (the views and why: index/object_views.py).

It runs after the second tracking pass (agent/indexing/gap_fill.py), whose finds add to the tracks and merge objects
that are one, and before the parts jumps hang on are named (agent/indexing/event_parts.py), which reads the labels:
one video at a time, the views' frames decoded again (one frame each) and named in one batched generation
(`agent/indexing/video_passes.py`). It is part of naming objects up close (`IndexSettings.name_objects`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.indexing.video_passes import each_video, name_track_regions
from index.writer import IndexWriter
from sa2va_engine.sa2va import Sa2VA


def name_object_views(engine: Callable[[], Sa2VA], writer: IndexWriter, paths: Sequence[str],
                      sample_fps: float) -> tuple[int, list[str]]:
    """The pass over each of `paths` that is finished and has not had it: (views named, one line per video it failed
    on, `video_passes.each_video`; a video it fails on keeps the labels its chunks voted)."""

    def run(video_id: int, path: str) -> int:
        names = name_track_regions(engine, path, writer.object_views(video_id), sample_fps)
        writer.store_view_names(video_id, names)
        return len(names)

    return each_video(writer.unviewed_videos(paths), run, "naming objects on views of their tracks")
