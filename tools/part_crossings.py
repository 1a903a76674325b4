"""Enters and leaves that happen inside another object's mask: the parts of one track's masks followed through time.

Why: a demo-size model's mask often covers two objects (two of one colour nearly always: bench/README.md, "Why the
masks cover two objects of one colour"). When one of them goes out through the border, the mask keeps the other, the
track never goes absent, and the border rules (tools/track_events.py) see no one leave. The mask's connected parts
do: while the two stand apart the mask is in two parts, and one of them goes out through an edge while the other
stays. On the 30 unseen minutes of `bench.every_moment`, most of the enters and leaves the index missed were so.

The rule: each sample's sizeable parts (`tools/mask_parts.py` `mask_parts`) are chained from sample to sample, a part
taking the chain whose last box it overlaps or lies within one box size of (nearest first), then, of those left, within
four (a part no chain takes starts one, a chain no part takes ends). Each chain is read as a track of its own by the same border rules the
objects get. A chain's enters and leaves are kept where the track itself has no event of that kind at that time (the
part that went out was not all of the mask), where the part touched the border at the chain's end (start, entering:
a crossing the rules only extrapolate from a part's few samples is a speck's jitter), and where the mask was in two
parts or more there, none of them where the chain's part had just been (else it merged into another part, or the
whole mask hopped from one object to the next). Whose event it is, the rules cannot say: the part is named up close by
the indexer (agent/indexing/event_parts.py), and the event goes to the stored object that name is
(index/event_store.py `owned_events`). Chains that merge back into one part end or begin mid-frame, which reads as
disappearing or appearing: those are not kept, since two objects meeting is not either one leaving.

Assumptions, besides the border rules' own: the objects stand apart (a part of their own) for at least two samples
near the border; a part cut into pieces by an occluder is two chains, one of which may read as crossing where the
occluder stands at the border.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sa2va_engine.masklet import SAME_FRAME_S
from tools.mask_parts import MaskPart
from tools.track_event import BoxPoint, ObjectTrack, TrackEvent
from tools.track_events import DROPOUT_MAX_S, border_crossings, touches_border

# A part continues a chain whose last box it overlaps, or whose centre is within this many box sizes of its own ...
CHAIN_SIZES = 1.0
# ... and, among the chains and parts left over after that, within this many: a ball in the air moves several of its
# sizes between two samples at 4 fps, and read as one chain ending and another starting, it left through the bottom
# edge it stood on.
FAR_SIZES = 4.0
# A mask in more parts than this is speckle (an untrained model's masks: 65 parts a sample on random noise gave 79
# "crossings" in one track) or a crowd, not objects to follow one by one: such samples are skipped, and a track with
# more than `CROWDED_SHARE` of them gives none.
MAX_PARTS = 4
CROWDED_SHARE = 0.1
# What crossed is named on this many views of it (one view of a 20-px object is often the wrong kind: a box called
# a ball), the majority deciding.
NAMED_VIEWS = 3
# A track's own crossing is named on samples no further than this from it (seconds).
_VIEW_REACH_S = 1.0


class PartSample(NamedTuple):
    """One present sample of a track: its time (seconds) and its mask's parts."""

    time_s: float
    parts: list[MaskPart]


class PartCrossing(NamedTuple):
    """An enter or leave of a part of a track's mask (`event.object_id`: the track), and where to name what crossed:
    (time, box) of the part on up to `NAMED_VIEWS` samples wholly inside the frame, nearest the crossing first.
    `whole`: the track's own enter or leave (`own_crossing`), the whole mask crossing, not a part of it."""

    event: TrackEvent
    views: list[tuple[float, tuple[int, int, int, int]]]
    whole: bool = False


def part_crossings(object_id: int, frame_size: tuple[int, int], samples: Sequence[PartSample],
                   frame_times: Sequence[float], own_events: Sequence[TrackEvent]) -> list[PartCrossing]:
    """The enters and leaves of parts of one track's masks that the track's own events (`own_events`, the rules'
    events of this track) do not have. Only tracks whose mask is in two or more parts somewhere have any."""
    samples = _distinct(samples)
    crowded = [s for s in samples if len(s.parts) > MAX_PARTS]
    if len(crowded) > CROWDED_SHARE * len(samples):
        return []  # an untrained model's speckle, or a crowd: nothing to follow part by part
    samples = [s for s in samples if len(s.parts) <= MAX_PARTS]
    if not any(len(s.parts) >= 2 for s in samples):
        return []
    crossings = []
    by_time = {s.time_s: s for s in samples}
    times = sorted(by_time)
    for chain in _chains(samples, _gap_s(frame_times)):
        if len(chain) < 2:
            continue
        points = [BoxPoint(time_s=t, box=part.box, area=part.area) for t, part in chain]
        track = ObjectTrack(object_id=object_id, frame_size=frame_size, points=points)
        for event in border_crossings(track, frame_times):
            if any(o.kind == event.kind and o.start_s <= event.end_s and event.start_s <= o.end_s
                   for o in own_events):
                continue
            leaving = event.kind == "leaves"
            if not touches_border(chain[-1 if leaving else 0][1].box, frame_size):
                continue  # crossed only by extrapolating its motion: a part's few samples give no speed to trust
            if _joins_another(chain, by_time, times, leaving):
                continue
            event = event.model_copy(update={"rule": f"a part of the mask: {event.rule}"})
            crossings.append(PartCrossing(event=event, views=_views(chain, frame_size, leaving)))
    return crossings


def _distinct(samples: Sequence[PartSample]) -> list[PartSample]:
    out: list[PartSample] = []
    for s in sorted(samples, key=lambda s: s.time_s):
        if not out or s.time_s - out[-1].time_s > SAME_FRAME_S:
            out.append(s)
    return out


def _gap_s(frame_times: Sequence[float]) -> float:
    """How long a chain waits for its part: a dropout and one sampling interval."""
    times = sorted(frame_times)
    steps = [b - a for a, b in zip(times, times[1:]) if b - a > SAME_FRAME_S]
    step = sorted(steps)[len(steps) // 2] if steps else 1.0
    return DROPOUT_MAX_S + step


def _chains(samples: Sequence[PartSample], gap_s: float) -> list[list[tuple[float, MaskPart]]]:
    chains: list[list[tuple[float, MaskPart]]] = []
    live: list[list[tuple[float, MaskPart]]] = []  # the chains still waiting for a part (a long track ends many)
    for sample in samples:
        live = [c for c in live if sample.time_s - c[-1][0] <= gap_s + SAME_FRAME_S]
        pairs = sorted((_distance(c[-1][1].box, p.box), k, j) for k, c in enumerate(live)
                       for j, p in enumerate(sample.parts))
        taken_chains, taken_parts = set(), set()
        for limit in (CHAIN_SIZES, FAR_SIZES):
            for d, k, j in pairs:
                if d > limit or k in taken_chains or j in taken_parts:
                    continue
                taken_chains.add(k)
                taken_parts.add(j)
                live[k].append((sample.time_s, sample.parts[j]))
        started = [[(sample.time_s, p)] for j, p in enumerate(sample.parts) if j not in taken_parts]
        chains += started
        live += started
    return chains


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    """0 for boxes that overlap; else the distance of their centres in sizes of the larger box."""
    if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
        return 0.0
    size = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1], 1)
    dx = (a[0] + a[2] - b[0] - b[2]) / 2
    dy = (a[1] + a[3] - b[1] - b[3]) / 2
    return float((dx * dx + dy * dy) ** 0.5 / size)


def _joins_another(chain: Sequence[tuple[float, MaskPart]], by_time: dict[float, PartSample], times: Sequence[float],
                   leaving: bool) -> bool:
    """Whether the part went into another part of the mask at the chain's end (came out of one at its start,
    entering) rather than out of the frame: on the track's next (previous) sample, a part lies where the chain's last
    (first) part was. A ball and a dog at the border that run together into one part is not the ball leaving. Nor is
    a mask in one part at that end: the whole mask hopped from one object to another (a dog at the border, then the
    ball beside it), and no part left while another stayed."""
    t, part = chain[-1] if leaving else chain[0]
    if len(by_time[t].parts) < 2:
        return True  # the whole mask moved from one object to the other: it hopped, nothing crossed inside it
    k = times.index(t) + (1 if leaving else -1)
    if not 0 <= k < len(times):
        return False
    return any(_distance(part.box, other.box) <= CHAIN_SIZES / 2 for other in by_time[times[k]].parts)


def _views(chain: Sequence[tuple[float, MaskPart]], frame_size: tuple[int, int],
           leaving: bool) -> list[tuple[float, tuple[int, int, int, int]]]:
    """The chain's last (first, entering) `NAMED_VIEWS` samples whose part is wholly inside the frame, nearest the
    crossing first; its largest part when none is."""
    inside = [(t, p.box) for t, p in chain if not touches_border(p.box, frame_size)]
    if not inside:
        t, part = max(chain, key=lambda tp: tp[1].area)
        return [(t, part.box)]
    return (inside[::-1] if leaving else inside)[:NAMED_VIEWS]


def own_crossing(track: ObjectTrack, event: TrackEvent) -> PartCrossing | None:
    """A track's own enter or leave (`event`, the rules' event of `track`) with where to name what crossed: the
    track's boxes on its last (first, entering) `NAMED_VIEWS` samples wholly inside the frame before (after) it, nearest
    first. A tracker's mask can slide from one object onto another and follow it out: the mask that left is then not
    the object the track is labelled as. None when no such sample is within a second of it."""
    leaving = event.kind == "leaves"
    near = [(p.time_s, tuple(int(round(v)) for v in p.box)) for p in track.points
            if not touches_border(p.box, track.frame_size)
            and (event.start_s - _VIEW_REACH_S <= p.time_s <= event.start_s if leaving
                 else event.end_s <= p.time_s <= event.end_s + _VIEW_REACH_S)]
    views = (near[::-1] if leaving else near)[:NAMED_VIEWS]
    return PartCrossing(event=event, views=views, whole=True) if views else None


def voted_name(names: Sequence[str | None]) -> str | None:
    """The name most of a crossing's views were given (`PartCrossing.views` order), ties to the view nearest the
    crossing; None when no view has a name."""
    given = [n for n in names if n]
    return max(given, key=lambda n: (given.count(n), -given.index(n))) if given else None
