"""When a tracked subject jumps: spans read off its masklet, for questions whose verb is a jump.

A yes/no answer says *whether* a clip shows a jump; the masklet says *when*. A jump lifts the subject off
where it stands and brings it back, so a span is a run of frames whose box top is well above its place at
rest: where its top sits in most frames, the median over the frames it is seen in (a jump is over in a
second or so, a chunk lasts several). Not its lowest position: that is one frame's say, and masks from
a tracker do not all sit at one height. SAM-2 prompts its key frames and carries the others by memory, and
when the carried masks reach a few pixels higher than the prompted ones (the demo model's do, by about
8% of the frame), the lowest-position rule called every carried frame of a still object a jump. The top
edge, not the bottom: an occluder hiding the subject's lower part lifts only the bottom, and a mask that
bleeds into the ground keeps its bottom down while the subject is in the air. Frames where the subject is
not seen neither start nor end a span; a span's ends are placed halfway to the neighbouring grounded
frames, since take-off and landing fall between samples.

This is a rule about motion, not a learnt model: it assumes a camera that does not tilt during the jump
and a subject whose height does not change much (one that stands up reads as a jump that has not landed
by the end of the clip).
"""

from __future__ import annotations

import re

import numpy as np

from sa2va_engine.masklet import Masklet

# Verbs whose event is a jump; the plan's predicate is matched word by word.
JUMP_WORDS = frozenset({"jump", "jumps", "jumped", "jumping", "hop", "hops", "hopped", "hopping", "leap", "leaps",
                        "leapt", "leaped", "leaping", "bounce", "bounces", "bounced", "bouncing"})
# A lift counts when the box top is this share of the frame height above the ground line. Jumps worth
# finding lift a subject by a good part of its own height; box jitter of a decent track is a few percent.
MIN_LIFT = 0.08


def is_jump_predicate(predicate: str | None) -> bool:
    return bool(predicate) and any(w in JUMP_WORDS for w in re.findall(r"[a-z]+", predicate.lower()))


def jump_spans(masklet: Masklet, min_lift: float = MIN_LIFT) -> list[tuple[float, float]]:
    """(start_s, end_s) of each jump of the tracked subject, in time order."""
    seen = [p for p in masklet.points if p.present and p.box is not None and p.mask is not None]
    if len(seen) < 3:
        return []
    height = seen[0].mask.size[0]
    rest = float(np.median([p.box[1] for p in seen]))
    airborne = [rest - p.box[1] >= min_lift * height for p in seen]
    spans: list[tuple[float, float]] = []
    i = 0
    while i < len(seen):
        if not airborne[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(seen) and airborne[j + 1]:
            j += 1
        # A jump cut by the clip's edge ends there: the overlapping neighbour clip holds the rest, and
        # moment assembly joins the two halves.
        start = (seen[i - 1].time_s + seen[i].time_s) / 2 if i > 0 else seen[i].time_s
        end = (seen[j].time_s + seen[j + 1].time_s) / 2 if j < len(seen) - 1 else seen[j].time_s
        spans.append((start, end))
        i = j + 1
    return spans
