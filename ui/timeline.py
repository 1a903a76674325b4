"""The Video page's timeline: when each object is present, as bars on one row per object (a Gantt chart), with
its stored events marked on its row.

Only present track points are stored, so presence is read off their times: points closer than a gap
tolerance belong to one stretch; a longer gap (the object left the picture, or a chunk failed) starts a
new bar. Events (jumps, entering, leaving, meeting ...: `tools/track_events.py`) are marks at their start; the
states (moving, near ...) are not drawn, they would cover the bars.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from index.reader import IndexReader
from tools.track_event import EVENT_KINDS, STATE_KINDS

# What the timeline marks: the changes, not the states.
MARKED_KINDS = [k for k in EVENT_KINDS if k not in STATE_KINDS]

MAX_ROWS = 40  # objects drawn; the ones with the most track points win


def presence_segments(times: Sequence[float], max_gap_s: float | None = None) -> list[tuple[float, float]]:
    """Stretches (start_s, end_s) of seconds covered by point ``times``. Consecutive points at most
    ``max_gap_s`` apart (default: twice the median spacing) join; every bar is at least one spacing long,
    so a single sighting still shows."""
    ts = sorted({float(t) for t in times})
    if not ts:
        return []
    step = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.5
    gap = max_gap_s if max_gap_s is not None else 2.0 * step
    segments: list[tuple[float, float]] = []
    start = prev = ts[0]
    for t in ts[1:]:
        if t - prev > gap + 1e-6:
            segments.append((start, prev + step))
            start = t
        prev = t
    segments.append((start, prev + step))
    return segments


def presence_table(reader: IndexReader, video_path: str, duration_s: float | None = None,
                   max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """One row per presence stretch: object (row label), object_id, start_s, end_s (clipped to
    ``duration_s``), label."""
    objects = sorted(reader.objects(video_path), key=lambda o: (-o.points, o.object_id))[:max_rows]
    objects.sort(key=lambda o: (o.first_seen_s if o.first_seen_s is not None else float("inf"), o.object_id))
    rows = []
    seen: dict[str, int] = {}
    for obj in objects:
        # rows are named by label; a second object with the same label becomes "label (2)"
        seen[obj.label] = seen.get(obj.label, 0) + 1
        row = obj.label if seen[obj.label] == 1 else f"{obj.label} ({seen[obj.label]})"
        for start, end in presence_segments([p.time_s for p in reader.tracks(obj.object_id)]):
            end = min(end, duration_s) if duration_s else end
            rows.append({"object": row, "object_id": str(obj.object_id), "label": obj.label,
                         "start_s": round(start, 2), "end_s": round(end, 2)})
    return pd.DataFrame(rows, columns=["object", "object_id", "label", "start_s", "end_s"])


def event_table(reader: IndexReader, presence: pd.DataFrame) -> pd.DataFrame:
    """One row per stored event (`MARKED_KINDS`) of the objects of ``presence`` (a `presence_table`), on its
    object's row: object, kind, start_s, end_s, rule. A two-object event (meets) shows on both rows."""
    rows_of = dict(zip(presence["object_id"], presence["object"]))
    rows = []
    for e in reader.events([int(i) for i in rows_of], MARKED_KINDS):
        for oid in (e.object_id, e.other_object_id):
            if oid is not None and str(oid) in rows_of:
                rows.append({"object": rows_of[str(oid)], "kind": e.kind, "start_s": round(e.start_s, 2),
                             "end_s": round(e.end_s, 2), "rule": e.rule})
    return pd.DataFrame(rows, columns=["object", "kind", "start_s", "end_s", "rule"])


def timeline_chart(
    table: pd.DataFrame, duration_s: float | None, marks: tuple[float, float] | None = None,
    events: pd.DataFrame | None = None,
) -> alt.Chart:
    """Bars of presence, objects as rows in order of first appearance; ``marks`` shades a time range
    (the chat window) in seconds; ``events`` (an `event_table`) are marked on their objects' rows, one shape per
    kind. Give it `chart_height(table)` pixels."""
    order = list(dict.fromkeys(table["object"]))
    x_scale = alt.Scale(domain=[0, duration_s], nice=False) if duration_s else alt.Scale(nice=False)
    bars = (
        alt.Chart(table)
        .mark_bar(cornerRadius=2)
        .encode(
            x=alt.X("start_s:Q", title="seconds", scale=x_scale),
            x2="end_s:Q",
            y=alt.Y("object:N", sort=order, title=None),
            color=alt.Color("label:N", legend=None),
            tooltip=["label", "object_id", "start_s", "end_s"],
        )
    )
    chart = bars
    if events is not None and not events.empty:
        points = (
            alt.Chart(events)
            .mark_point(filled=True, size=90, color="black", opacity=0.8)
            .encode(
                x=alt.X("start_s:Q", scale=x_scale),
                y=alt.Y("object:N", sort=order),
                shape=alt.Shape("kind:N", title="event"),
                tooltip=["kind", "start_s", "end_s", "rule"],
            )
        )
        chart = bars + points
    if marks is not None:
        band = pd.DataFrame([{"start_s": marks[0], "end_s": marks[1]}])
        chart = alt.Chart(band).mark_rect(opacity=0.12, color="gray").encode(x="start_s:Q", x2="end_s:Q") + chart
    return chart


def chart_height(table: pd.DataFrame) -> int:
    """Pixels for the whole chart: ~30 per object row plus the time axis (Streamlit sizes the chart
    itself and ignores a height set inside the spec)."""
    return 70 + 30 * max(1, table["object"].nunique())
