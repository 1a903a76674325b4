"""What the dashboard process was started with (`sva ui` passes it through the environment) and the
per-process objects every page shares: one IndexReader per index file, one model worker thread.

`sva ui` runs Streamlit in a child process, so settings travel as environment variables:
SVA_DB (index file), SVA_MODEL (checkpoint for verification and chat), SVA_CACHE_DIR (rendered thumbnails
and overlay clips; default: the user cache dir).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import platformdirs
import streamlit as st
from pydantic import BaseModel, Field

from index.db_path import default_db_path
from index.reader import IndexReader
from sa2va_engine.settings import settings


class DashboardConfig(BaseModel):
    db: Path = Field(description="the index file the dashboard reads")
    model: str | None = Field(default=None, description="checkpoint for verification and chat; None: the default")
    cache_dir: Path = Field(description="rendered thumbnails and overlay clips")

    @property
    def log_dir(self) -> Path:
        """Where indexers started from the dashboard write their output: next to the index file."""
        return self.db.with_name(self.db.name + ".logs")


def dashboard_config() -> DashboardConfig:
    given = settings()
    return DashboardConfig(
        db=default_db_path().absolute(),
        model=given.model,
        cache_dir=given.cache_dir.expanduser() if given.cache_dir else Path(platformdirs.user_cache_dir("sva")) / "ui",
    )


@st.cache_resource(show_spinner=False)
def index_reader(db: str) -> IndexReader:
    """One reader per index file for the whole server: it keeps a warm connection between reruns and steps
    aside when an indexer wants to write. Its calls are serialised on a lock, so sessions may share it."""
    return IndexReader(db)


@st.cache_resource(show_spinner=False)
def model_worker() -> ThreadPoolExecutor:
    """The one thread that runs the model (verification, chat) for every session: one engine in memory and
    no two generations fighting for the same cores. Work submitted here outlives the script run that
    submitted it, so a click during verification does not throw the verification away."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sva-model")


@st.cache_resource(show_spinner=False)
def indexer_launches():
    """The indexers this server started (see ui/indexer_launch.py)."""
    from ui.indexer_launch import IndexerLaunches

    return IndexerLaunches()
