"""The index's tables as an ordered list of migrations. Migration N turns a version N-1 file into version N;
a fresh file runs all of them, an old one only the missing tail, each in its own transaction so a crash
mid-upgrade leaves the last good version. Never edit a released migration: append a new one.

Tables are documented in index/README.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from index.errors import IndexTooNew

EMBEDDING_DIM = 384

_V1 = f"""
CREATE TABLE videos (
    video_id      BIGINT PRIMARY KEY,
    path          VARCHAR NOT NULL UNIQUE,
    content_hash  VARCHAR,
    size_bytes    BIGINT,
    mtime_ns      BIGINT,
    duration_s    DOUBLE,
    fps           DOUBLE,
    width         INTEGER,
    height        INTEGER,
    probe_json    VARCHAR,
    status        VARCHAR NOT NULL,
    error         VARCHAR,
    chunks_total  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE chunks (
    video_id          BIGINT NOT NULL,
    chunk_index       INTEGER NOT NULL,
    start_s           DOUBLE NOT NULL,
    end_s             DOUBLE NOT NULL,
    status            VARCHAR NOT NULL,
    caption           VARCHAR,
    grounded_caption  VARCHAR,
    frame_times       DOUBLE[],
    error             VARCHAR,
    PRIMARY KEY (video_id, chunk_index)
);
CREATE TABLE objects (
    object_id     BIGINT PRIMARY KEY,
    video_id      BIGINT NOT NULL,
    first_chunk   INTEGER NOT NULL,
    label         VARCHAR NOT NULL,
    description   VARCHAR,
    first_seen_s  DOUBLE,
    last_seen_s   DOUBLE
);
CREATE TABLE track_points (
    object_id    BIGINT NOT NULL,
    video_id     BIGINT NOT NULL,
    chunk_index  INTEGER NOT NULL,
    time_s       DOUBLE NOT NULL,
    score        FLOAT NOT NULL,
    x0 FLOAT, y0 FLOAT, x1 FLOAT, y1 FLOAT,
    area         INTEGER NOT NULL,
    mask_h       INTEGER,
    mask_w       INTEGER,
    mask_counts  VARCHAR
);
CREATE TABLE phrases (
    video_id     BIGINT NOT NULL,
    chunk_index  INTEGER NOT NULL,
    ordinal      INTEGER NOT NULL,
    phrase       VARCHAR NOT NULL,
    object_id    BIGINT NOT NULL,
    PRIMARY KEY (video_id, chunk_index, ordinal)
);
CREATE TABLE text_embeddings (
    video_id     BIGINT NOT NULL,
    chunk_index  INTEGER NOT NULL,
    kind         VARCHAR NOT NULL,
    ordinal      INTEGER NOT NULL,
    object_id    BIGINT,
    start_s      DOUBLE NOT NULL,
    end_s        DOUBLE NOT NULL,
    text         VARCHAR NOT NULL,
    vec          FLOAT[{EMBEDDING_DIM}] NOT NULL
);
CREATE TABLE jobs (
    job_id         BIGINT PRIMARY KEY,
    command        VARCHAR NOT NULL,
    pid            INTEGER NOT NULL,
    host           VARCHAR NOT NULL,
    started_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    status         VARCHAR NOT NULL,
    videos_total   INTEGER NOT NULL DEFAULT 0,
    videos_done    INTEGER NOT NULL DEFAULT 0,
    chunks_done    INTEGER NOT NULL DEFAULT 0,
    chunks_failed  INTEGER NOT NULL DEFAULT 0,
    error          VARCHAR
);
"""

# v2: one vector per distinct text. Phrases repeat across chunks and videos ("a person", "the white van"),
# so storing a vector per mention made search scan the same text thousands of times and stored 1.5 KB
# each time. `texts` holds each (model, text) once; `text_refs` says where it was said. The model name
# keeps vectors of different models apart (their cosines are not comparable).
# text_id is the md5 of model NUL text (lower 64 bits, shifted to fit BIGINT): computed in SQL only.
TEXT_ID_SQL = "(md5_number_lower({model} || chr(0) || {text}) >> 1)::BIGINT"

_V2 = f"""
CREATE TABLE texts (
    text_id  BIGINT PRIMARY KEY,
    text     VARCHAR NOT NULL,
    model    VARCHAR NOT NULL,
    vec      FLOAT[{EMBEDDING_DIM}] NOT NULL
);
CREATE TABLE text_refs (
    text_id      BIGINT NOT NULL,
    video_id     BIGINT NOT NULL,
    chunk_index  INTEGER NOT NULL,
    kind         VARCHAR NOT NULL,
    ordinal      INTEGER NOT NULL,
    object_id    BIGINT,
    start_s      DOUBLE NOT NULL,
    end_s        DOUBLE NOT NULL
);
INSERT INTO texts
SELECT DISTINCT ON (text_id) {TEXT_ID_SQL.format(model="'all-MiniLM-L6-v2'", text="text")} AS text_id,
       text, 'all-MiniLM-L6-v2', vec
FROM text_embeddings ORDER BY text_id, video_id, chunk_index, ordinal;
INSERT INTO text_refs
SELECT {TEXT_ID_SQL.format(model="'all-MiniLM-L6-v2'", text="text")}, video_id, chunk_index, kind, ordinal, object_id,
       start_s, end_s
FROM text_embeddings ORDER BY video_id, chunk_index, kind, ordinal;
DROP TABLE text_embeddings;
"""

# v3: indexing schedules (`sva schedule add/list/remove/run`, agent/schedule/schedule_store.py). A schedule is due every
# `every_s` seconds or on a five-field `cron` line (exactly one of them); `settings_json` holds the indexing
# settings of its runs (IndexSettings without the db, plus Ray options). Times are naive UTC like `jobs`.
# `last_job_id` is the `jobs` row of its last run; `last_status` is that run's status, or `busy` when another
# indexer held the DB and the run was skipped.
_V3 = """
CREATE TABLE schedules (
    schedule_id    BIGINT PRIMARY KEY,
    watch_dir      VARCHAR NOT NULL,
    every_s        DOUBLE,
    cron           VARCHAR,
    settings_json  VARCHAR NOT NULL,
    enabled        BOOLEAN NOT NULL DEFAULT true,
    created_at     TIMESTAMP NOT NULL,
    next_run_at    TIMESTAMP,
    last_run_at    TIMESTAMP,
    last_job_id    BIGINT,
    last_status    VARCHAR,
    last_error     VARCHAR
);
"""

# v4: an int8 copy of every vector for the first pass of search. A fresh connection must read every vector it
# scores from disk (the cache starts empty), and 1.5 KB per text made that read most of a cold search. Search
# now ranks all texts on `qvec` (0.4 KB: symmetric per-vector scale, qvec * qscale ~ vec to 1/254 of its
# largest component), then rescores a shortlist on the exact `vec`, so the scores stay exact cosines.
def quantized_columns(vec: str) -> str:
    """SQL for `qvec, qscale` of the FLOAT[] expression `vec`, from a row that also has `vmax` =
    max |component| (computed once per row by the caller, not once per component)."""
    return (f"[round(x / greatest(vmax, 1e-30) * 127)::TINYINT for x in {vec}]::TINYINT[{EMBEDDING_DIM}] AS qvec, "
            f"(greatest(vmax, 1e-30) / 127)::FLOAT AS qscale")


def vector_max(vec: str) -> str:
    return f"list_max([abs(x) for x in {vec}])"


_V4 = f"""
ALTER TABLE texts ADD COLUMN qvec TINYINT[{EMBEDDING_DIM}];
ALTER TABLE texts ADD COLUMN qscale FLOAT;
UPDATE texts SET qvec = q.qvec, qscale = q.qscale
FROM (SELECT text_id, {quantized_columns("vec")}
      FROM (SELECT text_id, vec, {vector_max("vec")} AS vmax FROM texts)) q
WHERE texts.text_id = q.text_id;
ALTER TABLE texts ALTER COLUMN qvec SET NOT NULL;
ALTER TABLE texts ALTER COLUMN qscale SET NOT NULL;
"""

# v5: events computed from the stored tracks (index/event_store.py, rules in tools/track_events.py): one row per
# occurrence of an event kind by an object (`other_object_id`: the second object of a two-object event).
# `evidence_s` are the sample times the rule read; `rule` says in words why it fired. Existing videos get their
# events by replaying their stored tracks (no model, no decoding): `_replay_events` below. `jobs.model` is the
# checkpoint an indexing run used: `sva query` and the dashboard default to it (and to its preset).
_V5 = """
CREATE TABLE events (
    video_id         BIGINT NOT NULL,
    object_id        BIGINT NOT NULL,
    other_object_id  BIGINT,
    kind             VARCHAR NOT NULL,
    start_s          DOUBLE NOT NULL,
    end_s            DOUBLE NOT NULL,
    score            FLOAT NOT NULL,
    evidence_s       DOUBLE[],
    rule             VARCHAR NOT NULL
);
ALTER TABLE jobs ADD COLUMN model VARCHAR;
"""


def _replay_events(con: duckdb.DuckDBPyConnection) -> None:
    from index.event_store import replace_all_events  # the rules import tools; only this step needs them

    replace_all_events(con)


# v6: which weights an indexing run used: the hub commit its checkpoint resolved to (None for a local folder)
# and the SHA-256 of its safetensors (sa2va_engine/weights_digest.py), so an index says what built it.
_V6 = """
ALTER TABLE jobs ADD COLUMN model_revision VARCHAR;
ALTER TABLE jobs ADD COLUMN weights_sha256 VARCHAR;
"""


# v7: who may use the dashboard and what it may touch (index/access.py): accounts with a role and a scrypt hash
# of their password (never the password), and the roots, the folders the dashboard may index and serve.
_V7 = """
CREATE TABLE access_accounts (
    name           VARCHAR PRIMARY KEY,
    role           VARCHAR NOT NULL,
    password_hash  VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE TABLE access_roots (
    path      VARCHAR PRIMARY KEY,
    added_at  TIMESTAMP NOT NULL
);
"""


# v8: where an indexing run's time went (agent/indexing/stage_clock.py): JSON of seconds per stage, tokens generated per
# model stage, frames decoded and chunks analysed; null for runs that recorded none (older, Ray).
_V8 = """
ALTER TABLE jobs ADD COLUMN stages VARCHAR;
"""


# v9: an object's label is the name it was given in most of its chunks (index/writer.py, `vote_labels`), no longer
# the first; older indexes get theirs voted from their stored phrases.
_V9 = """
SELECT 1;
"""


def _vote_labels(con: duckdb.DuckDBPyConnection) -> None:
    from index.label_vote import vote_labels

    vote_labels(con, None)


# v10: what the model said when asked whether an ambiguous object is a question's subject (index/subject_checks.py),
# so each object is checked once per subject, model and key frame, not once per question.
_V10 = """
CREATE TABLE subject_checks (
    video_id    BIGINT NOT NULL,
    object_id   BIGINT NOT NULL,
    subject     VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    key_time_s  DOUBLE NOT NULL,
    accepted    BOOLEAN NOT NULL,
    checked_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (object_id, subject, model)
);
"""


# v11: events replayed from the stored tracks: a jump now needs something off the ground, the box's bottom or a
# separate part of the mask (tools/track_events.py), so a mask spreading upward no longer reads as one.
_V11 = """
SELECT 1;
"""


# v12: events replayed again: a mask of a few pixels, far smaller than the object's masks around it, is no sighting
# (tools/track_events.py `_sightings`), so a tracker clutching at a speck no longer hides an object leaving.
_V12 = """
SELECT 1;
"""


# v13: `videos.gaps_filled`: the second tracking pass (agent/indexing/gap_fill.py) has run on the video. Videos stored
# before it are marked as passed: they are answered as they were indexed until indexed again.
_V13 = """
ALTER TABLE videos ADD COLUMN gaps_filled BOOLEAN NOT NULL DEFAULT TRUE;
"""


# v14: `part_names`: what the model called, up close, the part of a mask that a jump hangs on (index/part_names.py),
# and `videos.parts_named`, the mark that the indexer named them. Videos stored before it are marked as named: their
# events stay as they were until the video is indexed again.
_V14 = """
CREATE TABLE part_names (
    video_id BIGINT NOT NULL,
    object_id BIGINT NOT NULL,
    time_s DOUBLE NOT NULL,
    x0 FLOAT NOT NULL,
    y0 FLOAT NOT NULL,
    x1 FLOAT NOT NULL,
    y1 FLOAT NOT NULL,
    name VARCHAR
);
ALTER TABLE videos ADD COLUMN parts_named BOOLEAN NOT NULL DEFAULT TRUE;
"""


# v15: events replayed from the stored tracks: the rules read the box of each mask's sizeable parts, not of every
# pixel (tools/mask_parts.py `mask_outline`: a speck stretched boxes and mistimed crossings), and time a crossing by
# the speed over its last three samples at 4 fps (tools/track_events.py `VELOCITY_WINDOW_S`).
_V15 = """
SELECT 1;
"""


# v16: `track_points.colour`, the mean colour under each mask in CIE Lab (tools/mask_colour.py), so the event rules can
# tell a mask that slid onto a neighbour of another colour (tools/track_events.py `_sightings`). Older points have none,
# and the rules read them as before: their events are not replayed.
_V16 = """
ALTER TABLE track_points ADD COLUMN colour FLOAT[];
"""


# v17: stored objects of a video that are one (the same masks on the frames both stored: index/object_merge.py) are
# merged, as the second tracking pass now does when it ends, in the videos that had the pass; those merged get their
# events replayed. No model, no decoding.
_V17 = """
SELECT 1;
"""


def _merge_objects(con: duckdb.DuckDBPyConnection) -> None:
    from index.event_store import replace_video_events
    from index.object_merge import merge_same_objects

    filled = "SELECT video_id FROM videos WHERE status IN ('done', 'partial') AND gaps_filled ORDER BY video_id"
    for (video_id,) in con.execute(filled).fetchall():
        if merge_same_objects(con, video_id):
            replace_video_events(con, video_id)


# v18: `object_views`: what the model called each object up close on a few typical frames of its whole track
# (index/object_views.py), which its label is voted from, and `videos.views_named`, the mark that the indexer named
# them. Videos stored before it are marked as named: their labels stay as they were until the video is indexed again.
_V18 = """
CREATE TABLE object_views (
    video_id BIGINT NOT NULL,
    object_id BIGINT NOT NULL,
    time_s DOUBLE NOT NULL,
    x0 FLOAT NOT NULL,
    y0 FLOAT NOT NULL,
    x1 FLOAT NOT NULL,
    y1 FLOAT NOT NULL,
    name VARCHAR
);
ALTER TABLE videos ADD COLUMN views_named BOOLEAN NOT NULL DEFAULT TRUE;
"""


# v19: the states (moving, still, near, on the left or right; tools/track_events.py) join the events table, read from
# the stored tracks of every video; its other events stay as they were (an index older than v16 has no colours to
# replay them with). No model, no decoding.
_V19 = """
SELECT 1;
"""


# v20: the 'visible' state (the stretches a track is seen) joins them: every state recomputed from the stored tracks,
# as v19 did; the other events stay as they were.
_V20 = """
SELECT 1;
"""


# v21: which way a thing moves (moving_left / moving_right), recomputed with the other states as v20 did.
_V21 = """
SELECT 1;
"""


# v22: how big an event was (a jump's height, a motion's top speed, in object heights: tools/track_event.py
# `SIZE_UNITS`), what "the highest jump" ranks by; filled from the stored tracks for the events already stored.
_V22 = """
ALTER TABLE events ADD COLUMN size DOUBLE;
"""


# v23: `crossing_names`: what the model called, up close, a part of a mask that went out of the frame or came in while
# the rest of the mask stayed, and a track that went out whole (index/crossing_names.py); named in the pass that names
# the parts jumps hang on. Videos stored before it have none: their events stay as they were, and they are marked for
# that pass again, so the next `sva index` over them names their crossings (with the model, one frame per name; their
# chunks are not analysed again).
_V23 = """
UPDATE videos SET parts_named = FALSE WHERE status IN ('done', 'partial');
CREATE TABLE crossing_names (
    video_id BIGINT NOT NULL,
    object_id BIGINT NOT NULL,
    time_s DOUBLE NOT NULL,
    x0 FLOAT NOT NULL,
    y0 FLOAT NOT NULL,
    x1 FLOAT NOT NULL,
    y1 FLOAT NOT NULL,
    name VARCHAR
);
"""


def _add_sizes(con: duckdb.DuckDBPyConnection) -> None:
    from index.event_store import add_all_sizes

    add_all_sizes(con)


def _add_states(con: duckdb.DuckDBPyConnection) -> None:
    from index.event_store import add_all_states

    add_all_states(con)


# Each migration is SQL, or SQL followed by a step in Python that fills the new tables from the old rows.
MIGRATIONS: tuple[str | tuple[str, Callable[[duckdb.DuckDBPyConnection], None]], ...] = (
    _V1, _V2, _V3, _V4, (_V5, _replay_events), _V6, _V7, _V8, (_V9, _vote_labels), _V10, (_V11, _replay_events),
    (_V12, _replay_events), _V13, _V14, (_V15, _replay_events), _V16, (_V17, _merge_objects), _V18,
    (_V19, _add_states), (_V20, _add_states), (_V21, _add_states), (_V22, _add_sizes), _V23,
)
CURRENT_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """0 for an empty file (no tables yet)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version' AND schema_name = 'main'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def check_not_newer(version: int, db_label: str) -> None:
    if version > CURRENT_VERSION:
        raise IndexTooNew(
            f"index {db_label} has schema v{version} but this sva understands up to v{CURRENT_VERSION}; upgrade sva"
        )


def migrate(con: duckdb.DuckDBPyConnection, db_label: str, target: int = CURRENT_VERSION) -> int:
    """Bring a read-write connection's file to `target`; returns the version it started from."""
    start = schema_version(con)
    check_not_newer(start, db_label)
    for version in range(start + 1, target + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            if version == 1:
                con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            step = MIGRATIONS[version - 1]
            sql, replay = step if isinstance(step, tuple) else (step, None)
            con.execute(sql)
            if replay is not None:
                replay(con)
            con.execute("DELETE FROM schema_version")
            con.execute("INSERT INTO schema_version VALUES (?)", [version])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return start
