"""Jobs: indexing runs recorded in the index (progress, errors), and the indexers this dashboard started
with their logs, and the schedules `sva schedule` keeps in the index. Refreshes itself while a run is going."""

import os
import socket
from datetime import datetime

import duckdb
import pandas as pd
import streamlit as st

from agent.schedule.schedule_store import ScheduleStore
from index.summaries import JobSummary
from agent.indexing.stage_clock import StageTimes
from sa2va_engine.user_error import UserError
from ui.access_gate import signed_in
from ui.dashboard_config import dashboard_config, index_reader, indexer_launches
from ui.user_errors import one_line, shown_as_error

config = dashboard_config()
account = signed_in()  # also when a page runs alone (tests); app.py signs in first


def utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def live(job: JobSummary) -> bool:
    """A `running` job whose process is gone (killed, crashed) stays `running` in the index until the next
    run marks it interrupted; on this host we can tell, and stop waiting for it."""
    if job.status != "running":
        return False
    if job.host != socket.gethostname():
        return True
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def shown_status(job: JobSummary) -> str:
    if job.status == "running" and not live(job):
        return "stopped (process gone)"
    return job.status


def stage_line(job: JobSummary) -> str:
    """The run's stage split (seconds and share per stage, frames, tokens per chunk); empty when not recorded."""
    times = _stage_times(job)
    return times.summary().removeprefix("stages: ") if times is not None else ""


def time_split(jobs: list[JobSummary]) -> None:
    """The newest run's stage split as a chart, where it is seen without scrolling the table sideways."""
    for job in jobs:  # newest first
        times = _stage_times(job)
        if times is None:
            continue
        st.subheader(f"Where the time of job {job.job_id} went")
        seconds = pd.DataFrame({"stage": list(times.seconds), "seconds": list(times.seconds.values())})
        st.bar_chart(seconds, x="stage", y="seconds", horizontal=True, sort=False, height=240)
        st.caption(stage_line(job))
        return


def _stage_times(job: JobSummary) -> StageTimes | None:
    if not job.stages:
        return None
    try:
        times = StageTimes.model_validate_json(job.stages)
    except ValueError:
        return None
    return times if times.chunks else None


def jobs_table(jobs: list[JobSummary]) -> pd.DataFrame:
    rows = [
        {
            "job": j.job_id,
            "status": shown_status(j),
            "progress": j.videos_done / j.videos_total if j.videos_total else (1.0 if j.finished_at else 0.0),
            "videos": f"{j.videos_done}/{j.videos_total}",
            "chunks done": j.chunks_done,
            "chunks failed": j.chunks_failed,
            "started (UTC)": utc(j.started_at),
            "updated (UTC)": utc(j.updated_at),
            "finished (UTC)": utc(j.finished_at),
            "error": one_line(j.error) if j.error else "",
            "time went to": stage_line(j),
            "command": j.command,
            "process": f"{j.pid}@{j.host}",
        }
        for j in jobs
    ]
    columns = ["job", "status", "progress", "videos", "chunks done", "chunks failed", "started (UTC)",
               "updated (UTC)", "finished (UTC)", "error", "time went to", "command", "process"]
    return pd.DataFrame(rows, columns=columns)


def jobs_section(polling: bool) -> None:
    jobs = None
    with shown_as_error(config.db):
        jobs = index_reader(str(config.db)).jobs(limit=50)
    if jobs is not None:
        if not jobs:
            st.info("No indexing runs yet.")
        else:
            st.dataframe(
                jobs_table(jobs), hide_index=True, width="stretch",
                column_config={"progress": st.column_config.ProgressColumn(
                    "progress", min_value=0.0, max_value=1.0, format="percent")},
            )
            time_split(jobs)
    launches = indexer_launches().all()
    if launches:
        st.subheader("Started from this dashboard")
        for launch in launches:
            code = launch.returncode()
            state = "running" if code is None else {0: "finished", 1: "finished, some inputs failed"}.get(
                code, f"failed (exit {code})")
            with st.expander(f"{launch.folder} — {state} (pid {launch.pid})", expanded=code not in (None, 0)):
                st.code(launch.log_tail() or "(no output yet)", language=None)
                st.caption(f"log: `{launch.log_path}`")
    still = any(live(j) for j in jobs or []) or bool(indexer_launches().running())
    if polling and not still:
        st.rerun()


def busy_now() -> bool:
    try:
        return any(live(j) for j in index_reader(str(config.db)).jobs(limit=50))
    except (UserError, duckdb.Error, OSError):  # the section itself says why the index cannot be read
        return False


st.title("Jobs")
polling = busy_now() or bool(indexer_launches().running())
st.fragment(jobs_section, run_every=2.0 if polling else None)(polling)


def schedules_section() -> None:
    try:
        schedules = ScheduleStore(config.db).all() if config.db.exists() else []
    except (UserError, duckdb.Error, OSError):  # the runs section above already says why the index cannot be read
        return
    st.subheader("Scheduled")
    if not schedules:
        st.caption("No schedules. Add one with `sva schedule add --watch DIR --every 1h`, run them with `sva schedule run`.")
        return
    rows = [{"schedule": s.schedule_id, "folder": s.watch_dir, "when": s.when(), "enabled": s.enabled,
             "next run (UTC)": utc(s.next_run_at) or "due", "last run (UTC)": utc(s.last_run_at),
             "last status": s.last_status or "", "last job": s.last_job_id,
             "last error": one_line(s.last_error) if s.last_error else ""} for s in schedules]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


schedules_section()
