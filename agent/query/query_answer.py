"""What the query graph takes (settings) and gives (an answer with moments); the dashboard uses both."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.query.query_plan import QueryPlan
from sa2va_engine.key_frames import PROMPT_EVERY_FRAME_HELP
from tools.moment import Moment


class QuerySettings(BaseModel):
    db: Path
    model: str | None = Field(default=None, description="hub id or directory; None: $SVA_MODEL or the default")
    dtype: str | None = Field(default=None, description="float32, bfloat16 or float16; None: $SVA_DTYPE, else by device")
    verify: bool = Field(default=True, description="False: retrieval-only answer, no model call")
    prompt_every_frame: bool = Field(default=False, description="the subject's track: " + PROMPT_EVERY_FRAME_HELP)
    top_n: int = Field(default=8, ge=1, description="candidate chunks verified when no stored object matches the "
                       "subject and candidates come from text search")
    verify_batch: int = Field(default=8, ge=1, description="chunks asked the yes/no question in one forward pass")
    max_verify: int = Field(default=400, ge=1, description="most chunks verified with the model; when there are more, "
                            "the answer says how many were left out")
    retrieve_k: int = Field(default=50, ge=1, description="stored texts retrieved before grouping into chunks")
    threshold: float = Field(default=0.5, ge=0, le=1, description="P(yes) a candidate needs to be kept")
    verify_by: Literal["answer", "grounding"] = Field(
        default="answer", description="where P(yes) comes from: 'answer', the model's yes/no answer; 'grounding', "
        "the model's mask of the subject and its close-up names of it (agent/query/grounded_check.py), for a model "
        "whose yes/no answer says nothing")
    sample_fps: float = Field(default=2.0, gt=0, description="frames per second decoded for verification")
    model_parser: bool = Field(default=True, description="parse the question with the model before the fallback")
    refine_window_s: float | None = Field(
        default=None, gt=0, description="after a chunk is verified, ask again on windows this long (half-overlapping) "
        "inside it and keep only those that pass: finer moment boundaries for more model calls; None: whole chunk")
    gap_s: float = Field(default=2.0, ge=0, description="verified windows closer than this merge, seconds")
    min_len_s: float = Field(default=1.0, ge=0, description="shortest moment, seconds")


class QueryAnswer(BaseModel):
    question: str
    plan: QueryPlan
    moments: list[Moment]
    answer: str = Field(description="a short sentence for people")
    verified: bool = Field(description="True when the moments were checked by the model")
    candidates: int = Field(default=0, description="candidate chunks considered")
    errors: list[str] = Field(default_factory=list, description="one line per candidate that could not be checked")
    route: str = Field(default="retrieval", description="how it was answered: 'events' (stored events, no model), "
                       "'verify' (every chunk where the subject is seen, checked by the model), 'retrieval' (text search), "
                       "'none' (nothing could be searched: a question about no thing in particular that no stored "
                       "event or state answers)")
    event: str | None = Field(default=None, description="the event kind the predicate asked for, e.g. 'jump'")
    event_kinds: list[str] = Field(default_factory=list, description="the stored event or state kinds the answer "
                                   "was read from: ['jump'] for 'jumps', every event kind for 'what does the dog do'")
    objects: list[int] = Field(default_factory=list, description="stored objects the subject was resolved to")
    set_aside: list[int] = Field(default_factory=list, description="stored objects left out: only a few of their "
                                 "chunks called them by the subject's name, their label names another thing, and "
                                 "other objects asked about clearly are the subject")
    verified_chunks: int = Field(default=0, description="chunks the model checked")
    note: str | None = Field(default=None, description="what limited the answer, e.g. the --max-verify budget")
