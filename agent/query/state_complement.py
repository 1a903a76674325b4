"""The time a state does not hold: "when is the dog not near the box", "when is the car out of view".

Read from the stored states, no model: per video, where the subject is seen (its 'visible' spans; for 'not visible'
the whole video) minus where the state holds, taken over every object the subject resolved to, since one thing the
index holds as two objects is still one thing (the ball is in view while either of its objects is). Pieces shorter
than the states' own minimum (`STATE_MIN_S`) are left out, as a state that short is not stored either.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.track_events import STATE_MIN_S

Span = tuple[float, float]


def union(spans: Sequence[Span]) -> list[Span]:
    """Overlapping or touching spans joined, in time order."""
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def spans_without(base: Sequence[Span], minus: Sequence[Span], min_len_s: float = STATE_MIN_S) -> list[Span]:
    """The time in `base` and not in `minus` (spans in any order, overlapping or not), pieces shorter than
    `min_len_s` dropped."""
    holes = union(minus)
    out: list[Span] = []
    for a, b in union(base):
        at = a
        for c, d in holes:
            if d <= at or c >= b:
                continue
            if c > at:
                out.append((at, c))
            at = max(at, d)
        if at < b:
            out.append((at, b))
    return [(a, b) for a, b in out if b - a >= min_len_s - 1e-6]


def within(spans: Sequence[Span], start_s: float | None, end_s: float | None) -> list[Span]:
    """`spans` cut to the window [start_s, end_s] (None: open); an instant window (start = end) keeps the spans that
    hold at that instant, as that instant."""
    out = []
    for a, b in spans:
        a2 = a if start_s is None else max(a, start_s)
        b2 = b if end_s is None else min(b, end_s)
        if b2 > a2 or (start_s is not None and start_s == end_s and a <= start_s <= b):
            out.append((a2, b2))
    return out
