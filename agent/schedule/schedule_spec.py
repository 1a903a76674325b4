"""What a schedule is: a folder, when to index it (every N seconds, or a cron line), and with which settings.

`--every` takes `90s`, `15m`, `1h`, `1h30m`, `2d` or plain seconds (at least 1 s). `--cron` takes the five
fields of crontab(5) (minute hour day-of-month month day-of-week) in this machine's time zone. An interval
schedule is due at once when added, then every N seconds on the grid of its creation time; a cron schedule is
first due at its next match. Missed runs (the scheduler was down) are caught up as one run.

Times crossing the index are naive UTC (as in `jobs`); APScheduler works with aware datetimes.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.indexing.index_settings import IndexSettings
from agent.indexing.ray_options import RayOptions
from sa2va_engine.user_error import UserError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_EVERY = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


class ScheduleError(UserError):
    """A schedule the user described cannot be used (bad interval or cron line, missing folder, unknown id)."""


def parse_every(text: str) -> float:
    """Seconds in `text` (`1h30m`, `90s`, `3600`)."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    elif _EVERY.match(raw):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(raw))
    else:
        raise ScheduleError(f"--every {text!r}: give a duration like 90s, 15m, 1h, 1h30m or 2d")
    if seconds < 1:
        raise ScheduleError(f"--every {text!r}: the interval must be at least 1 second")
    return seconds


def format_every(seconds: float) -> str:
    left, parts = int(round(seconds)), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def check_cron(text: str) -> str:
    """The cron line, normalised to single spaces, if APScheduler accepts it."""
    from apscheduler.triggers.cron import CronTrigger

    line = " ".join(text.split())
    try:
        CronTrigger.from_crontab(line)
    except ValueError as exc:
        raise ScheduleError(f"--cron {text!r}: {exc}") from None
    return line


class ScheduledRun(BaseModel):
    """The settings every run of a schedule indexes with: `IndexSettings` without the db (the schedule lives
    in that db), and Ray options when the runs go to a cluster."""

    index: dict[str, Any] = Field(default_factory=dict)
    ray: RayOptions | None = None

    def settings(self, db: Path) -> IndexSettings:
        return IndexSettings(db=db, **self.index)

    @classmethod
    def of(cls, settings: IndexSettings, ray: RayOptions | None = None) -> "ScheduledRun":
        return cls(index=settings.model_dump(mode="json", exclude={"db"}), ray=ray)


class Schedule(BaseModel):
    schedule_id: int
    watch_dir: str
    every_s: float | None = Field(default=None, description="seconds between runs; None for a cron schedule")
    cron: str | None = Field(default=None, description="five-field cron line, local time")
    run: ScheduledRun
    enabled: bool = True
    created_at: datetime = Field(description="naive UTC")
    next_run_at: datetime | None = Field(default=None, description="naive UTC; None: due now")
    last_run_at: datetime | None = None
    last_job_id: int | None = None
    last_status: str | None = Field(default=None, description="done | partial | failed | busy (another indexer ran)")
    last_error: str | None = None

    def when(self) -> str:
        return f"every {format_every(self.every_s)}" if self.every_s is not None else f"cron '{self.cron}'"

    def trigger(self):
        """The APScheduler trigger of this schedule."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        if self.every_s is not None:
            return IntervalTrigger(seconds=self.every_s, start_date=aware(self.created_at), timezone=timezone.utc)
        return CronTrigger.from_crontab(self.cron)

    def next_after(self, now: datetime) -> datetime | None:
        """The next time (naive UTC) the trigger fires strictly after `now` (naive UTC)."""
        fire = self.trigger().get_next_fire_time(None, aware(now))
        while fire is not None and fire <= aware(now):
            fire = self.trigger().get_next_fire_time(fire, fire)
        return naive(fire) if fire is not None else None

    def signature(self) -> tuple:
        """What a running scheduler compares to see that a schedule was changed under it."""
        return (self.watch_dir, self.every_s, self.cron, self.run.model_dump_json(), self.enabled)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def aware(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def naive(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None)
