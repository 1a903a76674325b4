"""Where the index lives when the user does not say: $SVA_DB, else the platform's user data directory."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from sa2va_engine.settings import settings


def default_db_path() -> Path:
    given = settings().db
    if given is not None:
        return given.expanduser()
    return Path(platformdirs.user_data_dir("sva")) / "index.duckdb"
