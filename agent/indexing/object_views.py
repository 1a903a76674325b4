"""The pass that names each object of a finished video on a few typical views of its whole track, and labels it by
what most views say (the views and why: index/object_views.py).

It runs after the second tracking pass (agent/indexing/gap_fill.py), whose finds add to the tracks and merge objects
that are one, and before the parts jumps hang on are named (agent/indexing/event_parts.py), which reads the labels:
one video at a time, the views' frames decoded again (one frame each) and named in one batched generation
(`tools.sa2va_region.name_regions`). It is part of naming objects up close (`IndexSettings.name_objects`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.indexing.chunk_analyser import FATAL_ERRORS
from index.object_views import ObjectView, ViewName
from index.writer import IndexWriter
from sa2va_engine.sa2va import Sa2VA
from tools.sa2va_region import RegionRequest, name_regions
from tools.sampled_frame import sampled_frame


def name_object_views(engine: Callable[[], Sa2VA], writer: IndexWriter, paths: Sequence[str],
                      sample_fps: float) -> tuple[int, list[str]]:
    """The pass over each of `paths` that is finished and has not had it: (views named, one line per video it failed
    on). A video it fails on keeps the labels its chunks voted, unmarked, and the next run tries again; the other
    videos go on. A checkpoint that cannot load or a full disk stops it (they would fail every video)."""
    named, errors = 0, []
    for video_id, path in writer.unviewed_videos(paths):
        try:
            names = name_views(engine, path, writer.object_views(video_id), sample_fps)
            writer.store_view_names(video_id, names)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - this video's pass fails; its labels stay as its chunks voted
            errors.append(f"{path}: naming objects on views of their tracks: {type(exc).__name__}: "
                          f"{(str(exc).splitlines() or [''])[0]}")
            continue
        named += len(names)
    return named, errors


def name_views(engine: Callable[[], Sa2VA], path: str, views: Sequence[ObjectView],
               sample_fps: float) -> list[ViewName]:
    """Each view's frame decoded at the size its mask was stored at, and the views named in one generation; a view
    whose frame no longer decodes (the file changed or broke since) is left out."""
    frames = {t: sampled_frame(path, t, max(v.frame_size), sample_fps)
              for t, v in {v.time_s: v for v in views}.items()}
    asked = [v for v in views if frames[v.time_s] is not None]
    if not asked:
        return []
    names = name_regions(engine(), [RegionRequest(frame=frames[v.time_s], box=v.box) for v in asked])
    return [ViewName(object_id=v.object_id, time_s=v.time_s, box=v.box, name=n) for v, n in zip(asked, names)]
