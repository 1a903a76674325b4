"""An object's label: the name most of its views up close give (index/object_views.py), or, for an object without
named views (a video the pass has not run on, a checkpoint that does not name objects), the name it was given in most
of its chunks."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

HAS_VIEWS = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'object_views' AND schema_name = 'main'"


def vote_labels(con: duckdb.DuckDBPyConnection, object_ids: Sequence[int] | None) -> None:
    """Each object's label becomes the name most of its named views give (ties: the name most of its chunks gave, then
    the view seen first), else the name
    it was given in most of its chunks (ties: the one given first; so an object named differently every time keeps
    its first name); None: every object of the index. Why the chunks' vote: a small model names an object from one
    frame per chunk, and a bad view gives a wrong name now and then, but rarely the same wrong name most of the time
    (bench/README.md, "Every moment": 49 -> 52 of 80 labels right). Why views first: they are picked from the whole
    track, away from the largest masks the chunks name (44 -> 48 of 57)."""
    if object_ids is not None and not object_ids:
        return
    ids = {"ids": [int(o) for o in object_ids] if object_ids is not None else None}
    con.execute(_VOTE_PHRASES, ids)
    # A migration older than the views (v18) votes from the chunks alone.
    if con.execute(HAS_VIEWS).fetchone()[0]:
        con.execute(_VOTE_VIEWS, ids)


_PHRASES = """
    SELECT object_id, phrase,
           row_number() OVER (PARTITION BY object_id ORDER BY count(*) DESC, min(chunk_index), min(ordinal),
                              phrase) AS rank
    FROM phrases WHERE $ids IS NULL OR list_contains($ids, object_id)
    GROUP BY object_id, phrase
"""
# Views tied: the name more of the object's chunks gave wins, then the one seen first. Seven views tie now and then
# ("the white ball" 3, "the white box" 3); the chunks named the white box twice and the ball never.
_VIEWS = """
    SELECT v.object_id, v.name AS phrase,
           row_number() OVER (PARTITION BY v.object_id ORDER BY count(*) DESC, coalesce(any_value(p.chunks), 0) DESC,
                              min(v.time_s), v.name) AS rank
    FROM object_views v
    LEFT JOIN (SELECT object_id, phrase, count(*) AS chunks FROM phrases GROUP BY object_id, phrase) p
           ON p.object_id = v.object_id AND p.phrase = v.name
    WHERE v.name IS NOT NULL AND ($ids IS NULL OR list_contains($ids, v.object_id))
    GROUP BY v.object_id, v.name
"""
_VOTE = """
    UPDATE objects SET label = voted.phrase FROM (SELECT object_id, phrase FROM ({source}) WHERE rank = 1) voted
    WHERE objects.object_id = voted.object_id AND objects.label IS DISTINCT FROM voted.phrase
"""
_VOTE_PHRASES = _VOTE.format(source=_PHRASES)
_VOTE_VIEWS = _VOTE.format(source=_VIEWS)
