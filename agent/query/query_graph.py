"""The query graph: a question in, moments with evidence out.

    parse -> scope -> resolve -+-> events --------------------------------> answer   (predicate is an event kind)
                               +-> present -> verify -> merge -> answer               (subject resolved to objects)
                               +-> retrieve -> verify -> merge -> answer              (nothing resolved)

parse: the Sa2VA LLM, text only, is asked for a JSON plan; output that does not validate falls back to the
deterministic parser. resolve: the plan's subject becomes the set of stored objects it refers to, over every
indexed video (agent/query/subject_resolution.py); ambiguous objects are checked with the model once each, on one key
frame of their track. events: a predicate that names an event kind (agent/query/event_verbs.py: jumps, leaves,
meets, ...) is answered by one index query over the stored events of the resolved objects: every occurrence,
no decoding, no model. present: any other predicate is verified on every chunk where a resolved object is seen
(at most `max_verify`, and the answer says when that cut). retrieve: when no stored object matches, embedding
search over captions, phrases and descriptions gives the candidate chunks, the best `top_n` verified.
verify: each candidate is decoded and Sa2VA is asked the plan's yes/no question, scored from its next-token
probabilities; a kept candidate is localized by tracking the plan's subject through the chunk (for a jump, the
events the indexing rules read off that track, tools/track_events.py), and the track is matched to a stored object
so that the evidence points at rows in the index. merge: verified windows become moments (index/moments.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agent.query.event_verbs import (NOT, asks_presence, edge_of, event_kind, event_kinds, event_object,
                                     negated_state, pair_parts)
from agent.query.answer_text import answer_sentence, clock, nth_in_each_video, set_aside_words
from agent.query.moment_order import in_last_seconds, lasting_kinds, order_words, ranked, within_length
from agent.query.state_complement import spans_without, within
from agent.indexing.object_links import mask_iou, track_iou
from agent.query.query_answer import QueryAnswer, QuerySettings
from agent.query.query_parse import checked_question, fallback_plan, plan_from_model_text, plan_prompt
from agent.query.query_plan import QueryPlan
from agent.query.subject_resolution import (Resolution, ResolvedObject, name_verdicts, names_any_thing,
                                            resolve_subject)
from index.moments import Hit, assemble_moments, event_moments, spread_times
from index.reader import IndexReader
from index.search_hit import SearchHit
from index.search_request import SearchRequest, search_index
from index.subject_checks import SubjectCheck, store_checks
from index.summaries import ChunkSummary, StoredEvent
from sa2va_engine.masklet import SAME_FRAME_S, Masklet, TrackPoint
from sa2va_engine.user_error import UserError
from tools.clip import Clip, decode_clip
from tools.colour_words import colours_differ
from tools.engine_session import model_name
from tools.moment import Evidence, Moment
from tools.track_event import PAIR_KINDS, STATE_KINDS
from tools.track_events import masklet_events, nearest_edge
from tools.video_decode import DEFAULT_MAX_SIDE

if TYPE_CHECKING:
    from agent.query.grounded_check import GroundedCheck
    from sa2va_engine.sa2va import Sa2VA

# The model's tools (and torch with them) are imported where the model is used: a question the index answers
# alone (an event query) then starts in about a second instead of ten.

# A localization track matching a stored one this well is taken to be the same object.
MATCH_IOU = 0.3
TRACK_TIMES_SHOWN = 8


class Candidate(BaseModel):
    """A chunk some stored texts matched: where verification looks."""

    video_path: str
    chunk_index: int
    start_s: float
    end_s: float
    score: float
    caption: str | None = Field(default=None, description="the chunk's stored caption")
    hits: list[SearchHit]


class QueryState(TypedDict, total=False):
    question: str
    plan: QueryPlan
    videos: list[str] | None
    hits: list[SearchHit]
    candidates: list[Candidate]
    verified: list[Hit]
    resolution: Resolution
    other: str | None  # the second participant of a two-object event or state, as written
    kinds: list[str]  # the stored kinds the answer reads: one, or every event kind for "what does X do"
    labels: dict[int, str]  # every stored object in scope: its label, to name the other side of a meeting
    route: str
    note: str | None
    moments: list[Moment]
    errors: list[str]
    checked: list[int]
    new_checks: dict[str, list[SubjectCheck]]  # by the subject text they were asked for
    answer: str


class QueryRunner:
    def __init__(self, settings: QuerySettings, engine: Sa2VA | None = None, reader: IndexReader | None = None,
                 progress: Callable[[str], None] | None = None):
        self.settings = settings
        self.progress = progress
        self._engine = engine
        self.reader = reader or IndexReader(settings.db)
        self.graph = self._build()

    def engine(self) -> Sa2VA:
        if self._engine is None:
            from tools.engine_session import load_engine

            self._engine = load_engine(self.settings.model, dtype=self.settings.dtype)
        return self._engine

    def _build(self):
        g = StateGraph(QueryState)
        for name in ("parse", "scope", "resolve", "events", "present", "retrieve", "verify", "merge", "answer"):
            g.add_node(name, getattr(self, name))
        g.add_edge(START, "parse")
        g.add_edge("parse", "scope")
        g.add_conditional_edges("scope", lambda s: "answer" if s.get("videos") == [] else "resolve")
        g.add_conditional_edges("resolve", self._route, ["events", "present", "retrieve", "answer"])
        g.add_edge("events", "answer")
        for step in ("present", "retrieve"):
            g.add_conditional_edges(step, lambda s: "verify" if self.settings.verify and s["candidates"] else "merge")
        g.add_edge("verify", "merge")
        g.add_edge("merge", "answer")
        g.add_edge("answer", END)
        return g.compile()

    def run(self, question: str) -> QueryAnswer:
        """Raises QueryParseError (one line) for a question `checked_question` refuses, before the index is
        opened or the model loaded."""
        question = checked_question(question)
        with self.reader.session():
            state = self.graph.invoke({"question": question, "errors": []})
        if any(state.get("new_checks", {}).values()):  # written after the read session: a write would wait for it
            self.reader.close()
            for subject, checks in state["new_checks"].items():
                if checks:
                    store_checks(self.settings.db, subject, model_name(self.settings.model), checks)
        route = state.get("route", "retrieval")
        resolution = state.get("resolution")
        return QueryAnswer(
            question=question, plan=state["plan"], moments=state.get("moments", []), answer=state["answer"],
            verified=route != "events" and self.settings.verify and bool(state.get("candidates")),
            candidates=len(state.get("candidates", [])), errors=state["errors"], route=route,
            event=_one_kind(state), event_kinds=state.get("kinds", []),
            objects=resolution.object_ids() if resolution else [],
            set_aside=[o.object_id for o in resolution.set_aside] if resolution else [],
            verified_chunks=len(state.get("checked", [])), note=state.get("note"),
        )

    # -- nodes ------------------------------------------------------------------------------
    def parse(self, state: QueryState) -> QueryState:
        question = state["question"]
        # Retrieval-only answers make no model call at all, parsing included.
        if self.settings.verify and self.settings.model_parser:
            from tools.sa2va_chat import ChatRequest, chat_about_clip

            reply = chat_about_clip(self.engine(), ChatRequest(question=plan_prompt(question), max_new_tokens=96))
            plan = plan_from_model_text(question, reply.text)
            if plan is not None:
                return {"plan": plan}
        return {"plan": fallback_plan(question)}

    def scope(self, state: QueryState) -> QueryState:
        """The videos a question names ("in cam3.mp4"), matched by file name or path ending; None = all."""
        wanted = state["plan"].video
        if wanted is None:
            return {"videos": None}
        needle = wanted.lower().replace("\\", "/")
        paths = [v.path for v in self.reader.library()]
        matches = [p for p in paths if Path(p).name.lower() == needle or p.lower().endswith("/" + needle.lstrip("/"))]
        if not matches:
            matches = [p for p in paths if Path(p).stem.lower() == Path(needle).stem]
        if not matches:
            return {"videos": [], "errors": state["errors"] + [f"{wanted}: no indexed video has this name"]}
        return {"videos": matches}

    def resolve(self, state: QueryState) -> QueryState:
        """The stored objects the subject means, in the videos in scope; ambiguous ones asked of the model. For a
        two-object event or state asked of "A and B" with no second participant, the subject is A and B the other."""
        plan = state["plan"]
        kinds = lasting_kinds(event_kinds(plan.predicate), plan)
        kind = kinds[0] if len(kinds) == 1 else None
        negated = negated_state(plan.predicate)
        other = event_object(negated[1] if negated else plan.predicate) if kind else None
        subjects = [plan.subject]
        parts = pair_parts(plan.subject) if kind is not None else None
        if parts is not None and (kind or "").removeprefix(NOT) in PAIR_KINDS and other is None:
            subjects, other = [parts[0]], parts[1]
        elif parts is not None:
            subjects = list(parts)  # "when do the dog and the cat jump": the events of either
        objects = self.reader.object_names(state.get("videos"))
        errors = list(state["errors"])
        new_checks: dict[str, list[SubjectCheck]] = {}
        resolution = None
        for subject in subjects:
            found = resolve_subject(subject, objects, self.reader.embedder)
            if found.ambiguous and self.settings.verify:
                asked = new_checks.setdefault(subject, [])
                confirmed = self._confirm_ambiguous(subject, found.ambiguous, errors, asked)
                found = found.model_copy(update={"accepted": found.accepted + confirmed, "ambiguous": []})
            if resolution is None:
                resolution = found
            else:
                have = set(resolution.object_ids())
                resolution = resolution.model_copy(update={
                    "subject": plan.subject,
                    "accepted": resolution.accepted + [o for o in found.accepted if o.object_id not in have],
                    "set_aside": resolution.set_aside + found.set_aside})
        if resolution is not None and resolution.set_aside:  # set aside for one subject, another's may hold it
            kept = set(resolution.object_ids())
            unique = {o.object_id: o for o in resolution.set_aside if o.object_id not in kept}
            resolution = resolution.model_copy(update={"set_aside": list(unique.values())})
        return {"resolution": resolution, "kinds": kinds, "errors": errors, "new_checks": new_checks, "other": other,
                "labels": {o.object_id: o.label for o in objects}}

    def _route(self, state: QueryState) -> str:
        if names_any_thing(state["plan"].subject) and any(k.startswith(NOT) for k in state["kinds"]):
            return "answer"  # "when is anything not near the box": whose absence is meant is not said
        if state["kinds"] and state["resolution"].accepted:
            return "events"
        if names_any_thing(state["plan"].subject):
            # "anything", "which objects": there is no thing for the model to find and check, so only the stored
            # events and states answer (the answer says why there is nothing else).
            return "answer"
        return "present" if state["resolution"].accepted and self.settings.verify else "retrieve"

    def events(self, state: QueryState) -> QueryState:
        """Every stored occurrence of the event kinds by a resolved object: one index query, no model."""
        plan = state["plan"]
        resolution, kinds = state["resolution"], state["kinds"]
        others = None
        other_text = state.get("other")
        if other_text:
            others = resolve_subject(other_text, self.reader.object_names(state.get("videos")),
                                     self.reader.embedder).object_ids()
        by_id = {o.object_id: o for o in resolution.accepted}
        durations = {v.path: v.duration_s for v in self.reader.library() if v.duration_s}
        hits = [h for k in kinds if k.startswith(NOT)
                for h in self._not_hits(plan, resolution, k.removeprefix(NOT), others, other_text, durations)]
        stored = [k for k in kinds if not k.startswith(NOT)]
        edge = edge_of(plan.predicate)  # "enters from the left": only those whose box comes in at that edge
        tracks: dict[int, list[TrackPoint]] = {}  # each object's track read once, however many events it has
        events = self.reader.events(resolution.object_ids(), stored, plan.start_s, plan.end_s, others) if stored else []
        neighbours = self._neighbours_jumps(plan, events, state["labels"])
        for e in events:
            if edge is not None and self._edge(e, tracks) != edge:
                continue
            if (e.object_id, e.start_s) in neighbours and e.kind == "jump":
                continue  # the part that jumped and the object's label both name another thing than the subject
            first, second = e.object_id, e.other_object_id
            if others and first in others and second is not None and second not in others:
                first, second = second, first  # "what is near the white box": the side that is not the white box
            subject = by_id.get(first) or by_id.get(second)
            if subject is None:
                continue
            partner = e.other_object_id if subject.object_id == e.object_id else e.object_id
            rule = e.rule
            if e.other_object_id is not None and state["labels"].get(partner):
                rule = f"with {state['labels'][partner]}: {rule}"
            evidence = Evidence(object_id=subject.object_id, phrase=subject.label, track_times=e.evidence_s,
                                event=e.kind, rule=rule, size=e.size)
            start, end = e.start_s, e.end_s
            if e.kind in STATE_KINDS:  # a state holds over the whole span: the part inside the asked window is the answer
                start = start if plan.start_s is None else max(start, plan.start_s)
                end = end if plan.end_s is None else min(end, plan.end_s)
                if end <= start and plan.start_s != plan.end_s:
                    continue  # it only touches the window's edge
            # How clearly the rule fired, times how surely the object is the subject.
            hits.append(Hit(video_path=e.video_path, start_s=start, end_s=end,
                            score=round(e.score * subject.score, 4), evidence=evidence))
        if names_any_thing(plan.subject):  # different things' events: only one event stored twice is merged
            moments = event_moments(hits, durations)
        else:  # each occurrence its own moment: only overlapping ones of a kind (one event seen as two objects) merge
            moments = [m for k in kinds for m in assemble_moments([h for h in hits if h.evidence.event == k],
                                                                  gap_s=0.0, min_len_s=0.0, durations=durations)]
            moments.sort(key=lambda m: (-m.score, m.video_path, m.start_s))
        return {"route": "events", "moments": moments, "candidates": []}

    def _neighbours_jumps(self, plan: QueryPlan, events: list[StoredEvent],
                          labels: dict[int, str]) -> set[tuple[int, float]]:
        """(object id, start) of the stored jumps whose mask was in two parts at its height (index/part_names.py) and
        where the name the model gave the part off the ground (the part that jumped) and the object's label both name
        another thing than the subject ("the red box" for "the red ball"): the object was taken for the subject by a phrase of
        one chunk, and the jump is the other thing's. One name alone does not decide: the names up close get the kind
        wrong about one time in ten (`sva demo --seed 6000`'s red ball, labelled right, has its jumping part named "the
        red box"). A question about no thing in particular keeps every jump."""
        jumps = [e for e in events if e.kind == "jump"]
        if not jumps or names_any_thing(plan.subject):
            return set()
        parts = self.reader.part_names(sorted({e.object_id for e in jumps}))
        named = {(e.object_id, e.start_s): [n for t, n in parts.get(e.object_id, ())
                                            if e.start_s - SAME_FRAME_S <= t <= e.end_s + SAME_FRAME_S] for e in jumps}
        names = [n for ns in named.values() for n in ns] + [labels.get(e.object_id, "") for e in jumps]
        verdicts = name_verdicts(plan.subject, [n for n in names if n], self.reader.embedder)
        # Any name that is the subject keeps the jump: a mask over two objects of one kind names either.
        return {(oid, start) for (oid, start), ns in named.items()
                if ns and labels.get(oid) and all(verdicts[n] == "rejected" for n in [*ns, labels[oid]])}

    def _edge(self, e: StoredEvent, tracks: dict[int, list[TrackPoint]]) -> str | None:
        """The frame edge an 'enters' ('leaves') event's object is first (last) seen nearest, from its stored track
        (`tracks`: those read so far, by object)."""
        entering = e.kind == "enters"
        if e.object_id not in tracks:
            tracks[e.object_id] = [p for p in self.reader.tracks(e.object_id) if p.box is not None and p.mask is not None]
        points = [p for p in tracks[e.object_id] if e.start_s - 1.0 <= p.time_s <= e.end_s + 1.0
                  and (p.time_s >= e.start_s if entering else p.time_s <= e.end_s)]
        if not points:
            return None
        point = points[0] if entering else points[-1]
        return nearest_edge(point.box, tuple(point.mask.size))

    def _not_hits(self, plan: QueryPlan, resolution: Resolution, state: str, others: list[int] | None,
                  other_text: str | None, durations: dict[str, float]) -> list[Hit]:
        """The time `state` does not hold for the subject, per video (agent/query/state_complement.py)."""
        ids = set(resolution.object_ids())
        seen = self.reader.events(list(ids), ["visible"])
        held = seen if state == "visible" else [
            e for e in self.reader.events(list(ids), [state], None, None, others)
            if not (e.other_object_id is not None and {e.object_id, e.other_object_id} <= ids)]  # itself, twice
        by_video: dict[str, list[ResolvedObject]] = {}
        for o in resolution.accepted:
            by_video.setdefault(o.video_path, []).append(o)
        with_whom = f" with {other_text}" if other_text else ""
        how = ("no sighting of it (the 'visible' rule holds nowhere there)" if state == "visible" else
               f"seen, and the '{state}' rule does not hold{with_whom}")
        hits = []
        for video, objects in by_video.items():
            subject = max(objects, key=lambda o: o.score)
            if state == "visible":
                end = durations.get(video) or max((e.end_s for e in seen if e.video_path == video), default=0.0)
                base = [(0.0, end)]
            else:
                base = [(e.start_s, e.end_s) for e in seen if e.video_path == video]
            minus = [(e.start_s, e.end_s) for e in held if e.video_path == video]
            for start, end in within(spans_without(base, minus), plan.start_s, plan.end_s):
                evidence = Evidence(object_id=subject.object_id, phrase=subject.label, event=NOT + state,
                                    rule=how)
                hits.append(Hit(video_path=video, start_s=start, end_s=end, score=round(subject.score, 4),
                                evidence=evidence))
        return hits

    def present(self, state: QueryState) -> QueryState:
        """Every chunk where a resolved object is seen is a candidate, in time order, up to `max_verify`."""
        plan, s = state["plan"], self.settings
        resolution = state["resolution"]
        chunks = self.reader.object_chunks(resolution.object_ids())
        last_from = self._last_from(plan)
        candidates = []
        for video, index, start, end, seen in chunks:
            if (plan.start_s is not None and end < plan.start_s) or (plan.end_s is not None and start > plan.end_s):
                continue
            if last_from is not None and end < last_from.get(video, math.inf):
                continue
            names = [o for o in resolution.accepted if o.object_id in seen]
            hits = [SearchHit(video_path=video, video_id=0, chunk_index=index, kind="phrase", object_id=o.object_id,
                              start_s=start, end_s=end, text=o.label, score=o.score) for o in names]
            candidates.append(Candidate(video_path=video, chunk_index=index, start_s=start, end_s=end,
                                        score=max(o.score for o in names), hits=hits))
        note = None
        if len(candidates) > s.max_verify:
            note = (f"verified {s.max_verify} of {len(candidates)} candidate chunks (--max-verify); "
                    "raise it to check them all")
            candidates = candidates[: s.max_verify]
        return {"route": "verify", "candidates": candidates, "note": note}

    def retrieve(self, state: QueryState) -> QueryState:
        plan, s = state["plan"], self.settings
        hits: list[SearchHit] = []
        for video in state["videos"] or [None]:
            request = SearchRequest(db=s.db, text=plan.search_text(), k=s.retrieve_k, video=video,
                                    start_s=plan.start_s, end_s=plan.end_s)
            hits += search_index(request, self.reader).hits
        last_from = self._last_from(plan)
        if last_from is not None:  # before the budget: the best chunks of the last minutes, not the best of all
            hits = [h for h in hits if h.end_s >= last_from.get(h.video_path, math.inf)]
        hits.sort(key=lambda h: -h.score)
        candidates = _candidates(self.reader, hits[: s.retrieve_k])
        note = None
        if s.verify and len(candidates) > s.top_n:
            note = f"verified the best {s.top_n} of {len(candidates)} chunks found by text search (--top-n)"
        return {"route": "retrieval", "hits": hits[: s.retrieve_k], "candidates": candidates[: s.top_n]
                if s.verify else candidates, "note": note}

    def _durations(self) -> dict[str, float]:
        """Each indexed video's length in seconds, by path (videos of unknown length left out)."""
        return {v.path: v.duration_s for v in self.reader.library() if v.duration_s}

    def _last_from(self, plan: QueryPlan) -> dict[str, float] | None:
        """For "in the last 5 minutes": where that stretch begins in each video (its duration less `last_s`)."""
        if plan.last_s is None:
            return None
        return {path: duration - plan.last_s for path, duration in self._durations().items()}

    def verify(self, state: QueryState) -> QueryState:
        """Candidates in batches of `verify_batch`: decoded, asked the yes/no question in one forward pass,
        then each kept one localized on its own."""
        from tools.sa2va_verify import VerifyRequest, verify_clips

        plan, batch = state["plan"], self.settings.verify_batch
        verified: list[Hit] = []
        errors = list(state["errors"])
        candidates = state["candidates"]
        checked = []
        for first in range(0, len(candidates), batch):
            group = candidates[first:first + batch]
            if self.progress:
                last = group[-1]
                self.progress(f"verifying chunks {first + 1}-{first + len(group)} of {len(candidates)} "
                              f"(to {Path(last.video_path).name} {clock(last.end_s)})")
            decoded = []
            for candidate in group:
                try:
                    decoded.append((candidate, *self._decode(candidate)))
                except UserError as exc:  # e.g. the file moved since it was indexed: the other candidates go on
                    errors.append(str(exc))
            if self.settings.verify_by == "grounding":
                verified += self._grounded(plan, decoded, state.get("labels"))
            else:
                requests = [VerifyRequest(clip=clip, question=plan.verify_question()) for _, clip, _ in decoded]
                for (candidate, clip, stored), reply in zip(decoded, verify_clips(self.engine(), requests)):
                    verified += self._localize(plan, candidate, clip, stored, reply.p_yes)
            checked += [candidate.chunk_index for candidate, _, _ in decoded]
        note = state.get("note")
        if (self.settings.verify_by == "grounding" and not asks_presence(plan.predicate)
                and (_one_kind(state) is None or _one_kind(state) in PAIR_KINDS)):
            unread = (f"grounding checked that {plan.subject} is seen, not that it {plan.predicate} (no event or "
                      "state rule reads that)")
            note = f"{note}; {unread}" if note else unread
        return {"verified": verified, "errors": errors, "checked": checked, "note": note}

    def merge(self, state: QueryState) -> QueryState:
        s = self.settings
        if not (self.settings.verify and state.get("candidates")):
            return {"moments": self.reader.moments_from_hits(state.get("hits", []), s.gap_s, s.min_len_s,
                                                             TRACK_TIMES_SHOWN)}
        return {"moments": assemble_moments(state.get("verified", []), gap_s=s.gap_s, min_len_s=s.min_len_s,
                                            durations=self._durations())}

    def answer(self, state: QueryState) -> QueryState:
        """The one-line answer (agent/query/answer_text.py). The moments kept: those lasting as long as the plan asks,
        then with a superlative the most of it over every video (agent/query/moment_order.py), with `nth` that moment of
        each video."""
        moments, plan = state.get("moments", []), state["plan"]
        if plan.last_s is not None:
            moments = in_last_seconds(moments, plan.last_s, self._durations())
        moments = within_length(moments, plan)
        found = len(moments)
        moments, unranked = ranked(moments, plan)
        if plan.nth is not None and moments:
            moments = nth_in_each_video(moments, plan.nth)
        # No route taken: a question about no thing in particular that no stored kind answers.
        route = {} if state.get("route") else {"route": "none"}
        verified = self.settings.verify and bool(state.get("candidates"))
        # What limited the answer, for people (the sentence) and programs (`note` in --json) alike.
        note = "; ".join(n for n in (state.get("note"), set_aside_words(state.get("resolution"))) if n) or None
        text = answer_sentence(plan, moments, found, state.get("kinds", []), state.get("route"), verified, note,
                               state.get("resolution"), bool(state.get("videos")),
                               order_words(plan, moments, found, unranked))
        return {"moments": moments, "answer": text, "note": note, **route}

    # -- verification of one candidate ------------------------------------------------------
    def _decode(self, candidate: Candidate) -> tuple[Clip, dict[int, list[TrackPoint]]]:
        """The candidate's frames, at the size the indexer used, and what the index stored over them."""
        stored = self.reader.tracks_in_range(candidate.video_path, candidate.start_s, candidate.end_s)
        clip = decode_clip(candidate.video_path, candidate.start_s, candidate.end_s,
                           sample_fps=self.settings.sample_fps, max_side=_indexed_max_side(stored))
        return clip, stored

    def _track_requests(self, plan: QueryPlan, clips: list[Clip]) -> list:
        from tools.sa2va_track import TrackRequest

        return [TrackRequest(clip=clip, expressions=[plan.track_expression()],
                             prompt_every_frame=self.settings.prompt_every_frame) for clip in clips]

    def _grounded(self, plan: QueryPlan, decoded: list[tuple[Candidate, Clip, dict[int, list[TrackPoint]]]],
                  labels: dict[int, str] | None = None) -> list[Hit]:
        """A batch of candidates verified by grounding: the subject tracked in each, all their close-up names in
        one generation (grounded_check), then each localized with its track."""
        from agent.query.grounded_check import grounded_checks
        from tools.sa2va_track import track_clips

        clips = [clip for _, clip, _ in decoded]
        masklets = [reply.masklets[0] for reply in track_clips(self.engine(), self._track_requests(plan, clips))]
        checks = grounded_checks(self.engine(), list(zip(clips, masklets)), plan.subject, self.reader.embedder)
        kind = event_kind(plan.predicate)
        hits = []
        for (candidate, clip, stored), masklet, check in zip(decoded, masklets, checks):
            # An event the subject's track shows is kept whatever the close-up names say, scored by them: on
            # tracks whose mask holds two objects the names are the other one's as often as the event is
            # (bench/README.md: the grounded gate on the retrieval route's jumps dropped 4 false and 4 true ones).
            if (kind is None or kind in PAIR_KINDS) and check.p_yes < self.settings.threshold:
                continue
            hits += self._localize(plan, candidate, clip, stored, check.p_yes, masklet, check, labels)
        return hits

    def _localize(self, plan: QueryPlan, candidate: Candidate, clip: Clip, stored: dict[int, list[TrackPoint]],
                  p_yes: float, masklet: Masklet | None = None, grounded: GroundedCheck | None = None,
                  labels: dict[int, str] | None = None) -> list[Hit]:
        """A candidate the model answered `p_yes` for: nothing below the threshold, else where it happens, by the
        subject's track (`masklet`, tracked here when not given). `grounded`: how grounding gave `p_yes`; `labels`:
        the stored objects' labels by id."""
        from agent.query.subject_crossings import subject_crossings  # names up close: the model stack
        from tools.sa2va_track import track_clip

        question = plan.verify_question()
        if grounded is None and p_yes < self.settings.threshold:
            return []
        if masklet is None:
            masklet = track_clip(self.engine(), self._track_requests(plan, [clip])[0]).masklets[0]
        kind = event_kind(plan.predicate)
        under = _object_under(masklet, stored, candidate)
        names = [n for n in grounded.names if n] if grounded is not None else []
        if (names and under is not None and labels and colours_differ(plan.subject, labels.get(under) or "")
                and all(colours_differ(plan.subject, n) for n in names)):
            # The mask the subject was grounded to lies on a stored object whose label names other colours, and the
            # model names it up close in other colours too: a neighbour's track ("the yellow dog" grounded onto the
            # red box beside it, whose jumps are the box's). The label alone does not decide: a stored mask over two
            # objects is labelled as one of them, and the grounded mask may be on the other.
            return []
        object_id = under if under is not None else _named_object(candidate)
        rules: list[str | None] = []
        if kind is not None and kind not in PAIR_KINDS:
            # The track says when, by the rules indexing uses (tools/track_events.py): a chunk whose subject
            # never leaves the ground shows no jump, whatever the yes/no answer was.
            own = masklet_events(masklet, clip.times())
            events = [e for e in own if e.kind == kind]
            if kind in ("enters", "leaves"):
                # The subject going out inside a mask that stays on a neighbour (agent/query/subject_crossings.py).
                events += subject_crossings(self.engine(), clip, masklet, plan.subject, kind, own,
                                            self.reader.embedder)
            spans = [(e.start_s, e.end_s, p_yes) for e in events]
            rules = [e.rule if grounded is None else f"{e.rule}; {grounded.how()}" for e in events]
            if not spans:
                return []
        elif grounded is not None:
            # Grounding checks the subject, not a predicate no event or state rule reads: the moments are where it is seen.
            spans = [(a, b, p_yes) for a, b in _seen_spans(masklet, clip.times())]
            rules = [grounded.how()] * len(spans)
        else:
            spans = self._refine(clip, question) if self.settings.refine_window_s else []
        if not spans:
            # Where the subject is seen in the chunk; the whole chunk when it is never seen.
            present = masklet.present_times()
            spans = [(min(present), max(present), p_yes)] if present else [(candidate.start_s, candidate.end_s, p_yes)]
        best_text = candidate.hits[0]
        hits = []
        for i, (start, end, score) in enumerate(spans):
            times = [p.time_s for p in stored.get(object_id, []) if start <= p.time_s <= end] if object_id else []
            evidence = Evidence(
                chunk_index=candidate.chunk_index, caption=candidate.caption, object_id=object_id,
                phrase=best_text.text if best_text.kind != "caption" else None, track_times=spread_times(times, TRACK_TIMES_SHOWN),
                verified=True, verify_score=score, event=kind if i < len(rules) else None,
                rule=rules[i] if i < len(rules) else None,
            )
            hits.append(Hit(video_path=candidate.video_path, start_s=start, end_s=max(start, end), score=score,
                            evidence=evidence))
        return hits

    def _refine(self, clip: Clip, question: str) -> list[tuple[float, float, float]]:
        """Windows of `refine_window_s` seconds, half-overlapping, asked the same question; the passing ones
        merged into spans (start, end, best score). Frames are the chunk's, already decoded."""
        from tools.sa2va_verify import VerifyRequest, verify_clip

        length = self.settings.refine_window_s
        stride = length / 2
        starts, t = [], clip.start_s
        while t + length < clip.end_s - 1e-6:
            starts.append(t)
            t += stride
        starts.append(max(clip.start_s, clip.end_s - length))
        passed: list[tuple[float, float, float]] = []
        for start in starts:
            frames = [f for f in clip.frames if start <= f.time_s < start + length]
            if not frames:
                continue
            window = Clip(video_path=clip.video_path, start_s=start, end_s=start + length, frames=frames)
            p = verify_clip(self.engine(), VerifyRequest(clip=window, question=question)).p_yes
            if p >= self.settings.threshold:
                passed.append((start, min(start + length, clip.end_s), p))
        spans: list[tuple[float, float, float]] = []
        for start, end, p in passed:
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end), max(spans[-1][2], p))
            else:
                spans.append((start, end, p))
        return spans


    # -- ambiguous subjects ------------------------------------------------------------------
    def _confirm_ambiguous(self, subject: str, objects: list[ResolvedObject], errors: list[str],
                           new_checks: list[SubjectCheck]) -> list[ResolvedObject]:
        """The ambiguous objects the model also picks: per object one key frame of its stored track (the largest
        mask), segmented with the subject; kept when the mask overlaps the stored one (mask IoU >= MATCH_IOU).
        One track call per video, all its key frames together, each frame prompted alone. An object the model
        was asked about before, for this subject on the same key frame, takes that verdict from the index
        (index/subject_checks.py); the new verdicts go to `new_checks`, stored once the read is over."""
        keep = []
        model = model_name(self.settings.model)
        stored = self.reader.subject_checks(subject, model, [o.object_id for o in objects])
        by_video: dict[str, list[tuple[ResolvedObject, TrackPoint]]] = {}
        for obj in objects:
            points = [p for p in self.reader.tracks(obj.object_id) if p.mask is not None]
            if not points:
                continue
            key = max(points, key=lambda p: p.area)
            before = stored.get(obj.object_id)
            if before is not None and before[0] == key.time_s:
                if before[1]:
                    keep.append(obj.model_copy(update={"verdict": "accepted",
                                                       "how": obj.how + ", confirmed by the model before"}))
                continue
            by_video.setdefault(obj.video_path, []).append((obj, key))
        for video, items in by_video.items():
            try:
                usable = [(item, _frame_at(video, item[1])) for item in items]
            except UserError as exc:  # the file moved since it was indexed: its objects stay unconfirmed
                errors.append(str(exc))
                continue
            engine = self.engine()
            masks = engine.track([f.image for _, f in usable], [subject], prompt_every_frame=True,
                                 frame_times=[f.time_s for _, f in usable])[0].points
            for ((obj, key), _), mask in zip(usable, masks):
                accepted = mask_iou(mask.model_copy(update={"time_s": key.time_s}), key) >= MATCH_IOU
                new_checks.append(SubjectCheck(video_id=obj.video_id, object_id=obj.object_id, key_time_s=key.time_s,
                                               accepted=accepted))
                if accepted:
                    keep.append(obj.model_copy(update={"verdict": "accepted", "how": obj.how + ", confirmed by the model"}))
        return keep


def run_query(question: str, settings: QuerySettings, engine: Sa2VA | None = None,
              progress: Callable[[str], None] | None = None) -> QueryAnswer:
    """Answer `question` from the index at settings.db (see the module docstring for the steps); `progress`
    hears one line per chunk the model verifies."""
    return QueryRunner(settings, engine, progress=progress).run(question)


def _one_kind(state: QueryState) -> str | None:
    """The one stored kind the question asks for ('jump'), or None (none, or several)."""
    kinds = state.get("kinds", [])
    return kinds[0] if len(kinds) == 1 else None


def _candidates(reader: IndexReader, hits: list[SearchHit]) -> list[Candidate]:
    """Hits grouped by chunk, best chunk first; each candidate spans its whole chunk."""
    by_chunk: dict[tuple[str, int], list[SearchHit]] = {}
    for hit in hits:
        by_chunk.setdefault((hit.video_path, hit.chunk_index), []).append(hit)
    chunks: dict[str, dict[int, ChunkSummary]] = {}
    out = []
    for (video, index), group in by_chunk.items():
        if video not in chunks:
            chunks[video] = {c.chunk_index: c for c in reader.chunks(video)}
        chunk = chunks[video].get(index)
        start, end = (chunk.start_s, chunk.end_s) if chunk else (group[0].start_s, group[0].end_s)
        out.append(Candidate(video_path=video, chunk_index=index, start_s=start, end_s=end,
                             score=max(h.score for h in group), caption=chunk.caption if chunk else None, hits=group))
    out.sort(key=lambda c: (-c.score, c.video_path, c.chunk_index))
    return out


def _object_under(masklet: Masklet, stored: dict, candidate: Candidate) -> int | None:
    """The stored object the localization track is, by mask IoU, or None."""
    scored = [(track_iou(masklet, points, candidate.start_s, candidate.end_s), oid) for oid, points in stored.items()]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= MATCH_IOU else None


def _named_object(candidate: Candidate) -> int | None:
    """The object a search hit of the candidate named: the moment's object when no stored track is the grounded one."""
    named = [h.object_id for h in candidate.hits if h.object_id is not None]
    return named[0] if named else None


def _seen_spans(masklet: Masklet, times: list[float]) -> list[tuple[float, float]]:
    """(first, last) sample time of each run of consecutive frames on which the track has a mask."""
    spans: list[tuple[float, float]] = []
    previous = False
    for point, t in zip(masklet.points, times):
        if point.present and previous:
            spans[-1] = (spans[-1][0], t)
        elif point.present:
            spans.append((t, t))
        previous = point.present
    return spans


def _frame_at(video: str, point: TrackPoint):
    """The decoded frame nearest `point.time_s`, at the size its stored mask was made at."""
    clip = decode_clip(video, max(0.0, point.time_s - 0.25), point.time_s + 0.25, sample_fps=20.0,
                       max_side=max(point.mask.size))
    return min(clip.frames, key=lambda f: abs(f.time_s - point.time_s))


def _indexed_max_side(stored: dict) -> int:
    """Decode at the size the indexer used, so masks compare pixel for pixel with the stored ones."""
    for points in stored.values():
        for p in points:
            if p.mask is not None:
                return max(p.mask.size)
    return DEFAULT_MAX_SIDE
