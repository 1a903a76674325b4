"""The only code that writes the index. Each call is one short transaction (see index/connection.py), so a
crash loses at most the chunk in flight and a reader never sees half a chunk.

Typical indexer loop (the agent's):

    writer = IndexWriter(db)
    job = writer.start_job("sva index ~/footage", videos_total=len(paths))
    for path in paths:
        plan = writer.begin_video(path, facts, spans, job_id=job)
        for k in plan.pending_chunks:
            prev = writer.chunk_object_ids(plan.video_id, k - 1) if k else []
            analysis = analyse(path, k)                       # model time, DB closed
            writer.commit_chunk(plan.video_id, analysis, links=decide_links(prev, analysis), job_id=job)
    writer.finish_job(job, "done")
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from index.connection import WRITE_TIMEOUT_S, open_read, write_transaction
from index.content_hash import content_hash, file_stamp
from index.embedder import TextEmbedder, default_embedder
from index.errors import VideoUnreadable
from index.event_store import replace_video_events
from index.gap_rows import Fill, VideoGaps, store_fills, unfilled_videos, video_gaps
from index.label_vote import vote_labels
from index.object_ids import new_object_id
from index.object_views import object_views, store_view_names, unviewed_videos
from index.part_names import EventParts, event_parts, store_part_names, unnamed_videos
from index.summaries import LastSeen
from index.track_region import RegionName, TrackRegion
from index.schema import EMBEDDING_DIM, TEXT_ID_SQL, quantized_columns, vector_max
from index.track_rows import TRACK_COLUMNS, track_point_from_row
from index.video_path import canonical_video_path
from index.video_plan import VideoFacts, VideoPlan
from index.write_session import WriteSession
from sa2va_engine.masklet import TrackPoint
from tools.chunk_analysis import ChunkAnalysis

JobStatus = Literal["done", "partial", "failed", "interrupted"]

_SPAN_TOLERANCE_S = 1e-6
_CHUNK_TRACKS = (
    f"SELECT object_id, {TRACK_COLUMNS} FROM track_points WHERE video_id = ? AND chunk_index = ? "
    "AND time_s >= ? AND time_s <= ? ORDER BY object_id, time_s"
)

# Each object last seen in a window, with its last stored track point (re-identification's candidates).
_LAST_SEEN = (
    f"SELECT o.object_id, o.label, {', '.join('t.' + c.strip() for c in TRACK_COLUMNS.split(','))} "
    "FROM objects o JOIN track_points t ON t.object_id = o.object_id AND t.time_s = o.last_seen_s "
    "WHERE o.video_id = ? AND o.last_seen_s >= ? AND o.last_seen_s < ? ORDER BY o.object_id"
)
# Texts land once per (model, text); a text already stored (an earlier chunk said it too) keeps its vector.
_INSERT_TEXTS = (
    f"INSERT OR IGNORE INTO texts (text_id, text, model, vec, qvec, qscale) "
    f"SELECT {TEXT_ID_SQL.format(model='$model', text='t')}, t, $model, v, {quantized_columns('v')} "
    f"FROM (SELECT t, v, {vector_max('v')} AS vmax "
    f"      FROM (SELECT unnest($texts::VARCHAR[]) AS t, unnest($vecs::FLOAT[{EMBEDDING_DIM}][]) AS v))"
)
_INSERT_TEXT_REFS = (
    f"INSERT INTO text_refs SELECT {TEXT_ID_SQL.format(model='$model', text='t')}, $video_id, $chunk_index, kind, "
    "ordinal, object_id, start_s, end_s "
    "FROM (SELECT unnest($texts::VARCHAR[]) AS t, unnest($kinds::VARCHAR[]) AS kind, unnest($ordinals::INTEGER[]) AS ordinal, "
    "unnest($object_ids::BIGINT[]) AS object_id, unnest($starts::DOUBLE[]) AS start_s, unnest($ends::DOUBLE[]) AS end_s)"
)
_DROP_VIDEO_ROWS = tuple(
    f"DELETE FROM {table} WHERE video_id = ?"
    for table in ("subject_checks", "part_names", "crossing_names", "object_views", "events", "text_refs", "track_points", "phrases",
                  "objects", "chunks")
)
# Texts no video mentions any more; run after dropping a video's refs so search never returns a text without
# a place, and a re-indexed video stores exactly what a fresh index would.
_DROP_ORPHAN_TEXTS = "DELETE FROM texts WHERE text_id NOT IN (SELECT DISTINCT text_id FROM text_refs)"


class IndexWriter:
    def __init__(
        self,
        db_path: str | Path,
        embedder: TextEmbedder | None = None,
        timeout_s: float = WRITE_TIMEOUT_S,
        linger_s: float = 0.0,
    ):
        """`linger_s` > 0 keeps the connection open between calls (index/write_session.py): for a process that
        writes chunk after chunk, like the indexer; it then must `close()` the writer when done."""
        self.db = Path(db_path)
        self._embedder = embedder
        self.timeout_s = timeout_s
        self._session = WriteSession(self.db, timeout_s, linger_s) if linger_s > 0 else None

    @property
    def embedder(self) -> TextEmbedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def _tx(self):
        return self._session.transaction() if self._session else write_transaction(self.db, self.timeout_s)

    def _read(self):
        return self._session.connection() if self._session else open_read(self.db, self.timeout_s)

    def close(self) -> None:
        """Let go of a lingering connection (a no-op without one)."""
        if self._session is not None:
            self._session.close()

    # ---- jobs ----

    def start_job(self, command: str, videos_total: int = 0, model: str | None = None,
                  model_revision: str | None = None, weights_sha256: str | None = None) -> int:
        """Record a run. Jobs left `running` by a process that no longer exists on this host become
        `interrupted`, so the dashboard does not show a crashed run as live forever."""
        host = socket.gethostname()
        with self._tx() as con:
            for job_id, pid in con.execute(
                "SELECT job_id, pid FROM jobs WHERE status = 'running' AND host = ?", [host]
            ).fetchall():
                if not _pid_alive(pid):
                    con.execute(
                        "UPDATE jobs SET status = 'interrupted', updated_at = ? WHERE job_id = ?",
                        [_utcnow(), job_id],
                    )
            job_id = con.execute("SELECT coalesce(max(job_id), 0) + 1 FROM jobs").fetchone()[0]
            con.execute(
                "INSERT INTO jobs (job_id, command, pid, host, started_at, updated_at, status, videos_total, model, "
                "model_revision, weights_sha256) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                [job_id, command, os.getpid(), host, _utcnow(), _utcnow(), videos_total, model, model_revision,
                 weights_sha256],
            )
        return int(job_id)

    def finish_job(self, job_id: int, status: JobStatus, error: str | None = None, stages: str | None = None) -> None:
        """`stages`: JSON of where the run's time went (agent/indexing/stage_clock.py), kept as given."""
        with self._tx() as con:
            con.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?, updated_at = ?, stages = ? WHERE job_id = ?",
                [status, error, _utcnow(), _utcnow(), stages, job_id],
            )

    # ---- videos ----

    def begin_video(
        self,
        path: str | Path,
        facts: VideoFacts,
        chunk_spans: Sequence[tuple[float, float]],
        job_id: int | None = None,
    ) -> VideoPlan:
        """Register a video and its chunking (start_s, end_s per chunk, seconds); returns what is left to do.

        Unchanged file and chunking with every chunk done: no write at all. Same content, unfinished: resume.
        New content hash or different chunking: the video's old rows are dropped and all chunks are pending,
        in one transaction, keeping the video_id.
        """
        vpath = canonical_video_path(path)
        spans = [(float(a), float(b)) for a, b in chunk_spans]
        for k, (a, b) in enumerate(spans):
            if not (0 <= a <= b):
                raise ValueError(f"chunk {k} of {vpath} has a bad span ({a}, {b}) seconds")
        try:
            size, mtime_ns = file_stamp(Path(vpath))
        except OSError as exc:
            raise VideoUnreadable(f"cannot read video {vpath}: {exc.strerror or exc}") from None

        known_hash = None
        if self.db.exists():
            with self._read() as con:
                row = con.execute(
                    "SELECT video_id, content_hash, size_bytes, mtime_ns FROM videos WHERE path = ?", [vpath]
                ).fetchone()
                if row and row[1] and (row[2], row[3]) == (size, mtime_ns):
                    known_hash = row[1]
                    plan = self._plan_if_finished(con, row[0], vpath, known_hash, spans)
                    if plan is not None:
                        return plan
        try:
            digest = known_hash or content_hash(Path(vpath))
        except OSError as exc:
            raise VideoUnreadable(f"cannot read video {vpath}: {exc.strerror or exc}") from None

        with self._tx() as con:
            row = con.execute("SELECT video_id, content_hash FROM videos WHERE path = ?", [vpath]).fetchone()
            if row is None:
                video_id = con.execute("SELECT coalesce(max(video_id), 0) + 1 FROM videos").fetchone()[0]
                con.execute("INSERT INTO videos (video_id, path, status, gaps_filled, parts_named, views_named) "
                            "VALUES (?, ?, 'indexing', FALSE, FALSE, FALSE)",
                            [video_id, vpath])
                state = "new"
            else:
                video_id = row[0]
                same = row[1] == digest and _stored_spans(con, video_id) == spans
                state = "resumed" if same else "changed"
                if not same:
                    _drop_video_rows(con, video_id)
                    con.execute("UPDATE videos SET gaps_filled = FALSE, parts_named = FALSE, views_named = FALSE "
                                "WHERE video_id = ?",
                                [video_id])
            if state != "resumed":
                con.execute(
                    "INSERT INTO chunks (video_id, chunk_index, start_s, end_s, status) "
                    "SELECT ?, unnest(?::INTEGER[]), unnest(?::DOUBLE[]), unnest(?::DOUBLE[]), 'pending'",
                    [video_id, list(range(len(spans))), [a for a, _ in spans], [b for _, b in spans]],
                )
            con.execute(
                "UPDATE videos SET content_hash = ?, size_bytes = ?, mtime_ns = ?, duration_s = ?, fps = ?, width = ?, "
                "height = ?, probe_json = ?, error = NULL, chunks_total = ? WHERE video_id = ?",
                [
                    digest, size, mtime_ns, facts.duration_s, facts.fps, facts.width, facts.height,
                    json.dumps(facts.extra, sort_keys=True), len(spans), video_id,
                ],
            )
            _refresh_video_status(con, video_id, job_id)
            pending = _pending(con, video_id)
        if state == "resumed" and not pending:
            state = "unchanged"
        return VideoPlan(video_id=video_id, path=vpath, content_hash=digest, state=state, pending_chunks=pending)

    def _plan_if_finished(self, con, video_id: int, vpath: str, digest: str, spans) -> VideoPlan | None:
        if _stored_spans(con, video_id) != spans or _pending(con, video_id):
            return None
        status = con.execute("SELECT status FROM videos WHERE video_id = ?", [video_id]).fetchone()[0]
        if status != "done":
            return None
        return VideoPlan(video_id=video_id, path=vpath, content_hash=digest, state="unchanged", pending_chunks=[])

    def mark_video_failed(self, path: str | Path, error: str, job_id: int | None = None) -> int:
        """A whole-video failure (cannot decode, cannot probe). Works before `begin_video` too. Returns its id."""
        vpath = canonical_video_path(path)
        with self._tx() as con:
            row = con.execute("SELECT video_id FROM videos WHERE path = ?", [vpath]).fetchone()
            if row is None:
                video_id = con.execute("SELECT coalesce(max(video_id), 0) + 1 FROM videos").fetchone()[0]
                con.execute(
                    "INSERT INTO videos (video_id, path, status, error) VALUES (?, ?, 'failed', ?)",
                    [video_id, vpath, error],
                )
            else:
                video_id = row[0]
                con.execute("UPDATE videos SET status = 'failed', error = ? WHERE video_id = ?", [error, video_id])
            if job_id is not None:
                _touch_job(con, job_id)
        return int(video_id)

    def remove_video(self, path: str | Path) -> bool:
        """Forget a video and all its rows; False when it was not indexed."""
        vpath = canonical_video_path(path)
        with self._tx() as con:
            row = con.execute("SELECT video_id FROM videos WHERE path = ?", [vpath]).fetchone()
            if row is None:
                return False
            _drop_video_rows(con, row[0])
            con.execute("DELETE FROM videos WHERE video_id = ?", [row[0]])
        return True

    # ---- chunks ----

    def chunk_object_ids(self, video_id: int, chunk_index: int) -> list[int]:
        """Object id of each phrase of a committed chunk, by phrase ordinal ([] if not committed): what the
        agent links the next chunk's phrases to, also after a resume."""
        if chunk_index < 0 or not self.db.exists():
            return []
        with self._read() as con:
            rows = con.execute(
                "SELECT object_id FROM phrases WHERE video_id = ? AND chunk_index = ? ORDER BY ordinal",
                [video_id, chunk_index],
            ).fetchall()
        return [r[0] for r in rows]

    def chunk_tracks(self, video_id: int, chunk_index: int, start_s: float, end_s: float) -> dict[int, list[TrackPoint]]:
        """Present track points a committed chunk stored in [start_s, end_s] seconds, by object id: the overlap
        the agent links the next chunk's tracks against (read back from the DB, so a resumed run links the same)."""
        if chunk_index < 0 or not self.db.exists():
            return {}
        with self._read() as con:
            rows = con.execute(_CHUNK_TRACKS, [video_id, chunk_index, start_s, end_s]).fetchall()
        out: dict[int, list[TrackPoint]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(track_point_from_row(r[1:]))
        return out

    # ---- the second tracking pass (agent/indexing/gap_fill.py) ----

    def unfilled_videos(self, paths: Sequence[str | Path]) -> list[tuple[int, str]]:
        """(video_id, path) of those videos that are finished and have not had the second tracking pass."""
        if not self.db.exists():
            return []
        with self._read() as con:
            return unfilled_videos(con, [canonical_video_path(p) for p in paths])

    def video_gaps(self, video_id: int, path: str) -> VideoGaps:
        with self._read() as con:
            return video_gaps(con, video_id, path)

    def store_fills(self, video_id: int, fills: Sequence[Fill]) -> None:
        """The pass's finds, the video's events over them and the mark that it ran: all or nothing."""
        with self._tx() as con:
            store_fills(con, video_id, fills)

    # ---- the objects named on typical views of their whole track (agent/indexing/object_views.py) ----

    def unviewed_videos(self, paths: Sequence[str | Path]) -> list[tuple[int, str]]:
        """(video_id, path) of those videos that are finished and have not had this pass since their last tracks."""
        if not self.db.exists():
            return []
        with self._read() as con:
            return unviewed_videos(con, [canonical_video_path(p) for p in paths])

    def object_views(self, video_id: int) -> list[TrackRegion]:
        with self._read() as con:
            return object_views(con, video_id)

    def store_view_names(self, video_id: int, names: Sequence[RegionName]) -> None:
        """The names, the video's labels voted again and events replayed with them, and the mark that the pass ran:
        all or nothing."""
        with self._tx() as con:
            store_view_names(con, video_id, names)

    # ---- the names of the parts jumps hang on, and of parts that crossed the border (agent/indexing/event_parts.py) ----

    def unnamed_part_videos(self, paths: Sequence[str | Path]) -> list[tuple[int, str]]:
        """(video_id, path) of those videos that are finished and have not had this pass since their last tracks."""
        if not self.db.exists():
            return []
        with self._read() as con:
            return unnamed_videos(con, [canonical_video_path(p) for p in paths])

    def event_parts(self, video_id: int) -> EventParts:
        with self._read() as con:
            return event_parts(con, video_id)

    def store_part_names(self, video_id: int, jumps: Sequence[RegionName], crossings: Sequence[RegionName]) -> None:
        """The names, the video's events replayed with them and the mark that the pass ran: all or nothing."""
        with self._tx() as con:
            store_part_names(con, video_id, jumps, crossings)

    def recent_objects(self, video_id: int, since_s: float, until_s: float) -> list[LastSeen]:
        """Objects of the video last seen in [since_s, until_s) seconds, each with its label and its last stored
        track point: who a new track with nothing to link to on the overlap may be (read back from the DB, so a
        resumed run re-identifies the same)."""
        if not self.db.exists():
            return []
        with self._read() as con:
            rows = con.execute(_LAST_SEEN, [video_id, since_s, until_s]).fetchall()
        return [LastSeen(object_id=r[0], label=r[1], point=track_point_from_row(r[2:])) for r in rows]

    def commit_chunk(
        self,
        video_id: int,
        analysis: ChunkAnalysis,
        links: Sequence[int | None] | None = None,
        descriptions: Sequence[str | None] | None = None,
        job_id: int | None = None,
    ) -> list[int]:
        """Store one analysed chunk all-or-nothing and mark it done; returns the object id of each phrase.

        links[i]: the object id phrase i continues (same video, from an earlier chunk or an earlier phrase of
        this one), or None for a new object. descriptions[i]: optional text about the object; it is embedded
        and becomes the object's description. Committing a chunk that is already done changes nothing and
        returns its stored ids, so a duplicate call (or a second indexer) cannot duplicate rows.
        """
        n = len(analysis.phrases)
        links = list(links) if links is not None else [None] * n
        descriptions = list(descriptions) if descriptions is not None else [None] * n
        if len(links) != n or len(descriptions) != n:
            raise ValueError(f"chunk {analysis.chunk_index}: {n} phrases but {len(links)} links, {len(descriptions)} descriptions")
        texts = _texts_to_embed(analysis, descriptions)
        distinct = list(dict.fromkeys(t.text for t in texts))
        # Model time happens here, before the file is locked.
        vecs = self.embedder.embed(distinct) if distinct else np.zeros((0, EMBEDDING_DIM), np.float32)
        if vecs.shape != (len(distinct), EMBEDDING_DIM):
            raise ValueError(f"embedder returned shape {vecs.shape}, expected ({len(distinct)}, {EMBEDDING_DIM})")

        k = analysis.chunk_index
        with self._tx() as con:
            row = con.execute(
                "SELECT status, start_s, end_s FROM chunks WHERE video_id = ? AND chunk_index = ?", [video_id, k]
            ).fetchone()
            if row is None:
                raise ValueError(f"video {video_id} has no chunk {k}; call begin_video with its spans first")
            if row[0] == "done":
                return [r[0] for r in con.execute(
                    "SELECT object_id FROM phrases WHERE video_id = ? AND chunk_index = ? ORDER BY ordinal", [video_id, k]
                ).fetchall()]
            if abs(row[1] - analysis.start_s) > _SPAN_TOLERANCE_S or abs(row[2] - analysis.end_s) > _SPAN_TOLERANCE_S:
                raise ValueError(
                    f"chunk {k} of video {video_id} spans {row[1]}..{row[2]} s but the analysis says "
                    f"{analysis.start_s}..{analysis.end_s} s"
                )
            object_ids = _upsert_objects(con, video_id, analysis, links, descriptions)
            _insert_phrases(con, video_id, k, analysis, object_ids)
            vote_labels(con, [oid for oid, link in zip(object_ids, links) if link is not None])
            _insert_track_points(con, video_id, k, analysis, object_ids)
            _insert_texts(con, video_id, k, texts, distinct, vecs, object_ids, self.embedder.model_name)
            con.execute(
                "UPDATE chunks SET status = 'done', caption = ?, grounded_caption = ?, frame_times = ?, error = NULL "
                "WHERE video_id = ? AND chunk_index = ?",
                [analysis.caption, analysis.grounded_caption, list(analysis.frame_times), video_id, k],
            )
            if job_id is not None:
                con.execute("UPDATE jobs SET chunks_done = chunks_done + 1 WHERE job_id = ?", [job_id])
            _refresh_video_status(con, video_id, job_id)
        return object_ids

    def mark_chunk_failed(self, video_id: int, chunk_index: int, error: str, job_id: int | None = None) -> None:
        """The chunk stays pending for the next run (failed chunks are retried); a done chunk is left alone."""
        with self._tx() as con:
            con.execute(
                "UPDATE chunks SET status = 'failed', error = ? WHERE video_id = ? AND chunk_index = ? AND status <> 'done'",
                [error, video_id, chunk_index],
            )
            if job_id is not None:
                con.execute("UPDATE jobs SET chunks_failed = chunks_failed + 1 WHERE job_id = ?", [job_id])
            _refresh_video_status(con, video_id, job_id)


class _Text:
    __slots__ = ("kind", "ordinal", "text", "start_s", "end_s")

    def __init__(self, kind: str, ordinal: int, text: str, start_s: float, end_s: float):
        self.kind, self.ordinal, self.text, self.start_s, self.end_s = kind, ordinal, text, start_s, end_s


def _phrase_span(analysis: ChunkAnalysis, i: int) -> tuple[float, float]:
    times = analysis.phrases[i].masklet.present_times()
    return (min(times), max(times)) if times else (analysis.start_s, analysis.end_s)


def _texts_to_embed(analysis: ChunkAnalysis, descriptions: Sequence[str | None]) -> list[_Text]:
    texts = []
    if analysis.caption.strip():
        texts.append(_Text("caption", -1, analysis.caption, analysis.start_s, analysis.end_s))
    for i, gp in enumerate(analysis.phrases):
        a, b = _phrase_span(analysis, i)
        if gp.phrase.strip():
            texts.append(_Text("phrase", i, gp.phrase, a, b))
        if descriptions[i] and descriptions[i].strip():
            texts.append(_Text("description", i, descriptions[i], a, b))
    return texts


def _upsert_objects(con, video_id: int, analysis: ChunkAnalysis, links, descriptions) -> list[int]:
    k = analysis.chunk_index
    ids: list[int] = []
    for i, gp in enumerate(analysis.phrases):
        times = gp.masklet.present_times()
        first, last = (min(times), max(times)) if times else (None, None)
        link = links[i]
        if link is None:
            oid = new_object_id(video_id, k, i)
            con.execute(
                "INSERT INTO objects (object_id, video_id, first_chunk, label, description, first_seen_s, last_seen_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [oid, video_id, k, gp.phrase, descriptions[i], first, last],
            )
        else:
            owner = con.execute("SELECT video_id FROM objects WHERE object_id = ?", [link]).fetchone()
            if owner is None or owner[0] != video_id:
                raise ValueError(f"chunk {k} phrase {i} links to object {link}, which is not an object of video {video_id}")
            oid = int(link)
            # least/greatest skip NULLs, so an object first seen without any present frame still gets times.
            con.execute(
                "UPDATE objects SET first_seen_s = least(first_seen_s, ?), last_seen_s = greatest(last_seen_s, ?), "
                "description = coalesce(?, description) WHERE object_id = ?",
                [first, last, descriptions[i] or None, oid],
            )
        ids.append(oid)
    return ids


def _insert_phrases(con, video_id: int, k: int, analysis: ChunkAnalysis, object_ids: list[int]) -> None:
    if not object_ids:
        return
    con.execute(
        "INSERT INTO phrases SELECT ?, ?, unnest(?::INTEGER[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[])",
        [video_id, k, list(range(len(object_ids))), [p.phrase for p in analysis.phrases], object_ids],
    )


def _insert_track_points(con, video_id: int, k: int, analysis: ChunkAnalysis, object_ids: list[int]) -> None:
    """Only present points are stored: an absent frame has no box or mask, and absence is implied by a gap."""
    cols: dict[str, list] = {
        c: [] for c in ("oid", "t", "score", "x0", "y0", "x1", "y1", "area", "h", "w", "counts", "colour")}
    for oid, gp in zip(object_ids, analysis.phrases):
        for p in gp.masklet.points:
            if not p.present:
                continue
            box = p.box or (None, None, None, None)
            cols["oid"].append(oid)
            cols["t"].append(p.time_s)
            cols["score"].append(p.score)
            for name, v in zip(("x0", "y0", "x1", "y1"), box):
                cols[name].append(v)
            cols["area"].append(p.area)
            cols["h"].append(p.mask.size[0] if p.mask else None)
            cols["w"].append(p.mask.size[1] if p.mask else None)
            cols["counts"].append(p.mask.counts if p.mask else None)
            cols["colour"].append(list(p.colour) if p.colour is not None else None)
    if not cols["oid"]:
        return
    # One statement with list parameters: executemany costs a round trip per row.
    con.execute(
        "INSERT INTO track_points SELECT unnest(?::BIGINT[]), ?, ?, unnest(?::DOUBLE[]), unnest(?::FLOAT[]), "
        "unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::INTEGER[]), "
        "unnest(?::INTEGER[]), unnest(?::INTEGER[]), unnest(?::VARCHAR[]), unnest(?::FLOAT[][])",
        [cols["oid"], video_id, k, cols["t"], cols["score"], cols["x0"], cols["y0"], cols["x1"], cols["y1"],
         cols["area"], cols["h"], cols["w"], cols["counts"], cols["colour"]],
    )


def _insert_texts(
    con, video_id: int, k: int, texts: list[_Text], distinct: list[str], vecs: np.ndarray, object_ids, model: str
) -> None:
    """`distinct` holds each text once (OR IGNORE skips texts already stored, not repeats within a statement)."""
    if not texts:
        return
    con.execute(_INSERT_TEXTS, {"model": model, "texts": distinct, "vecs": vecs.astype(np.float32).tolist()})
    con.execute(
        _INSERT_TEXT_REFS,
        {
            "model": model, "video_id": video_id, "chunk_index": k,
            "texts": [t.text for t in texts],
            "kinds": [t.kind for t in texts],
            "ordinals": [t.ordinal for t in texts],
            "object_ids": [object_ids[t.ordinal] if t.ordinal >= 0 else None for t in texts],
            "starts": [t.start_s for t in texts],
            "ends": [t.end_s for t in texts],
        },
    )


def _stored_spans(con, video_id: int) -> list[tuple[float, float]]:
    rows = con.execute(
        "SELECT start_s, end_s FROM chunks WHERE video_id = ? ORDER BY chunk_index", [video_id]
    ).fetchall()
    return [(float(a), float(b)) for a, b in rows]


def _pending(con, video_id: int) -> list[int]:
    rows = con.execute(
        "SELECT chunk_index FROM chunks WHERE video_id = ? AND status <> 'done' ORDER BY chunk_index", [video_id]
    ).fetchall()
    return [r[0] for r in rows]


def _drop_video_rows(con, video_id: int) -> None:
    for statement in _DROP_VIDEO_ROWS:
        con.execute(statement, [video_id])
    con.execute(_DROP_ORPHAN_TEXTS)


def _refresh_video_status(con, video_id: int, job_id: int | None) -> None:
    before = con.execute("SELECT status FROM videos WHERE video_id = ?", [video_id]).fetchone()[0]
    con.execute(
        "UPDATE videos SET status = CASE WHEN s.pending = 0 AND s.failed = 0 THEN 'done' "
        "WHEN s.pending = 0 THEN 'partial' ELSE 'indexing' END "
        "FROM (SELECT count(*) FILTER (WHERE status = 'pending') AS pending, "
        "             count(*) FILTER (WHERE status = 'failed') AS failed FROM chunks WHERE video_id = ?) AS s "
        "WHERE videos.video_id = ?",
        [video_id, video_id],
    )
    after = con.execute("SELECT status FROM videos WHERE video_id = ?", [video_id]).fetchone()[0]
    if after in ("done", "partial"):
        # Every chunk is processed: the video's events are final (index/event_store.py says why not sooner).
        replace_video_events(con, video_id)
    if job_id is not None:
        if after == "done" and before != "done":
            con.execute("UPDATE jobs SET videos_done = videos_done + 1 WHERE job_id = ?", [job_id])
        _touch_job(con, job_id)


def _touch_job(con, job_id: int) -> None:
    con.execute("UPDATE jobs SET updated_at = ? WHERE job_id = ?", [_utcnow(), job_id])


def _utcnow() -> datetime:
    """Job times are naive UTC (TIMESTAMP), so they read the same whatever the machine's zone."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
