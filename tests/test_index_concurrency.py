"""A reader in one process while a writer commits in another: every read succeeds, sees only whole chunks,
and never sees the set of done chunks shrink; the writer is not starved. Plus the busy timeouts both ways."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.connection import open_read, write_transaction
from index.errors import IndexBusy
from index.reader import IndexReader
from tests import index_fixtures as fx

ROOT = Path(__file__).resolve().parents[1]
N_CHUNKS = 40

_CONSISTENCY = """
SELECT c.chunk_index, c.status,
       (SELECT count(*) FROM track_points t WHERE t.video_id = c.video_id AND t.chunk_index = c.chunk_index),
       (SELECT count(*) FROM phrases p WHERE p.video_id = c.video_id AND p.chunk_index = c.chunk_index),
       (SELECT count(*) FROM text_refs e WHERE e.video_id = c.video_id AND e.chunk_index = c.chunk_index),
       (SELECT count(*) FROM text_refs e ANTI JOIN texts USING (text_id)
        WHERE e.video_id = c.video_id AND e.chunk_index = c.chunk_index)
FROM chunks c ORDER BY c.chunk_index
"""


def hold(db, mode, seconds):
    """A child process that holds the index open (read or write) for `seconds`, printing 'held' once it does."""
    code = (
        "import sys, time; from pathlib import Path; from index.connection import open_read, write_transaction\n"
        f"ctx = open_read(Path({str(db)!r})) if {mode!r} == 'read' else write_transaction(Path({str(db)!r}))\n"
        f"with ctx:\n    print('held', flush=True); time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_reader_sees_whole_chunks_growing_while_another_process_writes(tmp_path):
    video = fx.make_video_file(tmp_path / "cam.mp4")
    db = tmp_path / "index.duckdb"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.index_fixtures", str(db), str(video), "--chunks", str(N_CHUNKS)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    started = time.monotonic()
    reader = IndexReader(db, embedder=fx.HashEmbedder())
    reads, seen_done, views = 0, 0, set()
    while writer.poll() is None or reads == 0:
        if not db.exists():
            time.sleep(0.01)
            continue
        with reader.session():
            rows = reader._con.execute(_CONSISTENCY).fetchall()
            hits = reader.search("a red car drives past the gate", k=5)
        reads += 1
        done = [k for k, status, *_ in rows if status == "done"]
        for k, status, points, phrases, refs, refs_without_text in rows:
            expected = fx.expected_rows_per_chunk(k) if status == "done" else dict.fromkeys(
                ("track_points", "phrases", "text_refs"), 0)
            assert (points, phrases, refs) == (
                expected["track_points"], expected["phrases"], expected["text_refs"]), (k, status)
            assert refs_without_text == 0
        assert done == list(range(len(done)))
        assert len(done) >= seen_done, "a reader saw committed chunks disappear"
        assert all(h.chunk_index in done for h in hits)
        seen_done = len(done)
        views.add(len(done))
    elapsed = time.monotonic() - started
    assert writer.wait() == 0, writer.stderr.read()
    with open_read(db) as con:
        assert con.execute("SELECT count(*) FROM chunks WHERE status = 'done'").fetchone()[0] == N_CHUNKS
    # The reads really interleaved with the commits (not all before or after), and the writer kept going.
    assert len(views - {0, N_CHUNKS}) >= 5, views
    assert elapsed < 60


def test_writer_waits_for_a_reader_then_proceeds(tmp_path):
    db = tmp_path / "index.duckdb"
    with write_transaction(db):
        pass
    holder = hold(db, "read", 1.5)
    try:
        with pytest.raises(IndexBusy, match="busy"):
            with write_transaction(db, timeout_s=0.3):
                pass
        t0 = time.monotonic()
        with write_transaction(db, timeout_s=20) as con:
            con.execute("SELECT 1")
        assert time.monotonic() - t0 > 0.5  # it waited for the reader rather than failing
    finally:
        holder.wait(timeout=20)


def test_reader_waits_for_a_writer_then_proceeds(tmp_path):
    db = tmp_path / "index.duckdb"
    with write_transaction(db):
        pass
    holder = hold(db, "write", 1.5)
    try:
        with pytest.raises(IndexBusy) as err:
            IndexReader(db, timeout_s=0.3).library()
        assert "\n" not in str(err.value)
        assert IndexReader(db, timeout_s=20).library() == []
    finally:
        holder.wait(timeout=20)


def test_a_session_in_the_same_process_blocks_writes_until_it_ends(tmp_path):
    db = tmp_path / "index.duckdb"
    with write_transaction(db):
        pass
    reader = IndexReader(db)
    with reader.session():
        with pytest.raises(IndexBusy):
            with write_transaction(db, timeout_s=0.2):
                pass
    with write_transaction(db, timeout_s=1):
        pass


def test_an_idle_reader_keeps_its_connection_but_steps_aside_for_a_writer(tmp_path):
    db = tmp_path / "index.duckdb"
    with write_transaction(db):
        pass
    reader = IndexReader(db, linger_s=60)
    reader.library()
    kept = reader._con
    reader.library()
    assert kept is not None and reader._con is kept  # warm: same connection, same cache
    code = ("import time; from pathlib import Path; from index.connection import write_transaction\n"
            "t = time.monotonic()\n"
            f"with write_transaction(Path({str(db)!r}), timeout_s=30) as con: con.execute('SELECT 1')\n"
            "print(time.monotonic() - t)\n")
    waited = float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=90,
                                  capture_output=True, text=True).stdout)
    assert waited < 2  # the reader would linger 60 s; it let go as soon as the writer showed up
    assert reader._con is None
    assert reader.library() == []


def test_an_idle_reader_lets_go_after_linger(tmp_path):
    db = tmp_path / "index.duckdb"
    with write_transaction(db):
        pass
    reader = IndexReader(db, linger_s=0.2)
    reader.library()
    time.sleep(0.6)
    assert reader._con is None
    no_linger = IndexReader(db, linger_s=0)
    no_linger.library()
    assert no_linger._con is None
