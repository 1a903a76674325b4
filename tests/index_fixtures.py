"""Deterministic stand-ins for the indexer's inputs, and a writer process the crash and concurrency tests
can kill: `python -m tests.index_fixtures DB VIDEO --chunks N [--die-in-chunk K] [--progress]` (repo root).

Everything here is a pure function of (chunk_index, ordinal), so two runs of the same command write the
same rows however often they were interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.schema import EMBEDDING_DIM
from index.video_plan import VideoFacts
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase

CHUNK_S = 10.0
SAMPLE_FPS = 2.0
FRAME_H, FRAME_W = 24, 32
OBJECTS_PER_CHUNK = 3
_THINGS = ("a red car", "a person in a blue coat", "a brown dog", "a white truck", "a cyclist", "a black cat")
_ACTIONS = ("drives past the gate", "walks along the street", "runs across the park", "stops at the crossing")


class HashEmbedder:
    """Stands in for MiniLM where only storage matters: a unit vector seeded by the text's hash."""

    model_name = "hash-test"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(EMBEDDING_DIM).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def chunk_spans(n_chunks: int) -> list[tuple[float, float]]:
    return [(k * CHUNK_S, (k + 1) * CHUNK_S) for k in range(n_chunks)]


def facts(n_chunks: int) -> VideoFacts:
    return VideoFacts(duration_s=n_chunks * CHUNK_S, fps=25.0, width=FRAME_W, height=FRAME_H, extra={"codec": "h264"})


def frame_times(chunk_index: int) -> list[float]:
    n = int(CHUNK_S * SAMPLE_FPS)
    return [chunk_index * CHUNK_S + j / SAMPLE_FPS for j in range(n)]


def _mask(chunk_index: int, ordinal: int, frame: int) -> np.ndarray:
    m = np.zeros((FRAME_H, FRAME_W), dtype=bool)
    x = (chunk_index * 3 + ordinal * 7 + frame) % (FRAME_W - 6)
    y = (ordinal * 5 + frame // 2) % (FRAME_H - 5)
    m[y : y + 4 + ordinal, x : x + 5] = True
    return m


def present_frames(chunk_index: int, ordinal: int) -> list[int]:
    """Object `ordinal` is absent on a few frames so absent points are exercised too."""
    n = int(CHUNK_S * SAMPLE_FPS)
    return [j for j in range(n) if (j + chunk_index + ordinal) % 7 != 0]


def analysis(video_path: str, chunk_index: int, n_objects: int = OBJECTS_PER_CHUNK) -> ChunkAnalysis:
    times = frame_times(chunk_index)
    phrases = []
    for i in range(n_objects):
        # phrase 0 is the long-lived object `links` carries across chunks, so it keeps its name
        thing = _THINGS[0] if i == 0 else _THINGS[(chunk_index + i) % len(_THINGS)]
        present = set(present_frames(chunk_index, i))
        points = [
            TrackPoint.from_mask(t, _mask(chunk_index, i, j), 0.9) if j in present
            else TrackPoint(time_s=t, present=False, score=0.1)
            for j, t in enumerate(times)
        ]
        phrases.append(GroundedPhrase(phrase=thing, masklet=Masklet(expression=thing, points=points)))
    caption = f"{_THINGS[chunk_index % len(_THINGS)]} {_ACTIONS[chunk_index % len(_ACTIONS)]} (chunk {chunk_index})"
    return ChunkAnalysis(
        video_path=video_path,
        chunk_index=chunk_index,
        start_s=chunk_index * CHUNK_S,
        end_s=(chunk_index + 1) * CHUNK_S,
        frame_times=times,
        caption=caption,
        grounded_caption=" ".join(f"<p>{p.phrase}</p> [SEG]" for p in phrases),
        phrases=phrases,
    )


def links(chunk_index: int, previous_ids: list[int], n_objects: int = OBJECTS_PER_CHUNK) -> list[int | None]:
    """Phrase 0 continues the previous chunk's phrase 0 (one long-lived object); the rest are new."""
    return [previous_ids[0] if (i == 0 and previous_ids) else None for i in range(n_objects)]


def descriptions(chunk_index: int, n_objects: int = OBJECTS_PER_CHUNK) -> list[str | None]:
    return [f"object {i} first described in chunk {chunk_index}" if i == 1 else None for i in range(n_objects)]


def expected_rows_per_chunk(chunk_index: int, n_objects: int = OBJECTS_PER_CHUNK) -> dict[str, int]:
    """What one committed chunk adds, for checking that a reader never sees part of a chunk."""
    points = sum(len(present_frames(chunk_index, i)) for i in range(n_objects))
    texts = 1 + n_objects + 1  # caption, one per phrase, one description (phrase 1)
    return {"track_points": points, "phrases": n_objects, "text_refs": texts}


def run_writer(
    db: Path, video: Path, n_chunks: int, sleep_s: float = 0.0, die_in_chunk: int | None = None, progress: bool = False
) -> None:
    from index.writer import IndexWriter

    if die_in_chunk is not None:
        _die_mid_transaction(die_in_chunk)
    writer = IndexWriter(db, embedder=HashEmbedder())
    job = writer.start_job(f"fixture {video}", videos_total=1)
    plan = writer.begin_video(video, facts(n_chunks), chunk_spans(n_chunks), job_id=job)
    for k in plan.pending_chunks:
        previous = writer.chunk_object_ids(plan.video_id, k - 1)
        writer.commit_chunk(
            plan.video_id, analysis(str(video), k), links=links(k, previous), descriptions=descriptions(k), job_id=job
        )
        if progress:  # lets a test kill us a chosen number of commits in
            print(k, flush=True)
        if sleep_s:
            time.sleep(sleep_s)
    writer.finish_job(job, "done")


def _die_mid_transaction(chunk_index: int) -> None:
    """SIGKILL ourselves after chunk `chunk_index`'s track points are inserted but before its COMMIT."""
    import index.writer as w

    original = w._insert_track_points

    def insert_then_die(con, video_id, k, analysis_, object_ids):
        original(con, video_id, k, analysis_, object_ids)
        if k == chunk_index:
            os.kill(os.getpid(), signal.SIGKILL)

    w._insert_track_points = insert_then_die


def dump_tables(db: Path, skip: Sequence[str] = ("jobs",)) -> dict[str, list[tuple]]:
    """Every row of every table, in a total order: two indexes are equal iff their dumps are."""
    from index.connection import connect_read

    # Same connection settings as the index's readers: DuckDB refuses a differently configured second
    # connection to a file this process already has open (a lingering IndexReader, say).
    con = connect_read(db)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        out = {}
        for t in tables:
            if t in skip:
                continue
            cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
            order = ", ".join(f'"{c}"' for c in cols)
            out[t] = con.execute(f'SELECT * FROM "{t}" ORDER BY {order}').fetchall()
        return out
    finally:
        con.close()


def make_video_file(path: Path, seed: int = 0, size: int = 200_000) -> Path:
    """Bytes standing in for a video: the index hashes files, it never decodes them."""
    path.write_bytes(np.random.default_rng(seed).bytes(size))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db", type=Path)
    ap.add_argument("video", type=Path)
    ap.add_argument("--chunks", type=int, required=True)
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--die-in-chunk", type=int, default=None)
    ap.add_argument("--progress", action="store_true", help="print each committed chunk index")
    args = ap.parse_args()
    run_writer(args.db, args.video, args.chunks, args.sleep, args.die_in_chunk, args.progress)


if __name__ == "__main__":
    main()
