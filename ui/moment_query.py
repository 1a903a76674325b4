"""The Search page's two answers to one question: retrieval-only at once, then the model-verified one.

Retrieval (`verify=False`) needs no model and runs inside the script run. Verification runs on the
shared model worker thread (ui/dashboard_config.py): it survives reruns (a click on a moment while the
model works) and the page polls it until the verified answer can replace the retrieval one.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import duckdb

from agent.query.query_answer import QueryAnswer, QuerySettings
from sa2va_engine.user_error import UserError
from ui.dashboard_config import DashboardConfig, model_worker
from ui.user_errors import describe

log = logging.getLogger("sva.ui")


@dataclass
class SearchRun:
    """One question's state in a session (kept in st.session_state; not pydantic: it holds a Future)."""

    question: str
    verify: bool
    retrieval: QueryAnswer | None = None
    verified: QueryAnswer | None = None
    pending: Future | None = None
    verify_error: str | None = None
    verify_started: float = field(default_factory=time.monotonic)

    @property
    def best(self) -> QueryAnswer | None:
        return self.verified or self.retrieval

    def collect(self) -> bool:
        """Take the verified answer (or its error) once the worker is done; True when something changed."""
        if self.pending is None or not self.pending.done():
            return False
        future, self.pending = self.pending, None
        try:
            self.verified = future.result()
        except (UserError, duckdb.Error, OSError) as exc:
            self.verify_error = describe(exc)
        except Exception as exc:  # a bug in the graph: say so in one line, keep the trace in the server log
            log.error("verification of %r failed", self.question, exc_info=exc)
            self.verify_error = f"verification failed ({type(exc).__name__}: {describe(exc)})"
        return True


def _settings(config: DashboardConfig, verify: bool) -> QuerySettings:
    """The CLI's settings for the same index and model (agent/run_settings.py): one set of defaults."""
    from agent.run_settings import query_settings

    return query_settings(config.db, config.model, verify=verify)


def _run_query():
    # Imported on use: the graph pulls in LangGraph, and the pages that do not search should not pay for it.
    from agent.query.query_graph import run_query

    return run_query


def retrieve(question: str, config: DashboardConfig) -> QueryAnswer:
    """Moments from the index alone (no model), best first."""
    return _run_query()(question, _settings(config, verify=False))


def _verify(question: str, config: DashboardConfig) -> QueryAnswer:
    # The graph loads the model when it first needs it (tools/engine_session.load_engine: once per process, for
    # all sessions): an event question whose objects the names settle, or the model settled before (the index
    # keeps its verdicts), is answered without loading it.
    return _run_query()(question, _settings(config, verify=True))


def start_verification(run: SearchRun, config: DashboardConfig) -> None:
    run.pending = model_worker().submit(_verify, run.question, config)
    run.verify_started = time.monotonic()
