"""The indexer's lingering write connection (index/write_session.py): one open file for many calls, out of the
way of every other reader and writer (other processes and this one) within moments, nothing committed lost to a
kill -9 while it lingers."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import index.write_session as ws
from index.connection import open_read, write_transaction
from index.reader import IndexReader
from index.write_session import WriteSession

ROOT = Path(__file__).resolve().parents[1]


def _new_index(db: Path) -> None:
    with write_transaction(db) as con:
        con.execute("CREATE TABLE IF NOT EXISTS probe (n INTEGER)")


def _lingering(tmp_path: Path, linger_s: float = 60) -> tuple[Path, WriteSession]:
    db = tmp_path / "index.duckdb"
    _new_index(db)
    return db, WriteSession(db, timeout_s=10, linger_s=linger_s)


def _count(db: Path) -> int:
    with open_read(db, timeout_s=30) as con:
        return con.execute("SELECT count(*) FROM probe").fetchone()[0]


def test_calls_in_a_row_share_one_connection(tmp_path, monkeypatch):
    db = tmp_path / "index.duckdb"
    _new_index(db)
    opened = []
    connect = ws._connect_retrying
    monkeypatch.setattr(ws, "_connect_retrying", lambda *a, **k: opened.append(1) or connect(*a, **k))
    session = WriteSession(db, timeout_s=10, linger_s=60)
    for n in range(3):
        with session.transaction() as con:
            con.execute("INSERT INTO probe VALUES (?)", [n])
        with session.connection() as con:
            assert con.execute("SELECT count(*) FROM probe").fetchone()[0] == n + 1
    assert len(opened) == 1
    session.close()
    assert session._con is None and _count(db) == 3


def test_a_failed_transaction_stores_nothing_and_the_next_one_works(tmp_path):
    db, session = _lingering(tmp_path)
    with pytest.raises(ValueError):
        with session.transaction() as con:
            con.execute("INSERT INTO probe VALUES (1)")
            raise ValueError("half way")
    with session.transaction() as con:
        con.execute("INSERT INTO probe VALUES (2)")
    session.close()
    with open_read(db) as con:
        assert con.execute("SELECT n FROM probe").fetchall() == [(2,)]


@pytest.mark.parametrize("mode", ["read", "write"])
def test_a_lingering_writer_steps_aside_for_another_process(tmp_path, mode):
    db, session = _lingering(tmp_path)
    with session.transaction() as con:
        con.execute("INSERT INTO probe VALUES (1)")
    assert session._con is not None  # lingering: DuckDB's lock on the file is held
    opener = ("open_read(db, timeout_s=30)" if mode == "read" else "write_transaction(db, timeout_s=30)")
    code = ("import time; from pathlib import Path; from index.connection import open_read, write_transaction\n"
            f"db = Path({str(db)!r}); t = time.monotonic()\n"
            f"with {opener} as con: n = con.execute('SELECT count(*) FROM probe').fetchone()[0]\n"
            "print(time.monotonic() - t, n)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=90, capture_output=True,
                         text=True).stdout.split()
    waited, seen = float(out[0]), int(out[1])
    assert seen == 1  # it saw the committed row
    assert waited < 2  # the writer would linger 60 s; it let go as soon as the other process asked
    assert session._con is None
    with session.transaction() as con:  # and opens again for its next call
        con.execute("INSERT INTO probe VALUES (2)")
    session.close()
    assert _count(db) == 2


def test_readers_and_writers_in_the_same_process_take_turns_with_it(tmp_path):
    db, session = _lingering(tmp_path)
    reader = IndexReader(db, timeout_s=10, linger_s=60)
    for n in range(3):
        with session.transaction() as con:
            con.execute("INSERT INTO probe VALUES (?)", [n])
        assert reader.library() == []  # a read-only connection in this process: the writer steps aside
        with write_transaction(db, timeout_s=10) as con:  # another write connection in this process
            con.execute("INSERT INTO probe VALUES (?)", [100 + n])
    reader.close()
    session.close()
    assert _count(db) == 6


def test_an_idle_writer_lets_go_after_linger(tmp_path):
    db, session = _lingering(tmp_path, linger_s=0.2)
    with session.transaction() as con:
        con.execute("INSERT INTO probe VALUES (1)")
    time.sleep(0.8)
    assert session._con is None
    assert not (tmp_path / "index.duckdb.wal").exists()  # closing checkpointed the WAL into the file


def test_a_kill_9_while_it_lingers_loses_nothing_committed(tmp_path):
    db = tmp_path / "index.duckdb"
    _new_index(db)
    code = ("import time; from pathlib import Path; from index.write_session import WriteSession\n"
            f"s = WriteSession(Path({str(db)!r}), timeout_s=10, linger_s=600)\n"
            "for n in range(5):\n"
            "    with s.transaction() as con: con.execute('INSERT INTO probe VALUES (?)', [n])\n"
            "print('committed', flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "committed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert _count(db) == 5
