"""The writer's contract, in one process: plans, all-or-nothing chunks, reruns, changed files, failures, jobs,
schema migrations, and the reader's view of what was written."""

import os
import time

import duckdb
import numpy as np
import pytest

from index.connection import open_read, open_write
from index.errors import IndexTooNew, VideoNotIndexed, VideoUnreadable
from index.reader import IndexReader
from index.schema import CURRENT_VERSION, migrate
from index.writer import IndexWriter
from tests import index_fixtures as fx


@pytest.fixture
def paths(tmp_path):
    return tmp_path / "index.duckdb", fx.make_video_file(tmp_path / "cam1.mp4")


def index_chunks(writer, video, n, upto=None):
    plan = writer.begin_video(video, fx.facts(n), fx.chunk_spans(n))
    for k in plan.pending_chunks[:upto]:
        prev = writer.chunk_object_ids(plan.video_id, k - 1)
        writer.commit_chunk(plan.video_id, fx.analysis(str(video), k), links=fx.links(k, prev),
                            descriptions=fx.descriptions(k))
    return plan


def writer_and_reader(db):
    emb = fx.HashEmbedder()
    return IndexWriter(db, embedder=emb), IndexReader(db, embedder=emb)


def count(db, sql, params=()):
    with open_read(db) as con:
        return con.execute(sql, list(params)).fetchone()[0]


def test_new_video_plans_every_chunk_and_resume_plans_the_rest(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    plan = index_chunks(w, video, 6, upto=2)
    assert plan.state == "new" and plan.pending_chunks == list(range(6))
    again = w.begin_video(video, fx.facts(6), fx.chunk_spans(6))
    assert again.state == "resumed" and again.pending_chunks == [2, 3, 4, 5]
    assert again.video_id == plan.video_id
    assert r.video(video).status == "indexing"


def test_unchanged_rerun_is_a_no_op_that_does_not_touch_the_file(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    index_chunks(w, video, 3)
    assert r.video(video).status == "done"
    before = (db.stat().st_mtime_ns, db.stat().st_size, fx.dump_tables(db))
    time.sleep(0.01)
    plan = w.begin_video(video, fx.facts(3), fx.chunk_spans(3))
    assert plan.state == "unchanged" and plan.pending_chunks == []
    assert (db.stat().st_mtime_ns, db.stat().st_size, fx.dump_tables(db)) == before


def test_touched_but_identical_file_is_rehashed_and_stays_done(paths):
    db, video = paths
    w, _ = writer_and_reader(db)
    index_chunks(w, video, 3)
    rows = fx.dump_tables(db)
    os.utime(video, ns=(1, 1))
    plan = w.begin_video(video, fx.facts(3), fx.chunk_spans(3))
    assert plan.state == "unchanged"
    after = fx.dump_tables(db)
    assert {t: v for t, v in after.items() if t != "videos"} == {t: v for t, v in rows.items() if t != "videos"}


def test_changed_file_is_reindexed_cleanly(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    first = index_chunks(w, video, 3)
    fx.make_video_file(video, seed=1)
    plan = w.begin_video(video, fx.facts(4), fx.chunk_spans(4))
    assert plan.state == "changed" and plan.pending_chunks == [0, 1, 2, 3]
    assert plan.video_id == first.video_id and plan.content_hash != first.content_hash
    for table in ("objects", "track_points", "phrases", "text_refs", "texts"):
        assert count(db, f"SELECT count(*) FROM {table}") == 0
    index_chunks(w, video, 4)
    fresh_db = db.with_name("fresh.duckdb")
    index_chunks(IndexWriter(fresh_db, embedder=fx.HashEmbedder()), video, 4)
    assert fx.dump_tables(db) == fx.dump_tables(fresh_db)


def test_new_chunking_of_the_same_file_is_a_change(paths):
    db, video = paths
    w, _ = writer_and_reader(db)
    index_chunks(w, video, 3)
    plan = w.begin_video(video, fx.facts(3), [(0.0, 15.0), (15.0, 30.0)])
    assert plan.state == "changed" and plan.pending_chunks == [0, 1]


def test_committing_a_done_chunk_again_changes_nothing(paths):
    db, video = paths
    w, _ = writer_and_reader(db)
    plan = index_chunks(w, video, 2)
    before = fx.dump_tables(db)
    ids = w.commit_chunk(plan.video_id, fx.analysis(str(video), 1), links=[None] * 3)
    assert ids == w.chunk_object_ids(plan.video_id, 1)
    assert fx.dump_tables(db) == before


def test_a_failing_chunk_leaves_no_rows_at_all(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    plan = index_chunks(w, video, 3, upto=1)
    other = fx.make_video_file(db.with_name("other.mp4"), seed=2)
    other_plan = index_chunks(w, other, 1)
    foreign = w.chunk_object_ids(other_plan.video_id, 0)[0]
    with pytest.raises(ValueError, match="not an object of video"):
        # phrase 0 is valid and inserted first; phrase 2's bad link must roll the whole chunk back
        w.commit_chunk(plan.video_id, fx.analysis(str(video), 1), links=[None, None, foreign])
    assert count(db, "SELECT count(*) FROM objects WHERE video_id = ? AND first_chunk = 1", [plan.video_id]) == 0
    assert count(db, "SELECT count(*) FROM track_points WHERE video_id = ? AND chunk_index = 1", [plan.video_id]) == 0
    assert [c.status for c in r.chunks(video)] == ["done", "pending", "pending"]


def test_commit_rejects_mismatched_spans_and_unknown_chunks(paths):
    db, video = paths
    w, _ = writer_and_reader(db)
    plan = w.begin_video(video, fx.facts(2), fx.chunk_spans(2))
    bad = fx.analysis(str(video), 1).model_copy(update={"start_s": 11.0})
    with pytest.raises(ValueError, match="spans"):
        w.commit_chunk(plan.video_id, bad)
    with pytest.raises(ValueError, match="no chunk 5"):
        w.commit_chunk(plan.video_id, fx.analysis(str(video), 5))
    with pytest.raises(ValueError, match="links"):
        w.commit_chunk(plan.video_id, fx.analysis(str(video), 0), links=[None])


def test_object_links_span_chunks_and_ids_are_derived(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    plan = index_chunks(w, video, 3)
    ids0 = w.chunk_object_ids(plan.video_id, 0)
    ids2 = w.chunk_object_ids(plan.video_id, 2)
    assert ids0 == [1_000000000000, 1_000000000001, 1_000000000002]
    assert ids2[0] == ids0[0] and ids2[1:] == [1_000000020001, 1_000000020002]
    car = next(o for o in r.objects(video) if o.object_id == ids0[0])
    assert car.first_seen_s < 10 and car.last_seen_s > 20
    assert car.points == sum(len(fx.present_frames(k, 0)) for k in range(3))
    described = next(o for o in r.objects(video) if o.object_id == ids0[1])
    assert described.description == "object 1 first described in chunk 0"


def test_repeated_texts_are_stored_once_and_orphans_go_with_their_video(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    index_chunks(w, video, 3)
    refs = count(db, "SELECT count(*) FROM text_refs")
    texts = count(db, "SELECT count(*) FROM texts")
    assert refs == sum(fx.expected_rows_per_chunk(k)["text_refs"] for k in range(3))
    assert texts < refs  # "a red car" is phrase 0 of every chunk
    cars = r.search("a red car", k=10, kinds=["phrase"])
    assert [(h.chunk_index, h.text) for h in cars[:3]] == [(0, "a red car"), (1, "a red car"), (2, "a red car")]
    w.remove_video(video)
    assert count(db, "SELECT count(*) FROM texts") == 0


def test_track_points_round_trip_masks_exactly(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    plan = index_chunks(w, video, 2)
    oid = w.chunk_object_ids(plan.video_id, 1)[2]
    points = r.tracks(oid)
    original = [p for p in fx.analysis(str(video), 1).phrases[2].masklet.points if p.present]
    assert [p.time_s for p in points] == [p.time_s for p in original]
    for got, want in zip(points, original):
        assert got.box == want.box and got.area == want.area
        assert np.array_equal(got.mask.decode(), want.mask.decode())
    window = r.tracks(oid, 12.0, 14.0)
    assert window and all(12.0 <= p.time_s <= 14.0 for p in window)
    overlay = r.tracks_in_range(video, 10.0, 10.5)
    assert set(overlay) <= set(w.chunk_object_ids(plan.video_id, 1))
    assert r.tracks(123) == []


def test_failed_chunk_makes_video_partial_and_is_retried(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    plan = w.begin_video(video, fx.facts(3), fx.chunk_spans(3))
    job = w.start_job("test", videos_total=1)
    for k in (0, 2):
        w.commit_chunk(plan.video_id, fx.analysis(str(video), k), job_id=job)
    w.mark_chunk_failed(plan.video_id, 1, "decoder hiccup", job_id=job)
    w.finish_job(job, "partial")
    summary = r.video(video)
    assert (summary.status, summary.chunks_done, summary.chunks_failed) == ("partial", 2, 1)
    assert r.chunks(video)[1].error == "decoder hiccup"
    rerun = w.begin_video(video, fx.facts(3), fx.chunk_spans(3))
    assert rerun.state == "resumed" and rerun.pending_chunks == [1]
    w.commit_chunk(plan.video_id, fx.analysis(str(video), 1))
    assert r.video(video).status == "done"
    (j,) = r.jobs()
    assert (j.status, j.chunks_done, j.chunks_failed, j.videos_done) == ("partial", 2, 1, 0)


def test_whole_video_failure_is_recorded_even_before_begin(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    w.mark_video_failed(video, "moov atom not found")
    s = r.video(video)
    assert (s.status, s.error, s.chunks_total) == ("failed", "moov atom not found", 0)
    plan = w.begin_video(video, fx.facts(1), fx.chunk_spans(1))
    assert plan.pending_chunks == [0] and r.video(video).error is None


def test_missing_video_file_is_a_user_error(paths, tmp_path):
    db, _ = paths
    w, _ = writer_and_reader(db)
    with pytest.raises(VideoUnreadable, match="cannot read video"):
        w.begin_video(tmp_path / "nope.mp4", fx.facts(1), fx.chunk_spans(1))


def test_stale_running_jobs_become_interrupted(paths):
    db, _ = paths
    w, r = writer_and_reader(db)
    old = w.start_job("old")
    with open_write(db) as con:
        con.execute("UPDATE jobs SET pid = 999999999 WHERE job_id = ?", [old])
    new = w.start_job("new", videos_total=3)
    jobs = {j.job_id: j for j in r.jobs()}
    assert jobs[old].status == "interrupted" and jobs[new].status == "running"
    assert jobs[new].pid == os.getpid() and jobs[new].videos_total == 3


def test_library_lists_every_video(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    other = fx.make_video_file(db.with_name("cam2.mp4"), seed=5)
    index_chunks(w, video, 2)
    index_chunks(w, other, 1)
    lib = r.library()
    assert [v.path for v in lib] == sorted([str(video.resolve()), str(other.resolve())])
    assert {v.objects for v in lib} == {3, 5}
    with pytest.raises(VideoNotIndexed):
        r.chunks(db.with_name("missing.mp4"))


def test_remove_video_forgets_all_its_rows(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    index_chunks(w, video, 2)
    assert w.remove_video(video) is True
    assert all(rows == [] for t, rows in fx.dump_tables(db).items() if t != "schema_version")
    assert w.remove_video(video) is False


def test_v1_file_is_migrated_on_open(paths):
    """v1 stored a vector per mention; v2 keeps one per distinct text and moves the mentions to text_refs."""
    db, _ = paths
    con = duckdb.connect(str(db))
    migrate(con, str(db), target=1)
    con.execute("INSERT INTO videos (video_id, path, status) VALUES (1, '/old.mp4', 'done')")
    axis = np.eye(384, dtype=np.float32)
    rows = [(0, "caption", -1, None, "a dog on a lawn", axis[0]), (0, "phrase", 0, 7, "dog", axis[1]),
            (1, "phrase", 0, 7, "dog", axis[1]), (1, "caption", -1, None, "a dog sleeps", axis[2])]
    for k, kind, ordinal, oid, text, vec in rows:
        con.execute("INSERT INTO text_embeddings VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?::FLOAT[384])",
                    [k, kind, ordinal, oid, k * 10.0, k * 10.0 + 10, text, vec.tolist()])
    con.close()
    r = IndexReader(db)
    assert r.schema_version() == CURRENT_VERSION
    assert count(db, "SELECT count(*) FROM texts") == 3
    assert count(db, "SELECT count(*) FROM text_refs") == 4
    assert count(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'text_embeddings'") == 0
    hits = r.search(axis[1], k=5)
    assert [(h.chunk_index, h.kind, h.object_id, h.text) for h in hits[:2]] == [(0, "phrase", 7, "dog"), (1, "phrase", 7, "dog")]
    assert hits[0].score == pytest.approx(1.0)


def test_newer_file_is_refused_with_one_line(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    w.begin_video(video, fx.facts(1), fx.chunk_spans(1))
    with open_write(db) as con:
        con.execute("UPDATE schema_version SET version = 99")
    for call in (r.library, lambda: w.start_job("x")):
        with pytest.raises(IndexTooNew) as err:
            call()
        assert "v99" in str(err.value) and "\n" not in str(err.value)


def test_recent_objects_are_those_last_seen_in_the_window_with_their_last_point(paths):
    """What re-identification compares a new track with (agent/object_links.reidentify), read from the file."""
    db, video = paths
    writer, reader = writer_and_reader(db)
    plan = index_chunks(writer, video, 3)
    objects = reader.objects(video)
    last = max(o.last_seen_s for o in objects)
    recent = writer.recent_objects(plan.video_id, last - 1e-6, last + 1.0)
    assert recent and {r.object_id for r in recent} == {o.object_id for o in objects if o.last_seen_s == last}
    for r in recent:
        assert r.point.time_s == last and r.point.present and r.point.box is not None and r.point.mask is not None
        assert r.label == next(o.label for o in objects if o.object_id == r.object_id)
    assert writer.recent_objects(plan.video_id, last + 0.5, last + 1.0) == []


def _renamed(video, k: int, name: str):
    """Chunk k of the fixture with the long-lived object (phrase 0) given `name`."""
    a = fx.analysis(str(video), k)
    first = a.phrases[0]
    phrases = [first.model_copy(update={"phrase": name, "masklet": first.masklet.model_copy(update={"expression": name})}),
               *a.phrases[1:]]
    return a.model_copy(update={"phrases": phrases})


def _index_names(writer, video, names: list[str]) -> int:
    """Index len(names) chunks whose long-lived object is named names[k] in chunk k; its object id."""
    plan = writer.begin_video(video, fx.facts(len(names)), fx.chunk_spans(len(names)))
    for k, name in enumerate(names):
        prev = writer.chunk_object_ids(plan.video_id, k - 1)
        writer.commit_chunk(plan.video_id, _renamed(video, k, name), links=fx.links(k, prev))
    return writer.chunk_object_ids(plan.video_id, 0)[0]


def _label(reader, oid: int) -> str:
    return next(o.label for o in reader.object_names() if o.object_id == oid)


@pytest.mark.parametrize("names, label", [
    (["the red ball", "the red dog", "the red dog"], "the red dog"),  # the name given most often
    (["the red dog", "the red ball", "the red box"], "the red dog"),  # all different: the first stays
    (["the red ball", "the red dog", "the red dog", "the red ball"], "the red ball"),  # a tie: the one given first
])
def test_an_objects_label_is_the_name_it_was_given_most_often(paths, names, label):
    db, video = paths
    w, r = writer_and_reader(db)
    assert _label(r, _index_names(w, video, names)) == label


def test_an_older_index_gets_its_labels_voted_when_opened(paths):
    db, video = paths
    w, r = writer_and_reader(db)
    oid = _index_names(w, video, ["the red ball", "the red dog", "the red dog"])
    with duckdb.connect(str(db)) as con:  # as v8 left it: the first name, and the schema at v8
        con.execute("UPDATE objects SET label = 'the red ball' WHERE object_id = ?", [oid])
        con.execute("DROP TABLE subject_checks")  # v10
        con.execute("ALTER TABLE videos DROP COLUMN gaps_filled")  # v13
        con.execute("DROP TABLE part_names")  # v14
        con.execute("ALTER TABLE videos DROP COLUMN parts_named")
        con.execute("ALTER TABLE track_points DROP COLUMN colour")  # v16
        con.execute("DROP TABLE object_views")  # v18
        con.execute("ALTER TABLE videos DROP COLUMN views_named")
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 8")
    with open_write(db) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == CURRENT_VERSION
    assert _label(r, oid) == "the red dog"
