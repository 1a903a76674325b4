"""Everything `sva query`, export and the dashboard read. Read-only connections, parameters only: no user text
is ever spliced into SQL, and connections cannot touch other files (see index/connection.py).

Connection lifetime. Opening the file costs little, but a fresh connection has a cold cache: the first
search re-reads every vector (~100 ms per 1e5). So a reader keeps its connection after a call and lets go
when it has been idle `linger_s` seconds or, within ~50 ms, when a writer is waiting at the turnstile; the
indexer is never held up by an idle dashboard. `session()` pins the connection for a block of calls (one
render, one consistent view); writers wait for a session to end, so keep sessions short.
A reader serves one thread at a time (calls are serialised on a lock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np

from index.connection import READ_TIMEOUT_S, connect_read, corruption_as_user_error, writer_waiting
from index.embedder import MODEL_NAME, TextEmbedder, default_embedder
from index.errors import VideoNotIndexed
from index.moments import Hit, assemble_moments, spread_times
from index.schema import EMBEDDING_DIM
from index.video_path import canonical_video_path
from index.search_hit import SearchHit, TextKind
from index.subject_checks import stored_checks
from index.summaries import ChunkSummary, JobSummary, ObjectNames, ObjectSummary, StoredEvent, VideoSummary
from index.track_rows import TRACK_COLUMNS, track_point_from_row
from sa2va_engine.masklet import TrackPoint
from tools.moment import Evidence, Moment

# Each distinct text is scored once. Every stored text has at least one ref (the writer drops orphans), so
# the best k refs are among the refs of the best k texts: score texts, keep k, then expand to refs.
# Scoring is two passes (schema v4). First every text on its int8 copy: a fresh connection must read each
# vector it scores, and the int8 copy is a quarter of the bytes. Then the shortlist on the exact vectors,
# looked up by key, so scores and order are those of an exact scan: the int8 score is within ~1e-3 of the
# cosine, far less than the gap between the k-th and the SHORTLIST_FACTOR*k-th text.
SHORTLIST_FACTOR = 4
SHORTLIST_MIN = 200
_Q = f"$q::FLOAT[{EMBEDDING_DIM}]"

# With filters, only texts that have a matching ref are scored (a one-video search scans that video's texts).
_REF_FILTER = """
    ($video_id IS NULL OR r.video_id = $video_id)
    AND ($t0 IS NULL OR r.end_s >= $t0)
    AND ($t1 IS NULL OR r.start_s <= $t1)
    AND ($kinds IS NULL OR list_contains($kinds, r.kind))
"""
_SHORTLIST = f"""
SELECT text_id FROM texts WHERE model = $model {{where}}
ORDER BY array_inner_product(qvec::FLOAT[{EMBEDDING_DIM}], {_Q}) * qscale DESC, text_id LIMIT $shortlist
"""
_SHORTLIST_ALL = _SHORTLIST.format(where="")
_SHORTLIST_FILTERED = _SHORTLIST.format(where=f"AND text_id IN (SELECT r.text_id FROM text_refs r WHERE {_REF_FILTER})")
# `{ids}` is a list of integers the shortlist query returned, written out as literals: DuckDB looks a literal
# IN-list up in the primary-key index (reading ~200 vectors), whereas a parameter or subquery scans them all.
_RESCORE = f"""
WITH top AS (
    SELECT text_id, text, array_inner_product(vec, {_Q}) AS score FROM texts WHERE text_id IN ({{ids}})
    ORDER BY score DESC, text_id LIMIT $k
)
SELECT v.path, r.video_id, r.chunk_index, r.kind, r.ordinal, r.object_id, r.start_s, r.end_s, top.text, top.score
FROM top JOIN text_refs r USING (text_id) JOIN videos v USING (video_id)
{{where}}
ORDER BY top.score DESC, r.video_id, r.chunk_index, r.kind, r.ordinal
LIMIT $k
"""

_WATCH_INTERVAL_S = 0.05

_OBJECT_TRACK = (
    f"SELECT {TRACK_COLUMNS} FROM track_points "
    "WHERE video_id = $vid AND object_id = $oid AND ($t0 IS NULL OR time_s >= $t0) "
    "AND ($t1 IS NULL OR time_s <= $t1) ORDER BY time_s"
)
_RANGE_TRACKS = (
    f"SELECT object_id, {TRACK_COLUMNS} FROM track_points "
    "WHERE video_id = ? AND time_s >= ? AND time_s <= ? ORDER BY object_id, time_s"
)


def _rows_as(summary: type, rows: list[tuple]) -> list:
    """Rows whose columns are in the order of ``summary``'s fields -> instances of it."""
    names = list(summary.model_fields)
    return [summary(**dict(zip(names, r))) for r in rows]


class IndexReader:
    def __init__(
        self,
        db_path: str | Path,
        embedder: TextEmbedder | None = None,
        timeout_s: float = READ_TIMEOUT_S,
        linger_s: float = 30.0,
    ):
        self.db = Path(db_path)
        self._embedder = embedder
        self.timeout_s = timeout_s
        self.linger_s = linger_s
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pinned = 0
        self._last_used = 0.0
        self._watcher: threading.Thread | None = None

    @property
    def embedder(self) -> TextEmbedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    @contextmanager
    def session(self) -> Iterator["IndexReader"]:
        """Hold one read-only connection for the calls inside the block: one committed state, warm cache.
        Writers (also in this process) wait until the block ends."""
        with self._connection():
            self._pinned += 1
            try:
                yield self
            finally:
                self._pinned -= 1

    def close(self) -> None:
        with self._lock:
            self._drop()

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            if self._con is not None and not self._pinned and writer_waiting(self.db):
                self._drop()
            if self._con is None:
                self._con = connect_read(self.db, self.timeout_s)
            try:
                with corruption_as_user_error(self.db):
                    yield self._con
            finally:
                self._last_used = time.monotonic()
                if self.linger_s <= 0 and not self._pinned:
                    self._drop()
                else:
                    self._watch()

    def _drop(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _watch(self) -> None:
        # Called and cleared under self._lock, so a watcher that is just leaving can never leave a fresh
        # connection unwatched.
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._step_aside, name="sva-index-reader", daemon=True)
            self._watcher.start()

    def _step_aside(self) -> None:
        """Close the idle connection when a writer waits or `linger_s` passes; never during a call."""
        while True:
            time.sleep(_WATCH_INTERVAL_S)
            if not self._lock.acquire(blocking=False):
                continue  # a call is running; it keeps the connection
            try:
                if self._con is not None and not self._pinned and (
                    time.monotonic() - self._last_used > self.linger_s or writer_waiting(self.db)
                ):
                    self._drop()
                if self._con is None:
                    self._watcher = None
                    return
            finally:
                self._lock.release()

    def _video_id(self, con, video: str | Path) -> int:
        vpath = canonical_video_path(video)
        row = con.execute("SELECT video_id FROM videos WHERE path = ?", [vpath]).fetchone()
        if row is None:
            raise VideoNotIndexed(f"video {vpath} is not in index {self.db}")
        return int(row[0])

    # ---- library ----

    def library(self) -> list[VideoSummary]:
        return self._summaries(None)

    def video(self, video: str | Path) -> VideoSummary:
        vpath = canonical_video_path(video)
        found = self._summaries(vpath)
        if not found:
            raise VideoNotIndexed(f"video {vpath} is not in index {self.db}")
        return found[0]

    def _summaries(self, path: str | None) -> list[VideoSummary]:
        """Every video's summary, or the one at ``path``; the counts are aggregated for those rows only."""
        with self._connection() as con:
            rows = con.execute(
                """
                SELECT v.video_id, v.path, v.status, v.error, v.content_hash, v.duration_s, v.fps, v.width, v.height,
                       v.chunks_total, coalesce(c.done, 0), coalesce(c.failed, 0), coalesce(o.n, 0)
                FROM videos v
                LEFT JOIN (SELECT video_id, count(*) FILTER (WHERE status = 'done') AS done,
                                  count(*) FILTER (WHERE status = 'failed') AS failed
                           FROM chunks GROUP BY video_id) c USING (video_id)
                LEFT JOIN (SELECT video_id, count(*) AS n FROM objects GROUP BY video_id) o USING (video_id)
                WHERE $path IS NULL OR v.path = $path
                ORDER BY v.path
                """,
                {"path": path},
            ).fetchall()
        return _rows_as(VideoSummary, rows)

    def chunks(self, video: str | Path) -> list[ChunkSummary]:
        with self._connection() as con:
            vid = self._video_id(con, video)
            rows = con.execute(
                "SELECT chunk_index, start_s, end_s, status, caption, error FROM chunks WHERE video_id = ? "
                "ORDER BY chunk_index",
                [vid],
            ).fetchall()
        return _rows_as(ChunkSummary, rows)

    def objects(
        self, video: str | Path, start_s: float | None = None, end_s: float | None = None
    ) -> list[ObjectSummary]:
        """Objects of a video seen (present) in [start_s, end_s] seconds, or all of them."""
        with self._connection() as con:
            vid = self._video_id(con, video)
            rows = con.execute(
                """
                SELECT o.object_id, v.path, o.label, o.description, o.first_seen_s, o.last_seen_s,
                       (SELECT count(*) FROM track_points t WHERE t.object_id = o.object_id) AS points
                FROM objects o JOIN videos v USING (video_id)
                WHERE o.video_id = $vid
                  AND ($t0 IS NULL OR o.last_seen_s >= $t0)
                  AND ($t1 IS NULL OR o.first_seen_s <= $t1)
                ORDER BY o.object_id
                """,
                {"vid": vid, "t0": start_s, "t1": end_s},
            ).fetchall()
        return _rows_as(ObjectSummary, rows)

    def tracks(self, object_id: int, start_s: float | None = None, end_s: float | None = None) -> list[TrackPoint]:
        """The object's present track points in [start_s, end_s] seconds, by time."""
        with self._connection() as con:
            video_id = con.execute("SELECT video_id FROM objects WHERE object_id = ?", [object_id]).fetchone()
            if video_id is None:
                return []
            rows = con.execute(
                _OBJECT_TRACK,
                {"vid": video_id[0], "oid": object_id, "t0": start_s, "t1": end_s},
            ).fetchall()
        return [track_point_from_row(r) for r in rows]

    def subject_checks(self, subject: str, model: str, object_ids: Sequence[int]) -> dict[int, tuple[float, bool]]:
        """object_id -> (key_time_s, accepted): what `model` said of these objects as `subject` before
        (index/subject_checks.py)."""
        with self._connection() as con:
            return stored_checks(con, subject, model, object_ids)

    def tracks_in_range(self, video: str | Path, start_s: float, end_s: float) -> dict[int, list[TrackPoint]]:
        """Every object's present track points in [start_s, end_s] seconds: what a frame overlay needs."""
        with self._connection() as con:
            vid = self._video_id(con, video)
            rows = con.execute(
                _RANGE_TRACKS,
                [vid, start_s, end_s],
            ).fetchall()
        out: dict[int, list[TrackPoint]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(track_point_from_row(r[1:]))
        return out

    def object_names(self, videos: Sequence[str] | None = None) -> list[ObjectNames]:
        """Every object of the given videos (paths as stored; None: all videos) that was seen (has a track point),
        with its label, description and the phrases its chunks linked to it (one per link, so that repeats count): one
        query, whatever the number of objects.
        An object no track saw is a phrase the model grounded on nothing (11 of 69 stored objects on 30 unseen
        minutes of the demo model): no question can be about it."""
        with self._connection() as con:
            rows = con.execute(
                """
                SELECT o.object_id, o.video_id, v.path, o.label, o.description,
                       coalesce(p.phrases, []::VARCHAR[]), o.first_seen_s, o.last_seen_s
                FROM objects o JOIN videos v USING (video_id)
                LEFT JOIN (SELECT object_id, list(phrase ORDER BY phrase) AS phrases
                           FROM phrases GROUP BY object_id) p USING (object_id)
                WHERE ($paths IS NULL OR list_contains($paths, v.path))
                  AND EXISTS (SELECT 1 FROM track_points t WHERE t.object_id = o.object_id)
                ORDER BY o.object_id
                """,
                {"paths": list(videos) if videos is not None else None},
            ).fetchall()
        return _rows_as(ObjectNames, rows)

    def part_names(self, object_ids: Sequence[int]) -> dict[int, list[tuple[float, str]]]:
        """What the model called, up close, the part of each object's mask that a jump hangs on (index/part_names.py):
        (time_s, name) by object id, in time order; objects with none are left out."""
        if not object_ids:
            return {}
        with self._connection() as con:
            rows = con.execute(
                "SELECT object_id, time_s, name FROM part_names WHERE list_contains($ids, object_id) "
                "AND name IS NOT NULL ORDER BY object_id, time_s",
                {"ids": [int(i) for i in object_ids]},
            ).fetchall()
        out: dict[int, list[tuple[float, str]]] = {}
        for oid, t, name in rows:
            out.setdefault(oid, []).append((t, name))
        return out

    def events(
        self,
        object_ids: Sequence[int],
        kinds: Sequence[str] | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        other_object_ids: Sequence[int] | None = None,
    ) -> list[StoredEvent]:
        """Stored events of the given objects (as the first or the second object), of the given kinds, that
        overlap [start_s, end_s] seconds; with `other_object_ids`, only two-object events whose other side is
        one of them. Ordered by video, then time."""
        if not object_ids:
            return []
        with self._connection() as con:
            rows = con.execute(
                """
                SELECT v.path, e.object_id, e.other_object_id, e.kind, e.start_s, e.end_s, e.score,
                       coalesce(e.evidence_s, []::DOUBLE[]), e.rule, e.size
                FROM events e JOIN videos v USING (video_id)
                WHERE (list_contains($ids, e.object_id) OR list_contains($ids, e.other_object_id))
                  AND ($kinds IS NULL OR list_contains($kinds, e.kind))
                  AND ($t0 IS NULL OR e.end_s >= $t0)
                  AND ($t1 IS NULL OR e.start_s <= $t1)
                  AND ($others IS NULL OR list_contains($others, e.object_id) OR list_contains($others, e.other_object_id))
                ORDER BY v.path, e.start_s, e.object_id, e.kind, e.other_object_id
                """,
                {"ids": [int(i) for i in object_ids], "kinds": list(kinds) if kinds else None, "t0": start_s,
                 "t1": end_s, "others": [int(i) for i in other_object_ids] if other_object_ids is not None else None},
            ).fetchall()
        return _rows_as(StoredEvent, rows)

    def object_chunks(self, object_ids: Sequence[int]) -> list[tuple[str, int, float, float, list[int]]]:
        """Chunks where any of the objects has a present track point: (video path, chunk index, start_s, end_s,
        the objects seen in it), by video and chunk. What query-time verification looks at."""
        if not object_ids:
            return []
        with self._connection() as con:
            rows = con.execute(
                """
                SELECT v.path, c.chunk_index, c.start_s, c.end_s, t.objects
                FROM (SELECT video_id, chunk_index, list(DISTINCT object_id ORDER BY object_id) AS objects
                      FROM track_points WHERE list_contains($ids, object_id) GROUP BY video_id, chunk_index) t
                JOIN chunks c USING (video_id, chunk_index) JOIN videos v USING (video_id)
                ORDER BY v.path, c.chunk_index
                """,
                {"ids": [int(i) for i in object_ids]},
            ).fetchall()
        return [(r[0], r[1], r[2], r[3], list(r[4])) for r in rows]

    def indexed_model(self) -> str | None:
        """The checkpoint of the latest indexing run that recorded one (None for an index older than schema v5)."""
        with self._connection() as con:
            row = con.execute("SELECT model FROM jobs WHERE model IS NOT NULL ORDER BY job_id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def jobs(self, limit: int = 20) -> list[JobSummary]:
        with self._connection() as con:
            rows = con.execute(
                "SELECT job_id, command, pid, host, status, started_at, updated_at, finished_at, videos_total, "
                "videos_done, chunks_done, chunks_failed, error, stages FROM jobs ORDER BY job_id DESC LIMIT ?",
                [limit],
            ).fetchall()
        return _rows_as(JobSummary, rows)

    # ---- search ----

    def _query_vector(self, query: str | np.ndarray) -> list[float]:
        if isinstance(query, str):
            vec = self.embedder.embed([query])[0]
        else:
            vec = np.asarray(query, dtype=np.float32).reshape(-1)
            if vec.shape != (EMBEDDING_DIM,):
                raise ValueError(f"query vector must have {EMBEDDING_DIM} values, got {vec.shape}")
            norm = float(np.linalg.norm(vec))
            vec = vec / norm if norm > 0 else vec
        return vec.astype(np.float32).tolist()

    def search(
        self,
        query: str | np.ndarray,
        k: int = 50,
        video: str | Path | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        kinds: Sequence[TextKind] | None = None,
    ) -> list[SearchHit]:
        """Top-k stored texts by cosine similarity to `query` (text, or a 384-d vector), best first; optionally
        only one video, only texts overlapping [start_s, end_s] seconds, only some kinds."""
        if k <= 0:
            return []
        q = self._query_vector(query)
        # Vectors from different models are not comparable; a raw-vector query is taken to be in the space of
        # the reader's embedder, or the default model's when none was given (without loading it).
        model = self._embedder.model_name if self._embedder is not None else MODEL_NAME
        with self._connection() as con:
            vid = self._video_id(con, video) if video is not None else None
            filters = {"video_id": vid, "t0": start_s, "t1": end_s, "kinds": list(kinds) if kinds else None}
            filtered = any(v is not None for v in filters.values())
            ref_params = filters if filtered else {}
            shortlist = con.execute(_SHORTLIST_FILTERED if filtered else _SHORTLIST_ALL,
                                    {"q": q, "model": model, "shortlist": max(SHORTLIST_MIN, SHORTLIST_FACTOR * k)}
                                    | ref_params).fetchall()
            if not shortlist:
                return []
            rescore = _RESCORE.format(ids=", ".join(str(int(row[0])) for row in shortlist),
                                      where=f"WHERE {_REF_FILTER}" if filtered else "")
            rows = con.execute(rescore, {"q": q, "k": k} | ref_params).fetchall()
        return [
            SearchHit(
                video_path=r[0], video_id=r[1], chunk_index=r[2], kind=r[3], object_id=r[5],
                start_s=r[6], end_s=r[7], text=r[8], score=r[9],
            )
            for r in rows
        ]

    def find_moments(
        self,
        query: str | np.ndarray,
        k: int = 50,
        gap_s: float = 2.0,
        min_len_s: float = 2.0,
        min_score: float | None = None,
        video: str | Path | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        kinds: Sequence[TextKind] | None = None,
        track_times_per_hit: int = 8,
    ) -> list[Moment]:
        """Search, then merge the top-k hits into moments with evidence (chunk caption, object id, phrase,
        up to `track_times_per_hit` track point times), best first. See index/moments.py for the merge rules."""
        with self.session():
            hits = self.search(query, k, video, start_s, end_s, kinds)
            if min_score is not None:
                hits = [h for h in hits if h.score >= min_score]
            return self.moments_from_hits(hits, gap_s, min_len_s, track_times_per_hit)

    def moments_from_hits(
        self, hits: Sequence[SearchHit], gap_s: float = 2.0, min_len_s: float = 2.0, track_times_per_hit: int = 8
    ) -> list[Moment]:
        """Merge search hits into moments with evidence (chunk caption, object id, phrase, up to
        `track_times_per_hit` track point times), best first; three queries whatever the number of hits."""
        hits = list(hits)
        if not hits:
            return []
        with self._connection() as con:
            captions = _captions(con, hits)
            times = _track_times(con, hits, track_times_per_hit)
            durations = dict(
                con.execute(
                    "SELECT path, duration_s FROM videos WHERE video_id IN (SELECT unnest(?::BIGINT[])) "
                    "AND duration_s IS NOT NULL",
                    [sorted({h.video_id for h in hits})],
                ).fetchall()
            )
        moment_hits = [
            Hit(
                video_path=h.video_path,
                start_s=h.start_s,
                end_s=h.end_s,
                score=h.score,
                evidence=Evidence(
                    chunk_index=h.chunk_index,
                    caption=captions.get((h.video_id, h.chunk_index)),
                    object_id=h.object_id,
                    phrase=h.text if h.kind != "caption" else None,
                    track_times=times.get(i, []),
                ),
            )
            for i, h in enumerate(hits)
        ]
        return assemble_moments(moment_hits, gap_s=gap_s, min_len_s=min_len_s, durations=durations)

    def schema_version(self) -> int:
        from index.schema import schema_version

        with self._connection() as con:
            return schema_version(con)


def _captions(con, hits: list[SearchHit]) -> dict[tuple[int, int], str]:
    pairs = sorted({(h.video_id, h.chunk_index) for h in hits})
    rows = con.execute(
        "SELECT c.video_id, c.chunk_index, c.caption FROM chunks c "
        "JOIN (SELECT unnest(?::BIGINT[]) AS video_id, unnest(?::INTEGER[]) AS chunk_index) h "
        "USING (video_id, chunk_index) WHERE c.video_id IN (SELECT unnest(?::BIGINT[]))",
        [[p[0] for p in pairs], [p[1] for p in pairs], sorted({p[0] for p in pairs})],
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def _track_times(con, hits: list[SearchHit], per_hit: int) -> dict[int, list[float]]:
    """Up to `per_hit` evenly spread present times of the hit's object inside the hit's span, by hit position."""
    wanted = [(i, h) for i, h in enumerate(hits) if h.object_id is not None]
    if not wanted or per_hit <= 0:
        return {}
    rows = con.execute(
        """
        SELECT h.i, t.time_s
        FROM (SELECT unnest(?::INTEGER[]) AS i, unnest(?::BIGINT[]) AS object_id, unnest(?::BIGINT[]) AS video_id,
                     unnest(?::DOUBLE[]) AS t0, unnest(?::DOUBLE[]) AS t1) h
        JOIN track_points t ON t.object_id = h.object_id AND t.video_id = h.video_id
        WHERE t.video_id IN (SELECT unnest(?::BIGINT[])) AND t.time_s BETWEEN h.t0 AND h.t1
        ORDER BY h.i, t.time_s
        """,
        [
            [i for i, _ in wanted],
            [h.object_id for _, h in wanted],
            [h.video_id for _, h in wanted],
            [h.start_s for _, h in wanted],
            [h.end_s for _, h in wanted],
            sorted({h.video_id for _, h in wanted}),
        ],
    ).fetchall()
    grouped: dict[int, list[float]] = {}
    for i, t in rows:
        grouped.setdefault(i, []).append(t)
    return {i: spread_times(ts, per_hit) for i, ts in grouped.items()}
