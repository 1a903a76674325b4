"""The `subject_checks` table: what the model said when asked whether an ambiguous object is a question's subject.

Why: the names leave some objects ambiguous for a subject ("the red dog" for "the red ball"), and the query
graph asks the model about each, on one key frame of its track (agent/query/query_graph.py). That check decodes
frames and, in a fresh `sva query`, loads torch and the model: seconds, where an answer from the index alone
takes well under one. The verdict depends only on the object's key frame, the subject's words and the model,
so it is kept here and each object is checked once per subject and model, not once per question.

A verdict is used only while the object's key frame is the one it was made on (`key_time_s`): more chunks of
the object (a resumed run) may give it a larger mask elsewhere, and then it is asked again. Rows go with their
video when it is indexed again or removed (index/writer.py). Storing is best effort: the verdicts are a cache,
and a question on a read-only or busy index is answered all the same, only without remembering them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from pydantic import BaseModel

from index.connection import write_transaction
from sa2va_engine.user_error import UserError

# A write that waits longer than this for the file is given up: the answer is ready, only the cache is not.
_STORE_TIMEOUT_S = 2.0

_STORED = (
    "SELECT object_id, key_time_s, accepted FROM subject_checks "
    "WHERE subject = ? AND model = ? AND object_id IN (SELECT unnest(?::BIGINT[]))"
)
_STORE = (
    "INSERT OR REPLACE INTO subject_checks "
    "SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?, ?, unnest(?::DOUBLE[]), unnest(?::BOOLEAN[]), ?"
)


class SubjectCheck(BaseModel):
    """The model's verdict on one object for one subject, made on the frame at `key_time_s`."""

    video_id: int
    object_id: int
    key_time_s: float
    accepted: bool


def subject_key(subject: str) -> str:
    """The subject as the table keys it: case and spacing do not make another question."""
    return " ".join(subject.lower().split())


def stored_checks(con: duckdb.DuckDBPyConnection, subject: str, model: str,
                  object_ids: Sequence[int]) -> dict[int, tuple[float, bool]]:
    """object_id -> (key_time_s, accepted) for the objects already checked for `subject` with `model`."""
    if not object_ids:
        return {}
    rows = con.execute(_STORED, [subject_key(subject), model, list(object_ids)]).fetchall()
    return {int(oid): (float(t), bool(ok)) for oid, t, ok in rows}


def store_checks(db: Path, subject: str, model: str, checks: Sequence[SubjectCheck]) -> bool:
    """Remember `checks`; False when the index could not take them now (read-only, busy, full, damaged)."""
    if not checks:
        return True
    try:
        with write_transaction(db, timeout_s=_STORE_TIMEOUT_S) as con:
            con.execute(_STORE, [[c.video_id for c in checks], [c.object_id for c in checks], subject_key(subject),
                                 model, [c.key_time_s for c in checks], [c.accepted for c in checks],
                                 datetime.now(timezone.utc).replace(tzinfo=None)])
    except (UserError, OSError, duckdb.Error):
        return False
    return True
