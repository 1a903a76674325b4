"""Errors a dashboard user can cause (no index yet, a file that is not an index, a video moved since it was
indexed, a model that will not load) shown as one `st.error` line instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import streamlit as st

from sa2va_engine.user_error import UserError


class DashboardError(UserError):
    """A problem with what was asked of the dashboard itself (an unknown video id in the address)."""


def one_line(exc: BaseException) -> str:
    """The first line of the message, without DuckDB's "IO Error: " style prefix kept as is."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:400]


def describe(exc: BaseException, db: object = None) -> str:
    if isinstance(exc, duckdb.Error):
        return f"index {db} cannot be read: {one_line(exc)}"
    if isinstance(exc, OSError):
        name = exc.filename or ""
        return f"{name}: {exc.strerror or one_line(exc)}" if name else one_line(exc)
    return one_line(exc)


@contextmanager
def shown_as_error(db: object = None) -> Iterator[None]:
    """Run a block; a user-causable error ends it with one `st.error` line. Anything else is a bug and
    propagates (Streamlit shows it as configured by `sva ui`, without details)."""
    try:
        yield
    except (UserError, duckdb.Error, OSError) as exc:
        st.error(describe(exc, db), icon=":material/error:")
