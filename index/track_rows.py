"""How a stored track point row maps back to the engine's TrackPoint (the reader and the writer both read them)."""

from __future__ import annotations

from collections.abc import Sequence

from sa2va_engine.masklet import Rle, TrackPoint

# Column order `track_point_from_row` expects.
TRACK_COLUMNS = "time_s, score, x0, y0, x1, y1, area, mask_h, mask_w, mask_counts, colour"


def track_point_from_row(row: Sequence) -> TrackPoint:
    """Only present points are stored, so every row is a present point."""
    t, score, x0, y0, x1, y1, area, h, w, counts, colour = row
    return TrackPoint(
        time_s=t,
        present=True,
        score=score,
        box=(x0, y0, x1, y1) if x0 is not None else None,
        area=area,
        mask=Rle(size=(h, w), counts=counts) if counts is not None else None,
        colour=tuple(colour) if colour is not None else None,
    )
