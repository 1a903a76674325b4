"""Schedules persisted in the index file (table `schedules`, schema v3; see index/README.md), so they
outlive the scheduler: `sva schedule add` in one process, `sva schedule run` in another, a restart picks
them all up again. Each call is one short transaction or read, like every other index access (the
turnstile keeps the indexer first). Statements are constants and values parameters, as in `index/`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from agent.schedule.schedule_spec import Schedule, ScheduledRun, ScheduleError, utcnow
from index.connection import open_read, write_transaction

_COLUMNS = ("schedule_id, watch_dir, every_s, cron, settings_json, enabled, created_at, next_run_at, last_run_at, "
            "last_job_id, last_status, last_error")
_SELECT_ALL = f"SELECT {_COLUMNS} FROM schedules ORDER BY schedule_id"
_SELECT_ONE = f"SELECT {_COLUMNS} FROM schedules WHERE schedule_id = ?"
_INSERT = (
    "INSERT INTO schedules (schedule_id, watch_dir, every_s, cron, settings_json, enabled, created_at, next_run_at) "
    "SELECT coalesce(max(schedule_id), 0) + 1, ?, ?, ?, ?, true, ?, ? FROM schedules RETURNING schedule_id"
)
_DELETE = "DELETE FROM schedules WHERE schedule_id = ? RETURNING schedule_id"
_STARTED = "UPDATE schedules SET last_run_at = ? WHERE schedule_id = ?"
_FINISHED = ("UPDATE schedules SET last_job_id = coalesce(?, last_job_id), last_status = ?, last_error = ?, "
             "next_run_at = ? WHERE schedule_id = ?")
_NEXT_RUN = "UPDATE schedules SET next_run_at = ? WHERE schedule_id = ?"


class ScheduleStore:
    def __init__(self, db: Path):
        self.db = Path(db)

    def add(self, watch_dir: str | Path, run: ScheduledRun, every_s: float | None = None,
            cron: str | None = None) -> Schedule:
        """A new enabled schedule. The folder must exist (its absolute path is stored)."""
        if (every_s is None) == (cron is None):
            raise ScheduleError("give exactly one of --every and --cron")
        folder = Path(watch_dir).expanduser()
        if not folder.is_dir():
            raise ScheduleError(f"--watch {watch_dir}: no such folder")
        now = utcnow()
        draft = Schedule(schedule_id=0, watch_dir=str(folder.resolve()), every_s=every_s, cron=cron, run=run,
                         created_at=now)
        # An interval schedule is due at once; a cron one at its next match.
        first = now if every_s is not None else draft.next_after(now)
        with write_transaction(self.db) as con:
            (schedule_id,) = con.execute(
                _INSERT, [draft.watch_dir, every_s, cron, run.model_dump_json(), now, first]
            ).fetchone()
        return self.get(schedule_id)

    def all(self) -> list[Schedule]:
        if not self.db.exists():
            return []
        with open_read(self.db) as con:
            return [_schedule(row) for row in con.execute(_SELECT_ALL).fetchall()]

    def get(self, schedule_id: int) -> Schedule:
        row = None
        if self.db.exists():
            with open_read(self.db) as con:
                row = con.execute(_SELECT_ONE, [schedule_id]).fetchone()
        if row is None:
            raise self._missing(schedule_id)
        return _schedule(row)

    def remove(self, schedule_id: int) -> None:
        removed = None
        if self.db.exists():
            with write_transaction(self.db) as con:
                removed = con.execute(_DELETE, [schedule_id]).fetchone()
        if removed is None:
            raise self._missing(schedule_id)

    def _missing(self, schedule_id: int) -> ScheduleError:
        return ScheduleError(f"no schedule {schedule_id} in {self.db}; `sva schedule list` shows them")

    def mark_started(self, schedule_id: int, at: datetime) -> None:
        with write_transaction(self.db) as con:
            con.execute(_STARTED, [at, schedule_id])

    def mark_finished(self, schedule_id: int, job_id: int | None, status: str, error: str | None,
                      next_run_at: datetime | None) -> None:
        """A removed schedule is simply not updated."""
        with write_transaction(self.db) as con:
            con.execute(_FINISHED, [job_id, status, error, next_run_at, schedule_id])

    def set_next_run(self, schedule_id: int, next_run_at: datetime | None) -> None:
        with write_transaction(self.db) as con:
            con.execute(_NEXT_RUN, [next_run_at, schedule_id])


def _schedule(row: tuple) -> Schedule:
    (schedule_id, watch_dir, every_s, cron, settings_json, enabled, created_at, next_run_at, last_run_at,
     last_job_id, last_status, last_error) = row
    return Schedule(
        schedule_id=schedule_id, watch_dir=watch_dir, every_s=every_s, cron=cron,
        run=ScheduledRun.model_validate_json(settings_json), enabled=enabled, created_at=created_at,
        next_run_at=next_run_at, last_run_at=last_run_at, last_job_id=last_job_id, last_status=last_status,
        last_error=last_error,
    )
