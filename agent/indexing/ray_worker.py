"""The Ray engine actor: decodes one chunk's window itself and runs every model step on it
(`ChunkAnalyser.analyse`). It never touches the index; its `ChunkWork` goes back to the one writer process.

Plain class: `agent/indexing/ray_pool.py` wraps it with `ray.remote` (so importing this needs no Ray). The engine is
loaded on the first chunk that needs it and kept for the actor's life; when Ray restarts a killed actor, the
new process loads it again.
"""

from __future__ import annotations

import os

from agent.indexing.chunk_analyser import ChunkAnalyser, ChunkWork, chunk_error
from agent.indexing.chunk_frames import decode_chunks
from agent.indexing.index_settings import IndexSettings
from agent.indexing.stage_clock import StageClock
from sa2va_engine.user_error import UserError
from tools.engine_session import load_engine
from tools.video_chunks import Chunk
from tools.video_probe import VideoProbe


class EngineWorker:
    def __init__(self, settings: IndexSettings, torch_threads: int | None = None):
        if torch_threads:
            import torch

            # Ray already sets OMP_NUM_THREADS from the actor's CPUs; torch may have read it before that.
            torch.set_num_threads(torch_threads)
        self.settings = settings
        self._engine = None
        self._tokens_at_load = 0
        self.analyser = ChunkAnalyser(settings, self._load)

    def _load(self):
        if self._engine is None:
            engine = load_engine(self.settings.model, self.settings.device, self.settings.dtype)
            self._tokens_at_load = engine.generated_tokens  # the process's engine may have generated before
            self._engine = engine
        return self._engine

    def _tokens(self) -> int | None:
        """Tokens this worker's engine generated since it was loaded here (None: not loaded yet)."""
        return None if self._engine is None else self._engine.generated_tokens - self._tokens_at_load

    def pid(self) -> int:
        return os.getpid()

    def analyse(self, path: str, probe: VideoProbe, chunk: Chunk, last_index: int) -> ChunkWork:
        """One planned chunk of `path` (seconds); `last_index` is the video's last chunk index. The work carries
        the chunk's stage times (decode and the model stages; the writer adds embed and commit)."""
        clock = StageClock(tokens=self._tokens)
        try:
            with clock.stage("decode"):
                current = next(decode_chunks(path, probe, [chunk], last_index, self.settings))
        except UserError as exc:  # the file cannot be decoded: the writer fails the video, as the graph does
            work = ChunkWork(chunk=chunk, video_error=str(exc), video_problem=getattr(exc, "problem", str(exc)))
        except Exception as exc:  # noqa: BLE001 - recorded on the chunk, retried next run
            work = ChunkWork(chunk=chunk, error=chunk_error(chunk, "decode", exc))
        else:
            clock.times.frames += len(current.frames)
            work = self.analyser.analyse(path, current, clock)
        work.worker_pid = os.getpid()
        work.stages = clock.times
        return work
