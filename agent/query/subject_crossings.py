"""At query time, the enters and leaves of the subject inside a grounded mask that holds it and something else.

Why: a question whose subject no stored object is (the retrieval route) grounds the subject in each candidate chunk
and reads its track's events by the indexing rules. When the demo-size model's mask covers the subject and a neighbour
of its colour, the subject going out leaves the mask on the neighbour, and the track shows no leave. Indexing finds
such leaves by the parts of the mask (tools/part_crossings.py, index/crossing_names.py); this is the same at query
time: the track's part crossings, each part named up close on three views (the majority's name), kept when subject resolution's rule accepts the name as
the subject's (a part named as something else is the neighbour's crossing, not the subject's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.query.subject_resolution import name_verdicts
from index.embedder import TextEmbedder
from sa2va_engine.masklet import SAME_FRAME_S, Masklet
from tools.clip import Clip
from tools.mask_parts import mask_parts
from tools.part_crossings import PartSample, part_crossings, voted_name
from tools.sa2va_region import RegionRequest, name_regions
from tools.track_event import TrackEvent

if TYPE_CHECKING:
    from sa2va_engine.sa2va import Sa2VA

def subject_crossings(engine: "Sa2VA", clip: Clip, masklet: Masklet, subject: str, kind: str,
                      own_events: list[TrackEvent], embedder: TextEmbedder) -> list[TrackEvent]:
    """The `kind` ("enters" or "leaves") crossings of parts of `masklet` (the subject's track over `clip`'s frames)
    that its own events (`own_events`, the rules' events of the track) lack and whose part the model names as
    `subject` up close: one batched generation, none when no part crossed."""
    points = [p for p in masklet.points if p.present and p.mask is not None]
    if not points:
        return []
    size = points[0].mask.size
    samples = [PartSample(p.time_s, mask_parts(p.mask.decode())) for p in points]
    crossings = [c for c in part_crossings(0, (int(size[0]), int(size[1])), samples, clip.times(), own_events)
                 if c.event.kind == kind]
    asked = [(k, RegionRequest(frame=frame, box=box, max_new_tokens=16)) for k, c in enumerate(crossings)
             for t, box in c.views
             if (frame := next((f for f in clip.frames if abs(f.time_s - t) <= SAME_FRAME_S), None)) is not None]
    if not asked:
        return []
    given = name_regions(engine, [request for _, request in asked])
    names = [voted_name([n for (k, _), n in zip(asked, given) if k == j]) for j in range(len(crossings))]
    verdicts = name_verdicts(subject, [n for n in names if n], embedder)
    return [c.event.model_copy(update={"object_id": 0, "rule": f"{c.event.rule}; named {n!r} up close"})
            for c, n in zip(crossings, names) if n and verdicts.get(n) == "accepted"]
