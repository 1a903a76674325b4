"""Scheduled indexing: schedules kept in the index file, runs that index new or changed files only, the
long-running scheduler picking up schedules added by another process and keeping them across a restart,
and the one-indexer-per-DB lock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from agent.indexing.index_lock import hold_lock
from agent.indexing.index_settings import IndexSettings
from agent.schedule.schedule_runner import ScheduleRunner
from agent.schedule.schedule_spec import ScheduledRun, ScheduleError, format_every, parse_every
from agent.schedule.schedule_store import ScheduleStore
from index.reader import IndexReader
from tests.agent_fixtures import one_torch_thread as single_torch_thread, REPO, run_sva, sva_cmd, sva_env
from tests.index_fixtures import dump_tables

runner = CliRunner()
FIRST, SECOND = "08_driving.mp4", "14_social_dog_training.mp4"  # 5 s and 6 s: one 10 s chunk each


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One torch thread for model runs started here (see tests/test_ray_index.py): the shared 2-core machine
    makes the default several times slower, and results do not depend on it."""
    with single_torch_thread():
        yield


def quick_run(model) -> ScheduledRun:
    """Tracking only, small frames: a scheduled run over a short video takes a few seconds."""
    return ScheduledRun.of(IndexSettings(db="unused", model=str(model), chunk_s=10, max_side=128, caption=False,
                                         ground=False, describe=False, watch=["the car"]))


@pytest.fixture
def cams(tmp_path, shared_videos):
    folder = tmp_path / "cams"
    folder.mkdir()
    shutil.copy(shared_videos / FIRST, folder / FIRST)
    return folder


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800),
                                           ("3600", 3600), (" 1 h ", 3600), ("0.5m", 30)])
def test_every_accepts_durations(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "-5m", "0s", "0.2"])
def test_every_refuses_what_is_not_a_duration(text):
    with pytest.raises(ScheduleError):
        parse_every(text)


def test_format_every_round_trips():
    assert [format_every(parse_every(t)) for t in ("90s", "1h30m", "2d", "1h")] == ["1m30s", "1h30m", "2d", "1h"]


def test_add_list_remove_round_trip_in_a_db_file(tmp_path, cams):
    db = str(tmp_path / "index.duckdb")
    added = runner.invoke(app, ["schedule", "add", "--watch", str(cams), "--every", "1h", "--db", db,
                                "--watch-for", "a person", "--chunk-s", "5", "--prompt-every-frame", "--json"])
    assert added.exit_code == 0, added.output
    first = json.loads(added.output)
    assert first["schedule_id"] == 1 and first["watch_dir"] == str(cams.resolve()) and first["every_s"] == 3600
    assert first["run"]["index"]["watch"] == ["a person"] and first["run"]["index"]["chunk_s"] == 5
    assert first["run"]["index"]["prompt_every_frame"] is True
    assert first["next_run_at"] == first["created_at"], "an interval schedule is due at once"
    nightly = runner.invoke(app, ["schedule", "add", "--watch", str(cams), "--cron", "0  2 * * *", "--db", db, "--ray"])
    assert nightly.exit_code == 0 and nightly.output.startswith("schedule 2: ")

    listed = json.loads(runner.invoke(app, ["schedule", "list", "--db", db, "--json"]).output)
    assert [(s["schedule_id"], s["every_s"], s["cron"]) for s in listed] == [(1, 3600, None), (2, None, "0 2 * * *")]
    assert listed[1]["run"]["ray"] is not None and listed[0]["run"]["ray"] is None
    assert [s["run"]["index"]["prompt_every_frame"] for s in listed] == [True, False]
    assert listed[1]["next_run_at"] > listed[1]["created_at"]
    text = runner.invoke(app, ["schedule", "list", "--db", db]).output
    assert "every 1h" in text and "cron '0 2 * * *'" in text

    assert runner.invoke(app, ["schedule", "remove", "1", "--db", db]).exit_code == 0
    assert [s.schedule_id for s in ScheduleStore(tmp_path / "index.duckdb").all()] == [2]
    again = runner.invoke(app, ["schedule", "remove", "1", "--db", db])
    assert again.exit_code == 2 and "no schedule 1" in again.output


@pytest.mark.parametrize("args, message", [
    (["--every", "1h", "--cron", "0 2 * * *"], "exactly one of --every and --cron"),
    ([], "exactly one of --every and --cron"),
    (["--every", "soon"], "give a duration like"),
    (["--cron", "0 2 * *"], "Wrong number of fields"),
    (["--every", "1h", "--chunk-s", "2", "--overlap-s", "2"], "must be shorter than --chunk-s"),
])
def test_bad_schedules_are_one_line_usage_errors(tmp_path, cams, args, message):
    result = runner.invoke(app, ["schedule", "add", "--watch", str(cams), "--db", str(tmp_path / "i.duckdb"), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_missing_folder_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["schedule", "add", "--watch", str(tmp_path / "nope"), "--every", "1h",
                                 "--db", str(tmp_path / "i.duckdb")])
    assert result.exit_code == 2 and "no such folder" in result.output


def test_each_run_indexes_new_or_changed_files_only(tmp_path, cams, shared_videos, tracking_checkpoint, monkeypatch):
    db = tmp_path / "index.duckdb"
    store = ScheduleStore(db)
    store.add(cams, quick_run(tracking_checkpoint), every_s=3600)
    lines: list[str] = []

    def tick():
        (outcome,) = ScheduleRunner(db, echo=lines.append).run_once()
        return outcome

    first = tick()
    assert (first.status, first.indexed, first.unchanged, first.job_id) == ("done", 1, 0, 1)
    before = dump_tables(db, skip=("jobs", "schedules"))

    # Unchanged files are answered from the index: not even probed.
    import agent.indexing.chunk_committer

    monkeypatch.setattr(agent.indexing.chunk_committer, "probe_video",
                        lambda *a, **k: pytest.fail("an unchanged file was probed"))
    second = tick()
    assert (second.status, second.indexed, second.unchanged, second.job_id) == ("done", 0, 1, 2)
    assert dump_tables(db, skip=("jobs", "schedules")) == before
    monkeypatch.undo()

    shutil.copy(shared_videos / SECOND, cams / SECOND)
    third = tick()
    assert (third.status, third.indexed, third.unchanged) == ("done", 1, 1)
    after = dump_tables(db, skip=("jobs", "schedules"))
    assert [r for r in after["track_points"] if r[1] == 1] == [r for r in before["track_points"] if r[1] == 1]

    shutil.copy(shared_videos / "01_dog.mp4", cams / FIRST)  # same name, new content
    fourth = tick()
    assert (fourth.indexed, fourth.unchanged) == (1, 1)
    reader = IndexReader(db)
    folder = cams.resolve()
    assert {v.path: v.status for v in reader.library()} == {str(folder / FIRST): "done", str(folder / SECOND): "done"}
    assert reader.video(folder / FIRST).duration_s == pytest.approx(9.66, abs=0.05)

    jobs = reader.jobs()
    assert [j.status for j in jobs] == ["done"] * 4
    assert all(j.command.startswith("sva schedule run: schedule 1") for j in jobs)
    assert [j.chunks_done for j in reversed(jobs)] == [1, 0, 1, 1]
    (schedule,) = store.all()
    assert (schedule.last_job_id, schedule.last_status, schedule.last_error) == (4, "done", None)
    assert schedule.next_run_at - schedule.last_run_at <= timedelta(hours=1)
    assert sum("indexed " in line for line in lines) == 3  # one line per analysed file, none for unchanged ones


def test_scheduler_picks_up_a_new_schedule_and_a_restart_keeps_it(tmp_path, cams, tracking_checkpoint):
    db = tmp_path / "index.duckdb"
    scheduler = subprocess.Popen(sva_cmd("schedule", "run", "--db", str(db), "--sync-s", "0.3", "--max-runs", "1"),
                                 cwd=REPO, env=sva_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # the scheduler is up with nothing to do
        assert scheduler.poll() is None
        ScheduleStore(db).add(cams, quick_run(tracking_checkpoint), every_s=3600)  # from another process
        out, err = scheduler.communicate(timeout=180)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
    assert scheduler.returncode == 0, err
    assert f"schedule 1 ({cams}): job 1 done (1 indexed, 0 unchanged, 0 failed)" in err
    (schedule,) = ScheduleStore(db).all()
    assert schedule.next_run_at == schedule.created_at + timedelta(hours=1)

    # A restarted scheduler has the schedule, knows it is not due, and runs nothing.
    restarted = run_sva("schedule", "run", "--db", str(db), "--sync-s", "0.2", "--max-ticks", "5")
    assert restarted.returncode == 0, restarted.stderr
    assert [j.job_id for j in IndexReader(db).jobs()] == [1]
    assert ScheduleStore(db).all() == [schedule]


def test_a_second_indexer_fails_fast_and_names_the_holder(tmp_path, cams, shared_videos, tracking_checkpoint):
    db = tmp_path / "index.duckdb"
    store = ScheduleStore(db)
    store.add(cams, quick_run(tracking_checkpoint), every_s=60)
    expected = (f"sva: index {db} is already being indexed (pid {os.getpid()}: sva index /cams); "
                "wait for that run to finish or stop it")
    with hold_lock(db, "indexer", "sva index /cams"):
        started = time.monotonic()
        result = run_sva("index", str(shared_videos / FIRST), "--db", str(db), "--model", str(tracking_checkpoint))
        assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == expected
        assert time.monotonic() - started < 60  # fails at once (the rest is the interpreter starting)
        assert IndexReader(db).library() == []  # readers are not affected

        (outcome,) = ScheduleRunner(db, echo=lambda line: None).run_once()
        assert (outcome.status, outcome.job_id) == ("busy", None) and outcome.error == expected[len("sva: "):]
        assert IndexReader(db).jobs() == []
    (schedule,) = store.all()
    assert schedule.last_status == "busy" and "already being indexed" in schedule.last_error

    with hold_lock(db, "scheduler", "sva schedule run"):
        second = run_sva("schedule", "run", "--db", str(db), "--once")
    assert second.returncode == 2 and "already has a scheduler" in second.stderr
