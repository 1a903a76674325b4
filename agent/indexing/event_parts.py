"""The third pass over a finished video: the part of a mask that each jump hangs on, named up close, so that a
neighbour's jump inside an object's mask is not stored as the object's (why and the rule: index/part_names.py); and
the part of a mask that went out of the frame (came in) while the rest stayed, named up close, so that the leave goes
to the object it names (index/crossing_names.py).

It runs after the second tracking pass (agent/indexing/gap_fill.py), whose finds can add jumps, one video at a time:
the video's jumps whose mask at its highest is in two or more sizeable parts and its part crossings
(tools/part_crossings.py), their frames decoded again (one frame each) and the parts named in one batched generation (`agent/indexing/video_passes.py`). The names, the events
replayed with them and the mark that the pass ran are one transaction (index/writer.py), so a run killed during it
stores nothing of that video's pass and the next `sva index` over the video does it. It is part of naming objects
up close (`IndexSettings.name_objects`): the same question, asked of a part.

Measured on the stored index of the 30 unseen minutes of `bench.every_moment` (bench/README.md): 10 of its 42 jumps
had a mask in two or more parts at their highest (6 s of model time to name them); 5 were named in another colour than
the object's label, each a neighbour's jump or no jump at all, and no true jump was among them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.indexing.video_passes import each_video, name_track_regions
from index.writer import IndexWriter
from sa2va_engine.sa2va import Sa2VA


def name_event_parts(engine: Callable[[], Sa2VA], writer: IndexWriter, paths: Sequence[str],
                     sample_fps: float) -> tuple[int, list[str]]:
    """The pass over each of `paths` that is finished and has not had it: (parts named, one line per video it
    failed on, `video_passes.each_video`; a video it fails on keeps its events unchecked)."""

    def run(video_id: int, path: str) -> int:
        parts = writer.event_parts(video_id)
        # One generation for both kinds; a name comes back keyed by its region, which says which kind it was.
        names = name_track_regions(engine, path, [*parts.jumps, *parts.crossings], sample_fps)
        jumps = {(r.object_id, r.time_s, r.box) for r in parts.jumps}
        writer.store_part_names(video_id, [n for n in names if (n.object_id, n.time_s, n.box) in jumps],
                                [n for n in names if (n.object_id, n.time_s, n.box) not in jumps])
        return len(names)

    return each_video(writer.unnamed_part_videos(paths), run, "naming the parts jumps hang on")
