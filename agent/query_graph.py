"""The query graph: a question in, moments with evidence out.

    parse -> scope -> retrieve -> verify -> merge -> answer          (verify skipped when settings.verify is off)

parse: the Sa2VA LLM, text only, is asked for a JSON plan; output that does not validate falls back to the
deterministic parser. retrieve: embedding search over captions, phrases and object descriptions, grouped
into candidate chunks. verify: each of the best `top_n` candidates is decoded and Sa2VA is asked the plan's
yes/no question, scored from its next-token probabilities; a kept candidate is localized by tracking the
plan's subject through the chunk (for a jump, the spans where the track leaves the ground:
agent/motion_events.py), and the track is matched to a stored object so that the evidence points at rows in
the index. merge: verified windows become moments (index/moments.py rules).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agent.motion_events import is_jump_predicate, jump_spans
from agent.object_links import track_iou
from agent.query_answer import QueryAnswer, QuerySettings
from agent.query_parse import fallback_plan, plan_from_model_text, plan_prompt
from agent.query_plan import QueryPlan
from index.moments import Hit, assemble_moments, spread_times
from index.reader import IndexReader
from index.search_hit import SearchHit
from index.summaries import ChunkSummary
from sa2va_engine.masklet import Masklet
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.user_error import UserError
from tools.clip import Clip, decode_clip
from tools.engine_session import load_engine
from tools.index_search import SearchRequest, search_index
from tools.moment import Evidence, Moment
from tools.sa2va_chat import ChatRequest, chat_about_clip
from tools.sa2va_track import TrackRequest, track_clip
from tools.sa2va_verify import VerifyRequest, verify_clip
from tools.video_decode import DEFAULT_MAX_SIDE

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
    moments: list[Moment]
    errors: list[str]
    answer: str


class QueryRunner:
    def __init__(self, settings: QuerySettings, engine: Sa2VA | None = None, reader: IndexReader | None = None):
        self.settings = settings
        self._engine = engine
        self.reader = reader or IndexReader(settings.db)
        self.graph = self._build()

    def engine(self) -> Sa2VA:
        if self._engine is None:
            self._engine = load_engine(self.settings.model)
        return self._engine

    def _build(self):
        g = StateGraph(QueryState)
        for name in ("parse", "scope", "retrieve", "verify", "merge", "answer"):
            g.add_node(name, getattr(self, name))
        g.add_edge(START, "parse")
        g.add_edge("parse", "scope")
        g.add_conditional_edges("scope", lambda s: "answer" if s.get("videos") == [] else "retrieve")
        g.add_conditional_edges("retrieve", lambda s: "verify" if self.settings.verify and s["candidates"] else "merge")
        g.add_edge("verify", "merge")
        g.add_edge("merge", "answer")
        g.add_edge("answer", END)
        return g.compile()

    def run(self, question: str) -> QueryAnswer:
        with self.reader.session():
            state = self.graph.invoke({"question": question, "errors": []})
        return QueryAnswer(
            question=question, plan=state["plan"], moments=state.get("moments", []), answer=state["answer"],
            verified=self.settings.verify and bool(state.get("candidates")),
            candidates=len(state.get("candidates", [])), errors=state["errors"],
        )

    # -- nodes ------------------------------------------------------------------------------
    def parse(self, state: QueryState) -> QueryState:
        question = state["question"]
        # Retrieval-only answers make no model call at all, parsing included.
        if self.settings.verify and self.settings.model_parser:
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

    def retrieve(self, state: QueryState) -> QueryState:
        plan, s = state["plan"], self.settings
        hits: list[SearchHit] = []
        for video in state["videos"] or [None]:
            request = SearchRequest(db=s.db, text=plan.search_text(), k=s.retrieve_k, video=video,
                                    start_s=plan.start_s, end_s=plan.end_s)
            hits += search_index(request, self.reader).hits
        hits.sort(key=lambda h: -h.score)
        return {"hits": hits[: s.retrieve_k], "candidates": _candidates(self.reader, hits[: s.retrieve_k])}

    def verify(self, state: QueryState) -> QueryState:
        plan, s = state["plan"], self.settings
        verified: list[Hit] = []
        errors = list(state["errors"])
        for candidate in state["candidates"][: s.top_n]:
            try:
                verified += self._verify_one(plan, candidate)
            except UserError as exc:  # e.g. the file moved since it was indexed: the other candidates go on
                errors.append(str(exc))
        return {"verified": verified, "errors": errors}

    def merge(self, state: QueryState) -> QueryState:
        s = self.settings
        if not (self.settings.verify and state.get("candidates")):
            return {"moments": self.reader.moments_from_hits(state.get("hits", []), s.gap_s, s.min_len_s,
                                                             TRACK_TIMES_SHOWN)}
        durations = {v.path: v.duration_s for v in self.reader.library() if v.duration_s}
        return {"moments": assemble_moments(state.get("verified", []), gap_s=s.gap_s, min_len_s=s.min_len_s,
                                            durations=durations)}

    def answer(self, state: QueryState) -> QueryState:
        moments, plan = state.get("moments", []), state["plan"]
        if not moments:
            return {"answer": f"No moment found for '{plan.search_text()}'."}
        videos = {m.video_path for m in moments}
        best = moments[0]
        kind = "verified" if self.settings.verify and state.get("candidates") else "retrieved (not verified)"
        return {"answer": f"{len(moments)} {kind} moment(s) of '{plan.search_text()}' in {len(videos)} video(s); "
                          f"best: {Path(best.video_path).name} {_clock(best.start_s)}-{_clock(best.end_s)} "
                          f"(score {best.score:.2f})."}

    # -- verification of one candidate ------------------------------------------------------
    def _verify_one(self, plan: QueryPlan, candidate: Candidate) -> list[Hit]:
        stored = self.reader.tracks_in_range(candidate.video_path, candidate.start_s, candidate.end_s)
        clip = decode_clip(candidate.video_path, candidate.start_s, candidate.end_s,
                           sample_fps=self.settings.sample_fps, max_side=_indexed_max_side(stored))
        question = plan.verify_question()
        p_yes = verify_clip(self.engine(), VerifyRequest(clip=clip, question=question)).p_yes
        if p_yes < self.settings.threshold:
            return []
        track = TrackRequest(clip=clip, expressions=[plan.track_expression()],
                             prompt_every_frame=self.settings.prompt_every_frame)
        masklet = track_clip(self.engine(), track).masklets[0]
        object_id = _matching_object(masklet, stored, candidate)
        if is_jump_predicate(plan.predicate):
            # The track says when: a chunk whose subject never leaves the ground shows no jump,
            # whatever the yes/no answer was.
            spans = [(start, end, p_yes) for start, end in jump_spans(masklet)]
            if not spans:
                return []
        else:
            spans = self._refine(clip, question) if self.settings.refine_window_s else []
        if not spans:
            # Where the subject is seen in the chunk; the whole chunk when it is never seen.
            present = masklet.present_times()
            spans = [(min(present), max(present), p_yes)] if present else [(candidate.start_s, candidate.end_s, p_yes)]
        best_text = candidate.hits[0]
        hits = []
        for start, end, score in spans:
            times = [p.time_s for p in stored.get(object_id, []) if start <= p.time_s <= end] if object_id else []
            evidence = Evidence(
                chunk_index=candidate.chunk_index, caption=candidate.caption, object_id=object_id,
                phrase=best_text.text if best_text.kind != "caption" else None, track_times=spread_times(times, TRACK_TIMES_SHOWN),
                verified=True, verify_score=score,
            )
            hits.append(Hit(video_path=candidate.video_path, start_s=start, end_s=max(start, end), score=score,
                            evidence=evidence))
        return hits

    def _refine(self, clip: Clip, question: str) -> list[tuple[float, float, float]]:
        """Windows of `refine_window_s` seconds, half-overlapping, asked the same question; the passing ones
        merged into spans (start, end, best score). Frames are the chunk's, already decoded."""
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


def run_query(question: str, settings: QuerySettings, engine: Sa2VA | None = None) -> QueryAnswer:
    """Answer `question` from the index at settings.db (see the module docstring for the steps)."""
    return QueryRunner(settings, engine).run(question)


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


def _matching_object(masklet: Masklet, stored: dict, candidate: Candidate) -> int | None:
    """The stored object the localization track is, by mask IoU; else the object a search hit named."""
    scored = [(track_iou(masklet, points, candidate.start_s, candidate.end_s), oid) for oid, points in stored.items()]
    best = max(scored, default=(0.0, None))
    if best[0] >= MATCH_IOU:
        return best[1]
    named = [h.object_id for h in candidate.hits if h.object_id is not None]
    return named[0] if named else None


def _indexed_max_side(stored: dict) -> int:
    """Decode at the size the indexer used, so masks compare pixel for pixel with the stored ones."""
    for points in stored.values():
        for p in points:
            if p.mask is not None:
                return max(p.mask.size)
    return DEFAULT_MAX_SIDE


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"
