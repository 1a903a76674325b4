"""The third pass over a finished video: the part of a mask that each jump hangs on, named up close, so that a
neighbour's jump inside an object's mask is not stored as the object's (why and the rule: index/part_names.py).

It runs after the second tracking pass (agent/indexing/gap_fill.py), whose finds can add jumps, one video at a time:
the video's jumps whose mask at its highest is in two or more sizeable parts, their frames decoded again (one frame
each) and the parts named in one batched generation (`tools.sa2va_region.name_regions`). The names, the events
replayed with them and the mark that the pass ran are one transaction (index/writer.py), so a run killed during it
stores nothing of that video's pass and the next `sva index` over the video does it. It is part of naming objects
up close (`IndexSettings.name_objects`): the same question, asked of a part.

Measured on the stored index of the 30 unseen minutes of `bench.every_moment` (bench/README.md): 10 of its 42 jumps
had a mask in two or more parts at their highest (6 s of model time to name them); 5 were named in another colour than
the object's label, each a neighbour's jump or no jump at all, and no true jump was among them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.indexing.chunk_analyser import FATAL_ERRORS
from index.part_names import EventPart, PartName
from index.writer import IndexWriter
from sa2va_engine.sa2va import Sa2VA
from tools.sa2va_region import RegionRequest, name_regions
from tools.sampled_frame import sampled_frame


def name_event_parts(engine: Callable[[], Sa2VA], writer: IndexWriter, paths: Sequence[str],
                     sample_fps: float) -> tuple[int, list[str]]:
    """The pass over each of `paths` that is finished and has not had it: (parts named, one line per video it
    failed on). A video it fails on keeps its events unchecked, unmarked, and the next run tries again; the other
    videos go on. A checkpoint that cannot load or a full disk stops it (they would fail every video)."""
    named, errors = 0, []
    for video_id, path in writer.unnamed_part_videos(paths):
        try:
            names = name_parts(engine, path, writer.jump_parts(video_id), sample_fps)
            writer.store_part_names(video_id, names)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - this video's pass fails; its events stay as the rules gave them
            errors.append(f"{path}: naming the parts jumps hang on: {type(exc).__name__}: "
                          f"{(str(exc).splitlines() or [''])[0]}")
            continue
        named += len(names)
    return named, errors


def name_parts(engine: Callable[[], Sa2VA], path: str, parts: Sequence[EventPart],
               sample_fps: float) -> list[PartName]:
    """Each part's frame decoded at the size its mask was stored at, and the parts named in one generation; a part
    whose frame no longer decodes (the file changed or broke since) is left out."""
    frames = {t: sampled_frame(path, t, max(p.frame_size), sample_fps)
              for t, p in {p.time_s: p for p in parts}.items()}
    asked = [p for p in parts if frames[p.time_s] is not None]
    if not asked:
        return []
    names = name_regions(engine(), [RegionRequest(frame=frames[p.time_s], box=p.box) for p in asked])
    return [PartName(object_id=p.object_id, time_s=p.time_s, box=p.box, name=n) for p, n in zip(asked, names)]
