"""The query path cannot be steered by user text: parameters only, and connections that cannot reach files."""

import ast
from pathlib import Path

import duckdb
import pytest

from index.connection import open_read, write_transaction
from index.errors import VideoNotIndexed
from index.reader import IndexReader
from index.writer import IndexWriter
from tests import index_fixtures as fx

INDEX_DIR = Path(__file__).resolve().parents[1] / "index"

NASTY = [
    "'; DROP TABLE videos; --",
    "\"; DELETE FROM chunks; --",
    "x') UNION SELECT * FROM read_csv('/etc/passwd') --",
    "read_csv('/etc/passwd')",
    "$q; ATTACH '/tmp/evil.duckdb'",
]


@pytest.fixture
def db(tmp_path):
    db = tmp_path / "index.duckdb"
    video = fx.make_video_file(tmp_path / "cam.mp4")
    w = IndexWriter(db, embedder=fx.HashEmbedder())
    plan = w.begin_video(video, fx.facts(2), fx.chunk_spans(2))
    for k in plan.pending_chunks:
        w.commit_chunk(plan.video_id, fx.analysis(str(video), k))
    return db


@pytest.mark.parametrize("text", NASTY)
def test_hostile_text_in_every_reader_argument_is_only_data(db, text):
    before = fx.dump_tables(db)
    r = IndexReader(db, embedder=fx.HashEmbedder())
    assert len(r.search(text, k=3)) == 3
    assert r.search(text, k=3, kinds=[text]) == []
    assert r.find_moments(text, k=3)
    for call in (lambda: r.search("car", video=text), lambda: r.objects(text), lambda: r.chunks(text),
                 lambda: r.tracks_in_range(text, 0, 10)):
        with pytest.raises(VideoNotIndexed):
            call()
    assert fx.dump_tables(db) == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "COPY (SELECT 1) TO '/tmp/sva_should_not_exist.csv'",
        "ATTACH '/tmp/sva_should_not_exist.duckdb' AS evil",
        "INSTALL httpfs",
    ],
)
def test_connections_cannot_reach_other_files(db, sql):
    for opener in (open_read, write_transaction):
        with opener(db) as con:
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    assert not Path("/tmp/sva_should_not_exist.csv").exists()


def test_external_access_cannot_be_switched_back_on(db):
    with open_read(db) as con:
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False


def _sql_argument_problems(path: Path) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "execute":
            if not node.args:
                continue
            sql = node.args[0]
            built = isinstance(sql, ast.JoinedStr) or isinstance(sql, ast.BinOp) or (
                isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr in ("format", "join")
            )
            if built:
                problems.append(f"{path.name}:{node.lineno}")
    return problems


def test_no_sql_is_built_at_call_sites_in_the_index_package():
    """SQL text is a literal or a module constant; values always travel as parameters."""
    problems = [p for f in sorted(INDEX_DIR.glob("*.py")) for p in _sql_argument_problems(f)]
    assert problems == []


def test_the_sql_check_catches_built_sql(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("con.execute(f'SELECT {x}')\ncon.execute('SELECT ' + x)\ncon.execute('SELECT {}'.format(x))\n"
                   "con.execute('SELECT ?', [x])\n")
    assert _sql_argument_problems(bad) == ["bad.py:1", "bad.py:2", "bad.py:3"]
