"""`sva backup` and `sva backup --restore` (#25): a backup taken while a writer commits is a whole index (every
chunk it lists as done has all its rows) and does not break the writer; a damaged index is put back from a backup
with the damaged file kept beside it; bad backups and targets are refused in one line with nothing touched."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from index.backup import summarize, write_backup
from index.connection import connect_file
from tests import index_fixtures as fx
from tests.agent_fixtures import REPO, run_sva
from tests.index_fixtures import dump_tables

N_CHUNKS = 30

# Per chunk: its status and how many rows of each kind it has (a done chunk must have all of them).
_CHUNK_ROWS = """
SELECT c.chunk_index, c.status,
       (SELECT count(*) FROM track_points t WHERE t.video_id = c.video_id AND t.chunk_index = c.chunk_index),
       (SELECT count(*) FROM phrases p WHERE p.video_id = c.video_id AND p.chunk_index = c.chunk_index),
       (SELECT count(*) FROM text_refs e WHERE e.video_id = c.video_id AND e.chunk_index = c.chunk_index)
FROM chunks c ORDER BY c.chunk_index
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _whole_chunks(db: Path) -> int:
    """Done chunks of a backup, after checking each holds exactly its rows and the rest hold none."""
    con = connect_file(db)
    try:
        rows = con.execute(_CHUNK_ROWS).fetchall()
    finally:
        con.close()
    done = [k for k, status, *_ in rows if status == "done"]
    for k, status, points, phrases, refs in rows:
        want = fx.expected_rows_per_chunk(k) if status == "done" else dict.fromkeys(("track_points", "phrases", "text_refs"), 0)
        assert (points, phrases, refs) == (want["track_points"], want["phrases"], want["text_refs"]), (db, k, status)
    assert done == list(range(len(done)))
    return len(done)


def test_backups_while_a_writer_commits_are_whole_and_the_writer_finishes(tmp_path):
    video = fx.make_video_file(tmp_path / "cam.mp4")
    db = tmp_path / "index.duckdb"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.index_fixtures", str(db), str(video), "--chunks", str(N_CHUNKS), "--sleep", "0.02"],
        cwd=REPO, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        while writer.poll() is None:
            if not db.exists():
                continue
            copy = tmp_path / f"backup-{len(seen)}.duckdb"
            write_backup(db, copy)
            seen.append(_whole_chunks(copy))
    finally:
        _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert len(set(seen)) >= 2, f"no backup fell between commits: {seen}"  # the copies were taken mid-run
    assert seen == sorted(seen)
    final = write_backup(db, tmp_path / "final.duckdb")
    assert final.rows["chunks"] == N_CHUNKS
    assert dump_tables(tmp_path / "final.duckdb", skip=()) == dump_tables(db, skip=())


def test_a_damaged_index_is_restored_from_its_backup_and_kept_aside(tmp_path):
    video = fx.make_video_file(tmp_path / "cam.mp4")
    db, copy = tmp_path / "index.duckdb", tmp_path / "copy.duckdb"
    fx.run_writer(db, video, 4)

    made = run_sva("backup", "--db", str(db), "--out", str(copy))
    assert made.returncode == 0, made.stderr
    assert made.stderr.strip() == f"sva: backed up {db} to {copy} (schema v{summarize(db).schema_version}, 1 video(s), 4 chunk(s), {sum(summarize(db).rows.values())} rows)"
    before = dump_tables(db, skip=())

    again = run_sva("backup", "--db", str(db), "--out", str(copy))  # never written over
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr

    with open(db, "r+b") as f:  # damage it
        f.truncate(db.stat().st_size // 3)
    damaged = _sha(db)
    asked = run_sva("query", "every moment a car drives", "--no-verify", "--db", str(db))
    assert asked.returncode == 2 and f"sva backup --restore BACKUP --db {db}" in asked.stderr

    not_an_index = tmp_path / "notes.duckdb"
    not_an_index.write_text("hello")
    refused = run_sva("backup", "--restore", str(not_an_index), "--db", str(db))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(f"sva: {not_an_index}: not a readable sva index (")
    assert _sha(db) == damaged

    restored = run_sva("backup", "--restore", str(copy), "--db", str(db))
    assert restored.returncode == 0, restored.stderr
    assert dump_tables(db, skip=()) == before
    [aside] = tmp_path.glob("index.duckdb.replaced-*")
    assert _sha(aside) == damaged, "the damaged file must be kept as it was"
    assert f"the file it replaced is kept as {aside}" in restored.stderr
