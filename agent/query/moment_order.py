"""Which of a question's moments to keep when it asks for the most of something ("the highest jump of the pole
vaulter", "the three longest stops of the bus", "the longest time the dog is still") or for a length ("when is the
car parked for more than 10 minutes").

A superlative ranks every moment the question found, over every video it asked about: "the highest jump" is one
answer, not one per video (an ordinal, "the first jump", is per video: agent/query/answer_text.py). By:
- longest / shortest: how long the moment lasts (end - start), on any route;
- highest / lowest: the height of the jump it is, fastest / slowest: the top speed of the motion it is: the size
  its event was stored with (tools/track_event.py `SIZE_UNITS`, in object heights, so a jump far from the camera
  compares with one near it). A moment with no size (verified by the model, or of a kind that has none) cannot be
  ranked so: it is left out, and the answer says how many were.
A length bound keeps the moments lasting at least (at most) that long; it applies before the superlative, and after
"in the last 5 minutes" (`in_last_seconds`), which counts back from each video's own end.
"""

from __future__ import annotations

from agent.query.event_verbs import is_state
from agent.query.query_plan import QueryPlan
from tools.moment import Moment
from tools.track_event import SIZE_UNITS

# The size each superlative ranks by, and who has it: a height is a jump's, a speed every other sized kind's (a motion).
BY_SIZE = {"highest": "height", "lowest": "height", "fastest": "speed", "slowest": "speed"}
_HAS = {"height": "jumps", "speed": "motions"}
_SIZED_KINDS = {"height": {"jump"}, "speed": set(SIZE_UNITS) - {"jump"}}
LARGEST_FIRST = {"longest", "highest", "fastest"}


# How long a change lasts says nothing: "the longest stop of the bus", "stops for more than a minute" ask how long
# it stayed stopped, which is the state the change begins.
_LASTING = {"stops_moving": "still", "starts_moving": "moving"}


def lasting_kinds(kinds: list[str], plan: QueryPlan) -> list[str]:
    """The kinds to read for a question that ranks or bounds moments by length: a change becomes the state it begins
    ('stops_moving' -> 'still'); the kinds as they are otherwise."""
    if plan.superlative not in ("longest", "shortest") and plan.min_duration_s is None and plan.max_duration_s is None:
        return kinds
    return list(dict.fromkeys(_LASTING.get(k, k) for k in kinds))


def moment_size(moment: Moment, superlative: str) -> float | None:
    """The largest size among the stored events the moment rests on that the superlative reads (a height for
    'highest', a speed for 'fastest'); None when none has one."""
    kinds = _SIZED_KINDS[BY_SIZE[superlative]]
    sizes = [e.size for e in moment.evidence if e.size is not None and e.event in kinds]
    return max(sizes) if sizes else None


def within_length(moments: list[Moment], plan: QueryPlan) -> list[Moment]:
    """The moments lasting between the plan's `min_duration_s` and `max_duration_s` (either may be open)."""
    low, high = plan.min_duration_s, plan.max_duration_s
    return [m for m in moments if (low is None or m.end_s - m.start_s >= low)
            and (high is None or m.end_s - m.start_s <= high)]


def in_last_seconds(moments: list[Moment], last_s: float, durations: dict[str, float]) -> list[Moment]:
    """The moments in the last `last_s` seconds of their own video ("in the last 5 minutes"): an event that overlaps
    that stretch is kept whole, a state is cut to it (how long the dog was moving in the last minute counts only that
    minute). A video of unknown length keeps none: where its end is cannot be told."""
    kept = []
    for m in moments:
        duration = durations.get(m.video_path)
        if duration is None or m.end_s < duration - last_s:
            continue
        cut = max(m.start_s, duration - last_s)
        kinds = [e.event for e in m.evidence if e.event]
        if cut > m.start_s and kinds and all(is_state(k) for k in kinds):
            m = m.model_copy(update={"start_s": cut})
        kept.append(m)
    return kept


def ranked(moments: list[Moment], plan: QueryPlan) -> tuple[list[Moment], int]:
    """The plan's superlative applied: the `top` (default one) moments that are the most of it, best first, and how
    many moments had no size to rank by. Without a superlative, the moments as they are."""
    if plan.superlative is None:
        return moments, 0
    if plan.superlative in BY_SIZE:
        keyed = [(size, m) for m in moments if (size := moment_size(m, plan.superlative)) is not None]
    else:
        keyed = [(m.end_s - m.start_s, m) for m in moments]
    sign = -1.0 if plan.superlative in LARGEST_FIRST else 1.0
    keyed.sort(key=lambda km: (sign * km[0], -km[1].score, km[1].video_path, km[1].start_s))
    return [m for _, m in keyed[: plan.top or 1]], len(moments) - len(keyed)


def order_words(plan: QueryPlan, kept: list[Moment], found: int, unranked: int) -> list[str]:
    """What the answer says of the length asked and the superlative: ['lasting at least 10 s', 'the highest of 6
    found: 1.3 object heights above its resting line'], or []."""
    words = []
    if plan.min_duration_s is not None or plan.max_duration_s is not None:
        words.append(length_words(plan))
    if plan.superlative is not None and kept:
        n = f" {len(kept)}" if len(kept) > 1 else ""
        what = f"the{n} {plan.superlative} of {found} found"
        best = kept[0]
        if plan.superlative in BY_SIZE:
            size = moment_size(best, plan.superlative)
            kind = next((e.event for e in best.evidence if e.size == size), None)
            what += f": {size:.1f} {SIZE_UNITS.get(kind or '', '')}".rstrip()
            if unranked:
                what += f"; {unranked} with no {BY_SIZE[plan.superlative]} left out"
        else:
            what += f": {best.end_s - best.start_s:.1f} s"
        words.append(what)
    return words


def unranked_words(plan: QueryPlan, found: int) -> str:
    """Why a superlative kept nothing though moments were found: none of them has the size it ranks by."""
    if plan.superlative not in BY_SIZE:
        return ""
    size = BY_SIZE[plan.superlative]
    return f"none of the {found} found has a {size} (only {_HAS[size]} have one)"


def length_words(plan: QueryPlan) -> str:
    low, high = plan.min_duration_s, plan.max_duration_s
    if low is not None and high is not None:
        return f"lasting {low:g} to {high:g} s"
    return f"lasting at least {low:g} s" if low is not None else f"lasting at most {high:g} s"
