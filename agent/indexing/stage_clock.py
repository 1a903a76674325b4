"""Where an indexing run's time goes: seconds per stage, frames decoded and tokens generated, per job.

Stages: decode (frames of a chunk out of the video), caption, ground (grounded caption), track, describe (region
captions of new objects), embed (text vectors of a chunk's captions, phrases and descriptions), commit (the
chunk's transaction, without the embedding). Model stages count the tokens the engine generated in them. Embed
and commit run behind the analysis, in a thread of their own (agent/indexing/commit_behind.py), so their seconds
overlap the model stages' and the stages can add up to more than the run's wall time.
`sva index` prints the split at the end (and in --json), the job row keeps it (jobs.stages), and the dashboard's
Jobs page shows it. On Ray (`sva index --ray`) each actor times decode and the model stages of its chunks and sends
them back with the chunk (`ChunkWork.stages`); the writer adds them up and times embed and commit itself, so the
model stages are summed over actors that run at once (their sum can exceed the run's wall time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from pydantic import BaseModel, Field

STAGES = ("decode", "caption", "ground", "track", "describe", "embed", "commit")
MODEL_STAGES = ("caption", "ground", "track", "describe")


class StageTimes(BaseModel):
    seconds: dict[str, float] = Field(default_factory=lambda: {s: 0.0 for s in STAGES})
    tokens: dict[str, int] = Field(default_factory=dict, description="tokens generated per model stage")
    frames: int = Field(default=0, description="frames decoded")
    chunks: int = Field(default=0, description="chunks analysed (committed with frames, or failed)")

    def add(self, other: "StageTimes") -> None:
        for stage, s in other.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + s
        for stage, n in other.tokens.items():
            self.tokens[stage] = self.tokens.get(stage, 0) + n
        self.frames += other.frames
        self.chunks += other.chunks

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())

    def summary(self) -> str:
        """One line: each stage's seconds and share, frames, tokens per chunk."""
        total = sum(self.seconds.values()) or 1.0
        parts = [f"{stage} {s:.1f} s ({100 * s / total:.0f}%)" for stage, s in self.seconds.items() if s > 0]
        per_chunk = f" ({self.total_tokens / self.chunks:.0f} per chunk)" if self.chunks else ""
        return (f"stages: {', '.join(parts) or 'none'}; {self.frames:,} frames, {self.chunks:,} chunks, "
                f"{self.total_tokens:,} tokens generated{per_chunk}")


class StageClock:
    """Accumulates StageTimes; `tokens` reads the engine's running count of generated tokens (None: no model
    loaded yet, so nothing was generated)."""

    def __init__(self, tokens: Callable[[], int | None] = lambda: None):
        self.times = StageTimes()
        self.tokens = tokens

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        # Only model stages count tokens: embed and commit run beside the model (agent/indexing/commit_behind.py),
        # and the engine's count would give them what the model generated meanwhile.
        counted = name in MODEL_STAGES
        before_tokens = self.tokens() if counted else None
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times.seconds[name] = self.times.seconds.get(name, 0.0) + time.perf_counter() - start
            after_tokens = self.tokens() if counted else None
            if after_tokens is not None:
                generated = after_tokens - (before_tokens or 0)
                if generated:
                    self.times.tokens[name] = self.times.tokens.get(name, 0) + generated


class TimedEmbedder:
    """An IndexWriter's embedder whose time is the run's `embed` stage (the writer embeds inside commit_chunk)."""

    def __init__(self, load: Callable[[], object], clock: StageClock):
        self._load = load  # the embedder is loaded when a chunk first needs it (an unchanged library: never)
        self._embedder = None
        self._clock = clock

    @property
    def model_name(self) -> str:
        return self._inner().model_name

    def _inner(self):
        if self._embedder is None:
            self._embedder = self._load()
        return self._embedder

    def embed(self, texts) -> np.ndarray:
        inner = self._inner()  # loading is start-up, not embedding
        with self._clock.stage("embed"):
            return inner.embed(texts)
