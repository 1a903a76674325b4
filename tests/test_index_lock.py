"""The indexer lock tells a live run from one that died: what the dashboard shows as indexing or interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from agent.indexing.index_lock import IndexerRunning, hold_lock, lock_held, lock_path


def test_lock_held_only_while_a_live_process_holds_it(tmp_path):
    db = tmp_path / "index.duckdb"
    assert not lock_held(db)  # no lock file at all
    with hold_lock(db, "indexer", "test"):
        assert lock_held(db)
        assert not lock_held(db, "scheduler")
    assert lock_path(db).exists() and not lock_held(db)


def test_a_killed_holder_leaves_no_live_lock(tmp_path):
    db = tmp_path / "index.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from agent.indexing.index_lock import hold_lock\n"
        f"with hold_lock({str(db)!r}, 'indexer', 'sva index (test)'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert lock_held(db)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        deadline = time.monotonic() + 10
        while lock_held(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not lock_held(db), "kill -9 releases the flock with the process"
    finally:
        holder.kill()
        holder.wait()


def test_a_second_holder_is_refused_at_once_with_the_first_ones_pid_and_command(tmp_path):
    db = tmp_path / "index.duckdb"
    with hold_lock(db, "indexer", "sva index cams/ --db index.duckdb"):
        refused = subprocess.run([sys.executable, "-c", (
            "import sys\n"
            "from agent.indexing.index_lock import IndexerRunning, hold_lock\n"
            "try:\n"
            f"    with hold_lock({str(db)!r}, 'indexer', 'second'):\n"
            "        print('held')\n"
            "except IndexerRunning as exc:\n"
            "    print(exc)\n")], capture_output=True, text=True, timeout=60)
        assert refused.stdout.strip() == (f"index {db} is already being indexed (pid {os.getpid()}: sva index cams/ "
                                          "--db index.duckdb); wait for that run to finish or stop it")
        with pytest.raises(IndexerRunning, match=f"pid {os.getpid()}"):  # also within this process
            with hold_lock(db, "indexer", "again"):
                pass
    assert lock_path(db).read_text() == ""  # released: no holder is named any more
    with hold_lock(db, "indexer", "third"):  # and the next run gets it
        assert lock_held(db)
