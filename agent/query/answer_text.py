"""The one-line answer to a question: how many moments, of what, where the best one is; or why there are none.

The words say how the answer was found (a stored event or state, verified by the model, text search only), so the
same line serves `sva query` and the dashboard.
"""

from __future__ import annotations

from pathlib import Path

from agent.query.event_verbs import NOT, describes, edge_of, is_state
from agent.query.moment_order import length_words, unranked_words
from agent.query.query_plan import QueryPlan
from agent.query.subject_resolution import Resolution, names_any_thing
from tools.moment import Moment

ORDINAL_WORDS = {1: "the first", 2: "the second", 3: "the third", 4: "the fourth", 5: "the fifth", -1: "the last"}


def answer_sentence(plan: QueryPlan, moments: list[Moment], found: int, kinds: list[str], route: str | None,
                    verified: bool, note: str | None, resolution: Resolution | None, scoped: bool,
                    order: list[str] | None = None) -> str:
    """The answer for `moments` (after a superlative or `nth` kept some; `found` before that, within the length
    asked). `kinds`: the stored kinds read; `verified`: candidates were checked by the model; `scoped`: the question
    named a video; `order`: what agent/query/moment_order.py says of the superlative and the length asked."""
    note_text = f" Note: {note}." if note else ""
    asked = plan.search_text()
    if describes(plan.predicate):
        asked = "what happens" if names_any_thing(plan.subject) else f"what {plan.subject} does"
    if found and not moments and plan.superlative is not None:
        return f"No moment found for '{asked}': {unranked_words(plan, found)}.{note_text}"
    if not found and (plan.min_duration_s is not None or plan.max_duration_s is not None):
        note_text = f" Only moments {length_words(plan)} were asked for.{note_text}"
    parts = list(order or [])  # said in one parenthesis after what was asked
    if plan.nth is not None and found:
        if not moments:
            return f"No moment found for '{asked}': no video has {plan.nth} of them ({found} found in all)."
        parts.append(f"{ORDINAL_WORDS.get(plan.nth, f'number {plan.nth}')} in each video, of {found} found")
    if not moments:
        return f"No moment found for '{asked}'.{why_none(plan, kinds, route, resolution, scoped)}{note_text}"
    if route == "events" and len(kinds) == 1:
        kind = f"'{kinds[0]}' {'state' if is_state(kinds[0]) else 'event'}"
        if is_state(kinds[0]) and not names_any_thing(plan.subject) and not (plan.start_s == plan.end_s is not None):
            if kinds[0] == "visible":  # "how many dogs are there": the things seen, not only their spans
                things = {e.object_id for m in moments for e in m.evidence if e.object_id is not None}
                parts.append(f"{len(things)} object{'s' if len(things) != 1 else ''}")
            if plan.superlative is None:
                parts.append(f"{sum(m.end_s - m.start_s for m in moments):.1f} s in all")  # "how long is the dog moving"
    elif route == "events":  # several kinds: "what does the dog do", "jumps or stops"
        counts: dict[str, int] = {}
        for m in moments:
            for e in {e.event for e in m.evidence if e.event}:
                counts[e] = counts.get(e, 0) + 1
        what = "state" if all(is_state(k) for k in kinds) else "event"
        kind = f"{what} (" + ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])) + ")"
    else:
        kind = "verified" if verified else "retrieved (not verified)"
    which = f" ({'; '.join(parts)})" if parts else ""
    best = moments[0]
    videos = {m.video_path for m in moments}
    return (f"{len(moments)} {kind} moment(s) of '{asked}'{which} in {len(videos)} video(s); best: "
            f"{Path(best.video_path).name} {clock(best.start_s)}-{clock(best.end_s)} (score {best.score:.2f})."
            f"{note_text}")


def set_aside_words(resolution: Resolution | None) -> str | None:
    """What the answer says of the objects subject resolution set aside (agent/query/subject_resolution.py), so that
    a user who meant one of them knows how to ask for it."""
    if resolution is None or not resolution.set_aside:
        return None
    items = resolution.set_aside
    shown = ", ".join(f"'{o.label}' in {Path(o.video_path).name}" for o in items[:3])
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return (f"left out {len(items)} object(s) that only some of their chunks called '{resolution.subject}' "
            f"({shown}{more}); ask by that label to see one")


def why_none(plan: QueryPlan, kinds: list[str], route: str | None, resolution: Resolution | None,
             scoped: bool) -> str:
    """Why an answer holds no moment, as a sentence after it (empty when nothing more can be said)."""
    if resolution is None:
        return ""
    if names_any_thing(plan.subject) and not resolution.objects_seen:
        return " The index holds no object" + (" in that video." if scoped else " yet.")
    if route == "events":
        if len(kinds) == 1 and kinds[0].startswith(NOT):
            held = "is seen throughout" if kinds[0] == NOT + "visible" else f"is '{kinds[0].removeprefix(NOT)}' whenever seen"
            return (f" {len(resolution.accepted)} stored object(s) match '{plan.subject}'; the subject {held}"
                    f"{window_words(plan)}.")
        what = f"a '{kinds[0]}' {'state' if is_state(kinds[0]) else 'event'}" if len(kinds) == 1 else "any event"
        edge = edge_of(plan.predicate)
        what += f" at the {edge} edge" if edge else ""
        return (f" {len(resolution.accepted)} stored object(s) match '{plan.subject}'; none has {what}"
                f"{window_words(plan)}.")
    if not resolution.accepted:
        return f" No stored object matches '{plan.subject}'."
    if names_any_thing(plan.subject) and any(k.startswith(NOT) for k in kinds):
        return f" Ask it of one thing ('when is the dog {(plan.predicate or '').removeprefix('is ')}')."
    if names_any_thing(plan.subject):
        if plan.predicate is None:
            return " Name a thing to look for ('the dog') or an event ('every jump')."
        return (f" No event or state rule reads '{plan.predicate}', and the model checks that only for a named "
                f"thing: ask about one ('the dog {plan.predicate}').")
    return ""


def nth_in_each_video(moments: list[Moment], nth: int) -> list[Moment]:
    """Each video's `nth` moment in time order (-1: its last); a video with fewer has none. Best first."""
    by_video: dict[str, list[Moment]] = {}
    for m in moments:
        by_video.setdefault(m.video_path, []).append(m)
    picked = []
    for found in by_video.values():
        found.sort(key=lambda m: (m.start_s, m.end_s))
        if nth == -1 or nth <= len(found):
            picked.append(found[nth if nth == -1 else nth - 1])
    return sorted(picked, key=lambda m: (-m.score, m.video_path, m.start_s))


def window_words(plan: QueryPlan) -> str:
    """The plan's time window as words for an answer: ' after 0:10.0', ' between 0:10.0 and 0:20.0', ' in the last 60 s
    of each video', ''."""
    start, end = plan.start_s, plan.end_s
    last = f" in the last {plan.last_s:g} s of each video" if plan.last_s is not None else ""
    if start is not None and end is not None:
        return (f" at {clock(start)}" if start == end else f" between {clock(start)} and {clock(end)}") + last
    if start is not None:
        return f" after {clock(start)}{last}"
    return (f" before {clock(end)}" if end is not None else "") + last


def clock(seconds: float) -> str:
    """'1:05.0' (m:ss.s), or 'h:mm:ss.s' from an hour on."""
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"
