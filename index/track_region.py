"""A region of a stored track to name up close, and the name the model gave it: the currency of the passes that name
parts of a finished video's tracks (index/part_names.py, index/object_views.py), both stored as
(video_id, object_id, time_s, x0, y0, x1, y1, name) rows."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
from pydantic import BaseModel


class TrackRegion(BaseModel):
    """A box of an object's stored track to name: the track point's time (seconds) and the box (pixels of the stored
    mask, which is the frame as the indexer decoded it)."""

    object_id: int
    time_s: float
    box: tuple[int, int, int, int]
    frame_size: tuple[int, int]


class RegionName(BaseModel):
    """What the model called a `TrackRegion` up close; None when it gave no usable name."""

    object_id: int
    time_s: float
    box: tuple[int, int, int, int]
    name: str | None


def insert_sql(table: str) -> str:
    """The INSERT of `insert_names` into `table` (built once, as a module constant of the table's module)."""
    return (f"INSERT INTO {table} SELECT ?, unnest(?::BIGINT[]), unnest(?::DOUBLE[]), unnest(?::FLOAT[]), "
            "unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::VARCHAR[])")


def insert_names(con: duckdb.DuckDBPyConnection, sql: str, video_id: int, names: Sequence[RegionName]) -> None:
    """The video's names as rows, through `sql` (an `insert_sql`); nothing for no names."""
    if names:
        con.execute(sql, [video_id, [n.object_id for n in names], [n.time_s for n in names],
                          *([n.box[i] for n in names] for i in range(4)), [n.name for n in names]])
