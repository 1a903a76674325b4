"""What `sva query` makes of a question before it searches: one typed plan, whoever parsed it.

The plan is the single thing the query graph passes between retrieval, verification and tracking, so each of
those steps asks the plan for its own text (`search_text`, `verify_question`, `track_expression`) instead of
re-deriving it from the raw question in three slightly different ways.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

# "the highest jump", "the longest time the dog is still": which moments a superlative keeps, by what
# (agent/query/moment_order.py): the length of the moment, or the size its event was stored with.
Superlative = Literal["longest", "shortest", "highest", "lowest", "fastest", "slowest"]


class QueryPlan(BaseModel):
    """A parsed question. Times are seconds from the start of each video (not frame indices)."""

    question: str = Field(description="the user's question as given")
    subject: str = Field(description="the thing to find or track, as a referring expression: 'the dog', 'the red car'")
    predicate: str | None = Field(
        default=None,
        description="what the subject does or is: 'jumps', 'is parked'; null when the question only names a thing",
    )
    video: str | None = Field(
        default=None, description="a video file named in the question, as written: 'cam3.mp4'; null = all videos"
    )
    start_s: float | None = Field(
        default=None, description="only moments after this, seconds from the video's start ('after 10:00' -> 600)"
    )
    end_s: float | None = Field(
        default=None, description="only moments before this, seconds from the video's start ('before 1:30' -> 90)"
    )
    last_s: float | None = Field(
        default=None, description="only moments in the last this many seconds of each video ('in the last 5 "
        "minutes' -> 300); counted back from each video's own end"
    )
    nth: int | None = Field(
        default=None, description="which occurrence, in each video: 1 the first, 2 the second, -1 the last; null = every one"
    )
    superlative: Superlative | None = Field(
        default=None, description="keep only the moment(s) that are the most of something: 'longest' / 'shortest' "
        "by how long they last, 'highest' / 'lowest' by a jump's height, 'fastest' / 'slowest' by a motion's top "
        "speed; over every video asked about; null = every moment")
    top: int | None = Field(default=None, ge=1, description="how many the superlative keeps ('the three highest "
                            "jumps' -> 3); null = one")
    min_duration_s: float | None = Field(default=None, ge=0, description="only moments lasting at least this "
                                         "long ('parked for more than 10 minutes' -> 600), seconds")
    max_duration_s: float | None = Field(default=None, ge=0, description="only moments lasting at most this long "
                                         "('stops for less than 5 seconds' -> 5), seconds")
    parsed_by: Literal["model", "fallback"] = "fallback"

    @field_validator("subject")
    @classmethod
    def _subject_present(cls, value: str) -> str:
        # An empty subject would make retrieval match everything and tracking localize nothing.
        stripped = value.strip()
        if not stripped:
            raise ValueError("subject is empty")
        return stripped

    @field_validator("predicate", "video", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # Models often answer "" for "nothing"; treat it as absent so the plan has one way to say it.
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("last_s")
    @classmethod
    def _last_counts(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(f"'in the last {value:g} seconds' holds no time; give a length above 0 "
                             "('in the last 30 seconds')")
        return value

    @field_validator("nth")
    @classmethod
    def _nth_counts(cls, value: int | None) -> int | None:
        if value == 0 or (value is not None and value < -1):
            raise ValueError(f"nth is {value}: 1 for the first occurrence, 2 the second, -1 the last")
        return value

    @model_validator(mode="after")
    def _times_ordered(self) -> QueryPlan:
        for name in ("start_s", "end_s"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} is negative ({value})")
        if self.start_s is not None and self.end_s is not None and self.end_s < self.start_s:
            raise ValueError(f"end_s ({self.end_s}) is before start_s ({self.start_s})")
        shortest, longest = self.min_duration_s, self.max_duration_s
        if shortest is not None and longest is not None and longest < shortest:
            raise ValueError(f"max_duration_s ({longest:g} s, the longest asked) is below min_duration_s "
                             f"({shortest:g} s, the shortest asked); swap them ('for more than {longest:g} s and less than "
                             f"{shortest:g} s')")
        return self

    def search_text(self) -> str:
        """Text embedded for retrieval: the subject and what it does, e.g. 'the red car appears'."""
        return self.subject if self.predicate is None else f"{self.subject} {self.predicate}"

    def verify_question(self) -> str:
        """A yes/no question about one clip for the model.

        The predicate is quoted as a statement rather than conjugated into a question, because the fallback
        parser keeps verbs as written ('jumps', 'diving', 'is parked') and any of them reads correctly here.
        """
        if self.predicate is None:
            return f"Is {self.subject} in this video?"
        return f"In this video, does the following happen: {self.subject} {self.predicate}?"

    def track_expression(self) -> str:
        """The referring expression to localize and track: the subject alone, since masks are of things."""
        return self.subject
