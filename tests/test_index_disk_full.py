"""The disk fills while `sva index` commits (#25): the run stops with one line saying so, the index stays readable
and consistent (every chunk it lists as done has its rows, nothing half-stored), and the same command run again
when space returns ends with exactly the rows of an uninterrupted run.

The full disk is the process's file-size limit (RLIMIT_FSIZE, soft only so the test process can lift it): a write
past it fails with EFBIG, as a write to a full disk fails with ENOSPC. Python ignores SIGXFSZ, so `sva` sees the
error instead of being killed."""

from __future__ import annotations

import resource
import subprocess

from index.reader import IndexReader
from tests.agent_fixtures import REPO, index_args, run_sva, sva_cmd, sva_env
from tests.index_fixtures import dump_tables


def _run_with_file_size_limit(args: list[str], limit_bytes: int) -> subprocess.CompletedProcess[str]:
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))

    return subprocess.run(sva_cmd(*args), cwd=REPO, env=sva_env(), capture_output=True, text=True, timeout=300,
                          preexec_fn=limit)


def test_disk_full_mid_run_stops_in_one_line_keeps_the_index_and_resumes(indexed_library, tracking_checkpoint,
                                                                          tmp_path):
    reference_db, videos, _ = indexed_library
    db = tmp_path / "index.duckdb"
    args = index_args(db, tracking_checkpoint, videos)
    first = run_sva(*index_args(db, tracking_checkpoint, videos[:1]))
    assert first.returncode == 0, first.stderr
    # No file may reach 120 kB: the index file (several MB already) cannot take a checkpoint, so committed chunks
    # stay in the WAL (tens of kB each here), which fills after a few of the six chunks left.
    full = _run_with_file_size_limit(args, 120_000)

    assert full.returncode == 2, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    lines = [line for line in full.stderr.splitlines() if line.startswith("sva: ")]
    assert len(lines) == 1 and f"sva: {db}: no space left to write the index (" in lines[0], full.stderr[-3000:]
    assert f"{db}.wal: file too large)" in lines[0] and "run the same command again to resume" in lines[0]

    reader = IndexReader(db, timeout_s=5, linger_s=0)
    library = {v.path: v for v in reader.library()}
    reader.close()
    stopped_at = sum(v.chunks_done for v in library.values())
    assert library[str(videos[0].resolve())].status == "done"
    assert stopped_at < 9, "the limit never stopped the run"
    # Consistent: what is done is stored whole, what is not has no rows (the reference's rows for the done chunks).
    stored, reference = dump_tables(db), dump_tables(reference_db)
    done = {(r[0], r[1]) for r in _chunk_rows(db) if r[2] == "done"}
    assert len(done) == stopped_at
    assert {(r[0], r[1]) for r in stored["phrases"]} <= done
    assert set(stored["phrases"]) <= set(reference["phrases"])

    again = run_sva(*args)
    assert again.returncode == 0, again.stderr
    assert dump_tables(db) == dump_tables(reference_db)  # every table but jobs
    assert [j.status for j in IndexReader(db).jobs()] == ["done", "failed", "done"]


def _chunk_rows(db) -> list[tuple]:
    from index.connection import open_read

    with open_read(db) as con:
        return con.execute("SELECT video_id, chunk_index, status FROM chunks").fetchall()


def test_every_kind_of_no_space_is_one_line_and_other_errors_are_not():
    import errno
    from pathlib import Path

    import duckdb

    from index.connection import disk_full

    db = Path("/data/index.duckdb")
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        error = disk_full(db, OSError(code, "whatever the OS says", "/data/index.duckdb.wal"))
        assert error is not None and "(/data/index.duckdb.wal: whatever the OS says)" in str(error)
    said = disk_full(db, duckdb.IOException('Could not write file "/data/index.duckdb": No space left on device'))
    assert said is not None and "(/data/index.duckdb: no space left on device)" in str(said)
    assert disk_full(db, OSError(errno.EACCES, "Permission denied")) is None
    assert disk_full(db, duckdb.IOException("Could not set lock on file")) is None
