"""From scattered hits (a chunk whose caption matched, an object seen at 12.5 s) to the moments a user wants:
merged time ranges per video, each with a score and the evidence it rests on. Pure: no DB, no model.

Rules, per video:
1. Hits are intervals [start_s, end_s] (a point hit has start == end). Sorted by start, a hit joins the current
   moment when it starts no later than `gap_s` after the moment's end (overlapping and touching hits merge;
   gap_s = 0 merges only those).
2. A moment shorter than `min_len_s` is widened symmetrically around its centre, shifted to stay inside
   [0, duration] when the video's duration is known, and never longer than the video.
3. Widening can make neighbours overlap; rule 1 is applied once more to the widened moments.
4. score = the best hit score in the moment (a moment is as good as its best evidence; a sum would favour
   long, vaguely matching stretches). Evidence is deduplicated by (chunk, object, phrase), best hit first,
   keeping track times from all merged copies, at most `max_evidence` items.

Moments come back best first; ties by video path then start time, so output is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field, model_validator

from tools.moment import Evidence, Moment
from tools.track_event import PAIR_KINDS


class Hit(BaseModel):
    video_path: str
    start_s: float = Field(ge=0, description="seconds")
    end_s: float = Field(ge=0, description="seconds; equal to start_s for a single-frame hit")
    score: float
    evidence: Evidence | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Hit":
        if self.end_s < self.start_s:
            raise ValueError(f"hit ends ({self.end_s}) before it starts ({self.start_s})")
        return self


class _Span:
    __slots__ = ("start", "end", "hits")

    def __init__(self, start: float, end: float, hits: list[Hit]):
        self.start, self.end, self.hits = start, end, hits


def assemble_moments(
    hits: Iterable[Hit],
    gap_s: float = 2.0,
    min_len_s: float = 2.0,
    durations: Mapping[str, float] | None = None,
    max_evidence: int = 10,
) -> list[Moment]:
    """Merge hits into moments (see the module docstring for the rules). `durations` maps video path to its
    length in seconds and bounds the widening; videos missing from it are bounded below by 0 only."""
    if gap_s < 0 or min_len_s < 0:
        raise ValueError(f"gap_s and min_len_s must be >= 0, got {gap_s} and {min_len_s}")
    durations = durations or {}
    by_video: dict[str, list[Hit]] = {}
    for hit in hits:
        by_video.setdefault(hit.video_path, []).append(hit)

    moments: list[Moment] = []
    for video, video_hits in by_video.items():
        spans = _merge([_Span(h.start_s, h.end_s, [h]) for h in video_hits], gap_s)
        duration = durations.get(video)
        spans = _merge([_widen(s, min_len_s, duration) for s in spans], gap_s)
        moments.extend(_to_moment(video, s, max_evidence) for s in spans)
    moments.sort(key=lambda m: (-m.score, m.video_path, m.start_s))
    return moments


def _merge(spans: list[_Span], gap_s: float) -> list[_Span]:
    spans = sorted(spans, key=lambda s: (s.start, s.end))
    merged: list[_Span] = []
    for span in spans:
        if merged and span.start <= merged[-1].end + gap_s:
            last = merged[-1]
            last.end = max(last.end, span.end)
            last.hits.extend(span.hits)
        else:
            merged.append(_Span(span.start, span.end, list(span.hits)))
    return merged


def _widen(span: _Span, min_len_s: float, duration: float | None) -> _Span:
    length = span.end - span.start
    if length >= min_len_s:
        return span
    if duration is not None and duration <= min_len_s:
        return _Span(0.0, max(duration, span.end), span.hits)
    centre = (span.start + span.end) / 2
    start = centre - min_len_s / 2
    end = centre + min_len_s / 2
    if start < 0:
        start, end = 0.0, min_len_s
    if duration is not None and end > duration:
        start, end = duration - min_len_s, duration
    return _Span(start, end, span.hits)


def _to_moment(video: str, span: _Span, max_evidence: int) -> Moment:
    ranked = sorted(span.hits, key=lambda h: -h.score)
    merged: dict[tuple, Evidence] = {}
    for hit in ranked:
        ev = hit.evidence
        if ev is None:
            continue
        key = (ev.chunk_index, ev.object_id, ev.phrase)
        if key in merged:
            kept = merged[key]
            kept.track_times = sorted(set(kept.track_times) | set(ev.track_times))
        elif len(merged) < max_evidence:
            merged[key] = ev.model_copy(deep=True)
    return Moment(
        video_path=video,
        start_s=span.start,
        end_s=span.end,
        score=ranked[0].score,
        evidence=list(merged.values()),
    )


def spread_times(times: list[float], n: int) -> list[float]:
    """At most `n` of `times`, evenly spread (first and last kept): the track times a moment shows as evidence."""
    if len(times) <= n:
        return times
    step = (len(times) - 1) / (n - 1) if n > 1 else 0
    return [times[round(j * step)] for j in range(n)]


# Occurrences of one kind in one video, on objects of the same label, that overlap at least this much (temporal
# IoU) are one moment: the same event stored on two objects (an object the index holds twice). Different labels, or
# less overlap, are two moments: "find every jump" keeps a ball's jump and a box's that starts as the ball lands.
SAME_EVENT_IOU = 0.5


def event_moments(hits: Iterable[Hit], durations: Mapping[str, float] | None = None) -> list[Moment]:
    """Moments of the stored events and states of different things (hits whose evidence names the kind and the
    object's label), for a question about any object: each occurrence its own moment, except one event stored
    twice (`SAME_EVENT_IOU`), and both sides of a two-object event ('meets', 'near'), which are one moment. Best
    first, as `assemble_moments`."""
    groups: list[list[Hit]] = []
    open_groups: dict[tuple[str, str | None], list[list[Hit]]] = {}  # (video, kind) -> groups that may still grow
    for hit in sorted(hits, key=lambda h: (h.video_path, h.start_s, h.end_s)):
        kind = hit.evidence.event if hit.evidence else None
        key = (hit.video_path, kind)
        # Sorted by start: a group that ended before this hit starts can take no later hit either.
        live = [group for group in open_groups.get(key, []) if max(h.end_s for h in group) >= hit.start_s]
        for group in live:
            if _same_event(group[0], hit, kind in PAIR_KINDS):
                group.append(hit)
                break
        else:
            groups.append([hit])
            live.append(groups[-1])
        open_groups[key] = live
    moments = [m for group in groups for m in assemble_moments(group, gap_s=0.0, min_len_s=0.0, durations=durations)]
    moments.sort(key=lambda m: (-m.score, m.video_path, m.start_s))
    return moments


def _same_event(a: Hit, b: Hit, pair: bool) -> bool:
    """Whether two occurrences of one kind are one: overlapping by `SAME_EVENT_IOU`, on objects of one label unless
    the kind has two objects (each side stores it under its own label)."""
    same_instant = (a.start_s, a.end_s) == (b.start_s, b.end_s)  # two states cut to one asked instant
    overlap = 1.0 if same_instant else temporal_iou((a.start_s, a.end_s), (b.start_s, b.end_s))
    same_label = a.evidence is not None and b.evidence is not None and a.evidence.phrase == b.evidence.phrase
    return overlap >= SAME_EVENT_IOU and (pair or same_label)


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two time spans (start, end) in seconds; 0 when they do not overlap or are instants."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0
