"""What an indexing run reports, per video and for the batch; and the progress hooks it calls while it works."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field

from agent.indexing.stage_clock import StageTimes

VideoOutcome = Literal["indexed", "unchanged", "partial", "failed"]


class VideoReport(BaseModel):
    path: str
    outcome: VideoOutcome
    chunks_total: int = 0
    chunks_done: int = Field(default=0, description="chunks analysed in this run")
    chunks_failed: int = 0
    error: str | None = Field(default=None, description="one line: why the video or its chunks failed")


class IndexReport(BaseModel):
    job_id: int | None
    videos: list[VideoReport]
    stages: StageTimes | None = Field(default=None, description="where the run's time went")

    @property
    def failed(self) -> list[VideoReport]:
        return [v for v in self.videos if v.outcome in ("failed", "partial")]

    @property
    def exit_code(self) -> int:
        """0 everything indexed, 1 some inputs failed (each named), 2 nothing usable was given."""
        if not self.videos:
            return 2
        return 1 if self.failed else 0


class IndexProgress(Protocol):
    def video_started(self, path: str, chunks_total: int, chunks_pending: int, duration_s: float) -> None: ...
    def chunk_finished(self, path: str, chunk_index: int, end_s: float, ok: bool) -> None: ...
    def video_finished(self, report: VideoReport) -> None: ...


class SilentProgress:
    def video_started(self, path: str, chunks_total: int, chunks_pending: int, duration_s: float) -> None:
        pass

    def chunk_finished(self, path: str, chunk_index: int, end_s: float, ok: bool) -> None:
        pass

    def video_finished(self, report: VideoReport) -> None:
        pass


class Rebuilt(BaseModel):
    """What `sva index --rebuild` did with the index it replaced."""

    set_aside: str | None = Field(description="where the old file went (None: there was none)")
    operator_rows: int | None = Field(description="accounts, roots and schedules carried over; None: the old file could not be read")

    def line(self, db: str) -> str:
        if self.set_aside is None:
            return f"no index at {db} yet: indexing from scratch"
        kept = ("its accounts, roots and schedules could not be read (damaged): add them again with "
                "`sva access` / `sva schedule add`" if self.operator_rows is None
                else f"{self.operator_rows} account, root and schedule row(s) carried over")
        return f"set the old index aside as {self.set_aside} (kept, not deleted); {kept}"
