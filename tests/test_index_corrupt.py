"""A damaged index file (truncated, overwritten in the middle, not a database): every command that opens it says
so in one line with how to recover, exit 2, no traceback, and leaves the file byte for byte as it was (#25)."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from tests.agent_fixtures import run_sva

DAMAGE = ("truncated", "overwritten", "not a database")


def _damage(src, dst, kind: str) -> None:
    if kind == "not a database":
        dst.write_text("hello, I am a text file")
        return
    shutil.copy(src, dst)
    size = dst.stat().st_size
    with open(dst, "r+b") as f:
        if kind == "truncated":
            f.truncate(size // 3)
        else:
            f.seek(size // 3)
            f.write(os.urandom(size // 3))


@pytest.mark.parametrize("kind", DAMAGE)
def test_every_command_says_the_index_is_damaged_in_one_line_and_leaves_it(kind, indexed_library, tmp_path,
                                                                         shared_videos):
    good, _, _ = indexed_library
    db = tmp_path / "index.duckdb"
    _damage(good, db, kind)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    commands = {
        "query": ["query", "every moment the dog runs", "--no-verify", "--db", str(db)],
        "export": ["export", "--format", "coco", "--out", str(tmp_path / "x.json"), "--db", str(db)],
        "index": ["index", str(shared_videos / "06_pingpong.mp4"), "--db", str(db), "--model", "demo"],
        "backup": ["backup", "--db", str(db), "--out", str(tmp_path / "copy.duckdb")],
    }
    for name, args in commands.items():
        result = run_sva(*args)
        assert "Traceback" not in result.stderr, (name, result.stderr[-2000:])
        if result.returncode == 0:  # an overwritten block the command never read
            assert kind == "overwritten", name
            continue
        assert result.returncode == 2, (name, result.stderr[-2000:])
        [line] = result.stderr.splitlines()
        assert line.startswith(f"sva: {db}: not a readable sva index (") and "To recover:" in line, line
        assert hashlib.sha256(db.read_bytes()).hexdigest() == digest, f"{name} changed the damaged file"
    if kind == "overwritten":
        assert run_sva(*commands["query"]).returncode == 2, "the question reads the damaged part"
