"""`sva index --rebuild` (#25): a new index from the videos, the old file set aside (never deleted) and the
operator's accounts, roots and schedules carried over; on a damaged index it asks, in one line, for what it cannot
read from the file (the videos, the model) and touches nothing."""

from __future__ import annotations

import hashlib
import shutil

from index.access import AccessStore
from tests.agent_fixtures import INDEX_ARGS, run_sva
from tests.index_fixtures import dump_tables

OPERATOR = ("access_accounts", "access_roots", "schedules")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rebuild_indexes_the_listed_videos_again_and_keeps_the_operator_rows(indexed_library, tracking_checkpoint,
                                                                            tmp_path):
    reference_db, videos, _ = indexed_library
    db = tmp_path / "index.duckdb"
    shutil.copy(reference_db, db)
    store = AccessStore(db)
    store.add_account("ops", "admin", "a long passphrase")
    store.set_roots([videos[0].parent])
    old = _sha(db)
    operator_rows = {t: rows for t, rows in dump_tables(db).items() if t in OPERATOR}

    result = run_sva("index", "--rebuild", "--db", str(db), "--model", str(tracking_checkpoint), *INDEX_ARGS)

    assert result.returncode == 0, result.stderr
    [aside] = tmp_path.glob("index.duckdb.before-rebuild-*")
    assert _sha(aside) == old
    assert f"sva: set the old index aside as {aside} (kept, not deleted); 2 account, root and schedule row(s) " \
           "carried over" in result.stderr
    rebuilt = dump_tables(db)
    assert {t: rows for t, rows in rebuilt.items() if t in OPERATOR} == operator_rows
    assert {t: r for t, r in rebuilt.items() if t not in OPERATOR} == \
           {t: r for t, r in dump_tables(reference_db).items() if t not in OPERATOR}


def test_rebuild_of_a_damaged_index_asks_for_what_it_cannot_read(indexed_library, tracking_checkpoint, tmp_path):
    reference_db, videos, _ = indexed_library
    db = tmp_path / "index.duckdb"
    db.write_text("overwritten by something else entirely")  # nothing of the index is left to read
    damaged = _sha(db)

    no_videos = run_sva("index", "--rebuild", "--db", str(db), "--model", str(tracking_checkpoint))
    assert no_videos.returncode == 2 and no_videos.stderr.count("\n") == 1, no_videos.stderr
    assert "cannot be listed; name them: `sva index --rebuild FOLDER..." in no_videos.stderr

    no_model = run_sva("index", "--rebuild", str(videos[0]), "--db", str(db))
    assert no_model.returncode == 2 and no_model.stderr.count("\n") == 1, no_model.stderr
    assert "the model it was built with is unknown; to index the videos again name it: `sva index --rebuild" in no_model.stderr

    assert _sha(db) == damaged and not list(tmp_path.glob("index.duckdb.*-*"))
