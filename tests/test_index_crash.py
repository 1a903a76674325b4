"""kill -9 at any point, rerun the same command: the index ends exactly as an uninterrupted run leaves it.

A real writer process (tests/index_fixtures.py) is killed inside a chunk's transaction and at random moments
(mid-commit, mid-checkpoint, mid-open), then rerun; after every kill the file must open, hold only complete
chunks forming a prefix, and the rerun must resume at the first unfinished chunk.
"""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.connection import connect_read

from tests import index_fixtures as fx

ROOT = Path(__file__).resolve().parents[1]
N_CHUNKS = 24


def writer_cmd(db, video, *extra):
    return [sys.executable, "-m", "tests.index_fixtures", str(db), str(video), "--chunks", str(N_CHUNKS), *extra]


def run_writer(db, video, *extra):
    return subprocess.run(writer_cmd(db, video, *extra), cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the same command on the same video, into its own file."""
    d = tmp_path_factory.mktemp("crash")
    video = fx.make_video_file(d / "cam.mp4")
    db = d / "reference.duckdb"
    done = run_writer(db, video)
    assert done.returncode == 0, done.stderr
    return video, fx.dump_tables(db)


def check_only_complete_prefix(db) -> list[int]:
    """Done chunks are 0..m-1, each with all its rows; other chunks have none. Returns the done indices."""
    con = connect_read(db)
    try:
        done = [r[0] for r in con.execute(
            "SELECT chunk_index FROM chunks WHERE status = 'done' ORDER BY chunk_index").fetchall()]
        assert done == list(range(len(done)))
        for table in ("track_points", "phrases", "text_refs"):
            counts = dict(con.execute(f"SELECT chunk_index, count(*) FROM {table} GROUP BY chunk_index").fetchall())
            assert set(counts) == set(done), table
            for k in done:
                assert counts[k] == fx.expected_rows_per_chunk(k)[table], (table, k)
        return done
    finally:
        con.close()


def pending_after_begin(db, video) -> list[int]:
    from index.writer import IndexWriter

    return IndexWriter(db, embedder=fx.HashEmbedder()).begin_video(
        video, fx.facts(N_CHUNKS), fx.chunk_spans(N_CHUNKS)).pending_chunks


def test_killed_inside_a_chunk_transaction_resumes_exactly(reference):
    video, expected = reference
    db = video.with_name("killed_in_transaction.duckdb")
    for die_in in (5, 11):
        killed = run_writer(db, video, "--die-in-chunk", str(die_in))
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert check_only_complete_prefix(db) == list(range(die_in))
        assert pending_after_begin(db, video) == list(range(die_in, N_CHUNKS))
    finished = run_writer(db, video)
    assert finished.returncode == 0, finished.stderr
    assert fx.dump_tables(db) == expected
    con = connect_read(db)
    statuses = [r[0] for r in con.execute("SELECT status FROM jobs ORDER BY job_id").fetchall()]
    con.close()
    assert statuses == ["interrupted", "interrupted", "done"]


def test_killed_at_random_moments_resumes_exactly(reference):
    video, expected = reference
    db = video.with_name("killed_at_random.duckdb")
    rng = random.Random(4)
    progress = []
    for _ in range(5):
        proc = subprocess.Popen(writer_cmd(db, video, "--progress"), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        # Let 1-3 chunks commit, then kill somewhere inside the next open/commit/checkpoint/close.
        for _ in range(rng.randint(1, 3)):
            assert proc.stdout.readline().strip().isdigit()
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        proc.stdout.close()
        progress.append(len(check_only_complete_prefix(db)))
        assert pending_after_begin(db, video) == list(range(progress[-1], N_CHUNKS))
    assert progress == sorted(progress) and progress[-1] < N_CHUNKS
    finished = run_writer(db, video)
    assert finished.returncode == 0, finished.stderr
    assert fx.dump_tables(db) == expected
