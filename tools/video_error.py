"""The one error a bad video input raises: a one-line message that starts with the file's name."""

from __future__ import annotations

from pathlib import Path

from sa2va_engine.user_error import UserError


class VideoError(UserError):
    """``<path>: <problem>``; ``path`` and ``problem`` are kept apart for callers that tabulate failures."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = " ".join(problem.split())
        super().__init__(f"{self.path}: {self.problem}")
