"""Where the index lives when the user does not say: $SVA_DB, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_db_path() -> Path:
    env = os.environ.get("SVA_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("sva")) / "index.duckdb"
