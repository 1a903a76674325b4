"""An object's label: the name it was given in most of its chunks."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb


def vote_labels(con: duckdb.DuckDBPyConnection, object_ids: Sequence[int] | None) -> None:
    """Each object's label becomes the name it was given in most of its chunks (ties: the one given first; so an
    object named differently every time keeps its first name); None: every object of the index. Why: a small
    model names an object from one frame per chunk, and a bad view gives a wrong name now and then, but rarely
    the same wrong name most of the time (bench/README.md, "Every moment": 49 -> 52 of 80 labels right)."""
    if object_ids is not None and not object_ids:
        return
    con.execute(
        """
        UPDATE objects SET label = voted.phrase FROM (
            SELECT object_id, phrase FROM (
                SELECT object_id, phrase,
                       row_number() OVER (PARTITION BY object_id ORDER BY count(*) DESC, min(chunk_index),
                                          min(ordinal), phrase) AS rank
                FROM phrases WHERE $ids IS NULL OR list_contains($ids, object_id)
                GROUP BY object_id, phrase)
            WHERE rank = 1) voted
        WHERE objects.object_id = voted.object_id AND objects.label IS DISTINCT FROM voted.phrase
        """,
        {"ids": [int(o) for o in object_ids] if object_ids is not None else None},
    )
