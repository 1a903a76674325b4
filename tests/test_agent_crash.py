"""`sva index` killed with a real SIGKILL part way through a batch, then rerun: the DB ends with exactly the
rows of an uninterrupted run (the `indexed_library` fixture) — no duplicate, no gap."""

from __future__ import annotations

import signal
import subprocess
import time

from index.reader import IndexReader
from tests.agent_fixtures import REPO, index_args, run_sva, sva_cmd, sva_env
from tests.index_fixtures import dump_tables

def chunks_done(db) -> int:
    if not db.exists():
        return 0
    try:
        return sum(v.chunks_done for v in IndexReader(db, timeout_s=1, linger_s=0).library())
    except Exception:  # the writer may hold the file for a moment; try again on the next poll
        return 0


def test_kill_9_mid_batch_then_rerun_gives_the_uninterrupted_db(indexed_library, tracking_checkpoint, tmp_path):
    reference_db, videos, _ = indexed_library
    db = tmp_path / "index.duckdb"
    args = index_args(db, tracking_checkpoint, videos)
    proc = subprocess.Popen(sva_cmd(*args), cwd=REPO, env=sva_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        # Kill once the first video is done and the second is under way: a resume must cross a video boundary.
        while chunks_done(db) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = chunks_done(db)
    assert 4 <= killed_at < 9

    result = run_sva(*args)
    assert result.returncode == 0, result.stderr
    assert dump_tables(db) == dump_tables(reference_db)  # every table but jobs
    jobs = IndexReader(db).jobs()
    assert [j.status for j in jobs] == ["done", "interrupted"]
