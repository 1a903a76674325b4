"""`sva schedule run`: the long-running scheduler, or (`--once`) one pass over every schedule for cron or a
systemd timer to call.

APScheduler's `BlockingScheduler` holds one job per enabled schedule, rebuilt from the `schedules` table at
start and re-synced every `sync_s` seconds (the "tick"), so `sva schedule add/remove` from another process
is picked up without a restart, and a restart keeps every schedule with its next run time. Jobs run inline
on the scheduler's own (main) thread through APScheduler's `DebugExecutor`: runs never overlap, and Ctrl-C
or SIGTERM stop a run the way they stop `sva index` (its job row becomes `interrupted`).

Each run is `run_index([folder], settings)`: only new or changed files are analysed (unchanged ones are
answered from one read of the index, see agent/indexing/indexer.py), progress and errors land in the run's `jobs`
row, and the schedule's row records the job id, status and next run. When another indexer holds the DB the
run is skipped with status `busy` and its one-line reason; the next due time tries again.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from threading import TIMEOUT_MAX

from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from pydantic import BaseModel

from agent.indexing.index_lock import IndexerRunning, hold_lock
from agent.indexing.index_report import IndexReport, VideoReport
from agent.indexing.indexer import run_index
from agent.schedule.schedule_spec import Schedule, ScheduleError, aware, naive, utcnow
from agent.schedule.schedule_store import ScheduleStore
from sa2va_engine.user_error import UserError

DEFAULT_SYNC_S = 30.0


class RunOutcome(BaseModel):
    schedule_id: int
    watch_dir: str
    job_id: int | None
    status: str  # done | partial | failed | busy
    error: str | None = None
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    next_run_at: datetime | None = None

    def line(self) -> str:
        head = f"schedule {self.schedule_id} ({self.watch_dir})"
        job = f"job {self.job_id} " if self.job_id is not None else ""
        if self.status == "busy":
            return f"{head}: skipped: {self.error}"
        counts = f"{self.indexed} indexed, {self.unchanged} unchanged, {self.failed} failed"
        tail = f": {self.error}" if self.error and self.status != "done" else ""
        return f"{head}: {job}{self.status} ({counts}){tail}"


class _RunLines:
    """Progress of a scheduled run: a line per video that was analysed or failed; unchanged ones stay quiet
    (a folder checked every few minutes would otherwise print every file every time)."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo

    def video_started(self, path: str, chunks_total: int, chunks_pending: int, duration_s: float) -> None:
        pass

    def chunk_finished(self, path: str, chunk_index: int, end_s: float, ok: bool) -> None:
        pass

    def video_finished(self, report: VideoReport) -> None:
        if report.outcome == "indexed":
            self.echo(f"indexed {report.path}: {report.chunks_done} chunk(s)")
        elif report.outcome != "unchanged":
            self.echo(f"sva: {report.error or report.path}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ScheduleRunner:
    def __init__(self, db: Path, sync_s: float = DEFAULT_SYNC_S, max_runs: int | None = None,
                 max_ticks: int | None = None, echo: Callable[[str], None] = _stderr):
        self.db = Path(db)
        self.store = ScheduleStore(self.db)
        self.sync_s = sync_s
        self.max_runs = max_runs
        self.max_ticks = max_ticks
        self.echo = echo
        self.outcomes: list[RunOutcome] = []
        self.ticks = 0
        self._scheduler = None
        self._known: dict[int, tuple] = {}
        self._interrupted = False

    # -- one run -----------------------------------------------------------------------------
    def run_schedule(self, schedule_id: int) -> RunOutcome | None:
        """Index one schedule's folder now; None when the schedule was removed or disabled meanwhile."""
        try:
            schedule = self.store.get(schedule_id)
        except ScheduleError:
            return None
        if not schedule.enabled:
            return None
        self.store.mark_started(schedule_id, utcnow())
        command = f"sva schedule run: schedule {schedule_id} ({schedule.watch_dir})"
        outcome = RunOutcome(schedule_id=schedule_id, watch_dir=schedule.watch_dir, job_id=None, status="failed")
        try:
            report = run_index([schedule.watch_dir], schedule.run.settings(self.db), _RunLines(self.echo),
                               command=command, ray=schedule.run.ray)
            outcome = _outcome(schedule, report)
        except IndexerRunning as exc:
            outcome.status, outcome.error = "busy", str(exc)
        except UserError as exc:  # e.g. the checkpoint cannot load: every run would fail the same way until fixed
            outcome.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken run must not end the scheduler
            outcome.error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
        outcome.next_run_at = schedule.next_after(utcnow())
        self.store.mark_finished(schedule_id, outcome.job_id, outcome.status, outcome.error, outcome.next_run_at)
        self.outcomes.append(outcome)
        self.echo(outcome.line())
        return outcome

    def run_once(self) -> list[RunOutcome]:
        """Every enabled schedule, now, one after another (what a cron line or systemd timer calls)."""
        with hold_lock(self.db, "scheduler", "sva schedule run --once"):
            for schedule in self.store.all():
                if schedule.enabled:
                    self.run_schedule(schedule.schedule_id)
        return self.outcomes

    # -- the long-running scheduler -----------------------------------------------------------
    def serve(self) -> list[RunOutcome]:
        """Run schedules when due until interrupted (KeyboardInterrupt, also on SIGTERM) or until `max_runs`
        runs / `max_ticks` syncs have happened."""
        with hold_lock(self.db, "scheduler", "sva schedule run"):
            previous = signal.signal(signal.SIGTERM, _raise_interrupt)
            try:
                self._scheduler = _StoppableScheduler(
                    executors={"default": DebugExecutor()},
                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
                )
                self.sync()
                self._scheduler.add_job(self._tick, "interval", seconds=self.sync_s, id="sync")
                self._scheduler.start()
            finally:
                signal.signal(signal.SIGTERM, previous)
                if self._scheduler.running:
                    self._scheduler.shutdown(wait=False)
                self._scheduler = None
        if self._interrupted:
            raise KeyboardInterrupt
        return self.outcomes

    def sync(self) -> None:
        """Make the scheduler's jobs match the table: new schedules added, removed or disabled ones dropped,
        changed ones replaced (with the next run time the table holds)."""
        try:
            wanted = {s.schedule_id: s for s in self.store.all() if s.enabled}
        except UserError as exc:  # busy for longer than a reader waits: try again next tick
            self.echo(f"sva: could not read schedules: {exc}")
            return
        for schedule_id in [s for s in self._known if s not in wanted]:
            self._scheduler.remove_job(_job_id(schedule_id))
            del self._known[schedule_id]
        for schedule_id, schedule in wanted.items():
            signature = schedule.signature()
            if self._known.get(schedule_id) == signature:
                continue
            if schedule_id in self._known:
                self._scheduler.remove_job(_job_id(schedule_id))
            due = aware(schedule.next_run_at or utcnow())
            self._scheduler.add_job(self._run_job, trigger=schedule.trigger(), args=[schedule_id],
                                    id=_job_id(schedule_id), next_run_time=due)
            self._known[schedule_id] = signature

    def _tick(self) -> None:
        self.ticks += 1
        self.sync()
        if self.max_ticks is not None and self.ticks >= self.max_ticks:
            self._stop()

    def _run_job(self, schedule_id: int) -> None:
        if self._scheduler.stop_requested:  # another job asked to stop in this same pass
            return
        try:
            self.run_schedule(schedule_id)
        except KeyboardInterrupt:
            # APScheduler's executor would swallow it; remember it and stop.
            self._interrupted = True
            self._stop()
            return
        if self.max_runs is not None and len(self.outcomes) >= self.max_runs:
            self._stop()

    def _stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop_requested = True

    def next_runs(self) -> dict[int, datetime | None]:
        """Schedule id -> next run (naive UTC) as the running scheduler has it."""
        out = {}
        for schedule_id in self._known:
            job = self._scheduler.get_job(_job_id(schedule_id)) if self._scheduler else None
            out[schedule_id] = naive(job.next_run_time) if job and job.next_run_time else None
        return out


class _StoppableScheduler(BlockingScheduler):
    """A BlockingScheduler a job can stop. `shutdown` from inside a job (which runs inside the loop's pass
    over due jobs) drops the jobs that pass is still updating; `stop_requested` ends the loop after the pass."""

    stop_requested = False

    def _main_loop(self):
        wait_seconds = TIMEOUT_MAX
        while self.state != STATE_STOPPED and not self.stop_requested:
            self._event.wait(wait_seconds)
            self._event.clear()
            wait_seconds = self._process_jobs()


def _job_id(schedule_id: int) -> str:
    return f"schedule-{schedule_id}"


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _outcome(schedule: Schedule, report: IndexReport) -> RunOutcome:
    counts = {k: sum(1 for v in report.videos if v.outcome == k) for k in ("indexed", "unchanged")}
    failed = report.failed
    if report.job_id is None and not report.videos:
        status = "done"  # an empty folder: nothing to do is not a failure
    elif not failed:
        status = "done"
    else:
        status = "failed" if len(failed) == len(report.videos) else "partial"
    error = "; ".join(v.error or v.path for v in failed)[:2000] or None
    return RunOutcome(schedule_id=schedule.schedule_id, watch_dir=schedule.watch_dir, job_id=report.job_id,
                      status=status, error=error, indexed=counts["indexed"], unchanged=counts["unchanged"],
                      failed=len(failed))
