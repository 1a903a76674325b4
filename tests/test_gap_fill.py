"""The second tracking pass (agent/indexing/gap_fill.py): a stored object is tracked by its label through the chunks
of its finished video that lack it; a track that finds it where nothing was stored is added, one inside another
object's track is not; the pass runs once per video, and a pass that fails stores nothing and is done again."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

import agent.indexing.gap_fill as gap_fill
import tests.index_fixtures as fx
from agent.indexing.index_settings import IndexSettings
from agent.indexing.gap_fill import fill_gaps, new_object_points
from index.connection import open_read
from index.reader import IndexReader
from index.writer import IndexWriter
from index.video_plan import VideoFacts
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tools.sa2va_track import TrackReply

H, W = 36, 64  # 01_dog.mp4 (1280x720) decoded at a long side of 64
SPANS = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
LEFT, RIGHT = (slice(20, 30), slice(4, 14)), (slice(18, 32), slice(40, 60))


def _mask(region) -> np.ndarray:
    """A mask over ``region`` (a pair of slices), or over each of a list of them."""
    m = np.zeros((H, W), bool)
    for r in region if isinstance(region, list) else [region]:
        m[r] = True
    return m


def _masklet(name: str, times: list[float], region) -> Masklet:
    return Masklet(expression=name, points=[TrackPoint.from_mask(t, _mask(region), 0.9) for t in times])


def _times(start: float, end: float) -> list[float]:
    return [round(start + j / 2 + 0.002, 3) for j in range(int((end - start) * 2))]


@pytest.fixture
def library(tmp_path, shared_videos):
    """Three 2-s chunks of a real clip: the red ball (left) in chunks 0 and 2, the green dog (right) in all three."""
    return _library(tmp_path, shared_videos, RIGHT)


@pytest.fixture
def union_library(tmp_path, shared_videos):
    """`library`, but chunk 1's "green dog" mask also covers the red ball, apart from the dog (a mask over two)."""
    return _library(tmp_path, shared_videos, [LEFT, RIGHT])


def _library(tmp_path, shared_videos, dog_in_chunk_1):
    video = tmp_path / "cam.mp4"
    shutil.copy(shared_videos / "01_dog.mp4", video)
    db = tmp_path / "index.duckdb"
    writer = IndexWriter(db, embedder=fx.HashEmbedder())
    plan = writer.begin_video(video, VideoFacts(duration_s=6.0, fps=30.0, width=1280, height=720), SPANS)
    ids: dict[str, int] = {}
    for k, (start, end) in enumerate(SPANS):
        times = _times(start, end)
        things = [("the green dog", RIGHT if k != 1 else dog_in_chunk_1)] + ([("the red ball", LEFT)] if k != 1 else [])
        phrases = [GroundedPhrase(phrase=name, masklet=_masklet(name, times, region)) for name, region in things]
        analysis = ChunkAnalysis(video_path=str(video), chunk_index=k, start_s=start, end_s=end, frame_times=times,
                                 phrases=phrases)
        got = writer.commit_chunk(plan.video_id, analysis, links=[ids.get(p.phrase) for p in phrases])
        ids.update({p.phrase: oid for p, oid in zip(phrases, got)})
    return db, str(video), writer, ids


def _fake_tracker(monkeypatch, region_of: dict[str, tuple]):
    """Replaces the model's tracking: each expression's mask is `region_of[expression]` on every frame. Returns
    the (chunk start, expressions) of every call."""
    calls = []

    def track(engine, requests, frame_batch=1):
        replies = []
        for r in requests:
            calls.append((round(r.clip.start_s), list(r.expressions)))
            times = [f.time_s for f in r.clip.frames]
            replies.append(TrackReply(masklets=[_masklet(e, times, region_of[e]) for e in r.expressions]))
        return replies

    monkeypatch.setattr(gap_fill, "track_clips", track)
    return calls


def _settings(db) -> IndexSettings:
    return IndexSettings(db=db, sample_fps=2.0, max_side=64, prompt_every_frame=True)


def _chunks_with(db, object_id: int) -> list[int]:
    with open_read(db) as con:
        return [r[0] for r in con.execute("SELECT DISTINCT chunk_index FROM track_points WHERE object_id = ? "
                                          "ORDER BY 1", [object_id]).fetchall()]


def _filled(db) -> bool:
    with open_read(db) as con:
        return con.execute("SELECT gaps_filled FROM videos").fetchone()[0]


def test_an_object_missing_from_a_chunk_is_tracked_there_by_its_label(library, monkeypatch):
    db, video, writer, ids = library
    calls = _fake_tracker(monkeypatch, {"the red ball": LEFT})
    assert _chunks_with(db, ids["the red ball"]) == [0, 2] and not _filled(db)
    added, errors = fill_gaps(lambda: None, writer, [video], _settings(db))
    # Only chunk 1 lacks an object, and only the red ball is looked for there.
    assert calls == [(2, ["the red ball"])]
    assert (added, errors) == (1, [])
    assert _chunks_with(db, ids["the red ball"]) == [0, 1, 2] and _filled(db)
    times = [p.time_s for p in IndexReader(db, embedder=fx.HashEmbedder()).tracks(ids["the red ball"])]
    assert len(times) == len(set(times)) == 12  # 4 frames a chunk, none stored twice
    # Done once: a second run over the video asks the model nothing.
    assert fill_gaps(lambda: None, writer, [video], _settings(db)) == (0, [])
    assert len(calls) == 1


def test_a_track_inside_another_objects_track_is_not_added(library, monkeypatch):
    db, video, writer, ids = library
    # The label picks the green dog, which chunk 1 stored already: nothing new is found.
    _fake_tracker(monkeypatch, {"the red ball": (slice(20, 30), slice(44, 54))})
    assert fill_gaps(lambda: None, writer, [video], _settings(db)) == (0, [])
    assert _chunks_with(db, ids["the red ball"]) == [0, 2]
    assert _filled(db)  # the pass ran: a rerun does not ask again


def test_a_track_inside_a_mask_over_it_and_another_apart_is_added(union_library, monkeypatch):
    """The mask a chunk stored as "the green dog" also covers the red ball, apart from the dog: the red ball's own
    track there is a find (its label's object is not that mask's), as it was not when the mask was the dog's alone."""
    db, video, writer, ids = union_library
    _fake_tracker(monkeypatch, {"the red ball": LEFT})
    assert fill_gaps(lambda: None, writer, [video], _settings(db)) == (1, [])
    assert _chunks_with(db, ids["the red ball"]) == [0, 1, 2]


def test_a_pass_that_fails_stores_nothing_and_runs_again(library, monkeypatch):
    db, video, writer, ids = library

    def broken(engine, requests, frame_batch=1):
        raise RuntimeError("CUDA error: an illegal memory access\nand more")

    monkeypatch.setattr(gap_fill, "track_clips", broken)
    added, errors = fill_gaps(lambda: None, writer, [video], _settings(db))
    assert added == 0 and len(errors) == 1
    assert errors[0] == f"{video}: second tracking pass: RuntimeError: CUDA error: an illegal memory access"
    assert _chunks_with(db, ids["the red ball"]) == [0, 2] and not _filled(db)
    _fake_tracker(monkeypatch, {"the red ball": LEFT})
    assert fill_gaps(lambda: None, writer, [video], _settings(db)) == (1, [])
    assert _chunks_with(db, ids["the red ball"]) == [0, 1, 2] and _filled(db)


def test_a_flicker_or_a_speck_is_no_object_found():
    times = [0.0, 0.5, 1.0, 1.5]
    once = Masklet(expression="x", points=[TrackPoint.from_mask(0.0, _mask(LEFT), 0.9)] + [
        TrackPoint(time_s=t, present=False, score=0.1) for t in times[1:]])
    assert new_object_points(once, {}) is None
    speck = _masklet("x", times, (slice(0, 1), slice(0, 1)))  # 1 pixel of 36 x 64
    assert new_object_points(speck, {}) is None
    whole = _masklet("x", times, LEFT)
    assert len(new_object_points(whole, {})) == 4
    assert new_object_points(whole, {7: list(_masklet("y", times, (slice(10, 34), slice(0, 20))).points)}) is None


def test_a_video_finished_without_its_pass_gets_it_from_the_next_run(indexed_library, tracking_checkpoint, tmp_path):
    """What a run killed during the pass leaves (every chunk done, the pass not stored: it is one transaction) is
    what `--no-fill-gaps` leaves; the next plain run does the pass and ends with the rows of a run never stopped.
    (The tiny test checkpoint's tracks find nothing new, so what this shows is the mark and the rerun; the tests
    above show what a kept track adds.)"""
    from tests.agent_fixtures import index_args, run_sva
    from tests.index_fixtures import dump_tables

    reference_db, videos, _ = indexed_library
    db = tmp_path / "index.duckdb"
    first = run_sva(*index_args(db, tracking_checkpoint, videos), "--no-fill-gaps")
    assert first.returncode == 0, first.stderr
    with open_read(db) as con:
        assert con.execute("SELECT count(*) FROM videos WHERE NOT gaps_filled").fetchone()[0] == len(videos)
    second = run_sva(*index_args(db, tracking_checkpoint, videos))
    assert second.returncode == 0, second.stderr
    assert dump_tables(db) == dump_tables(reference_db)  # every table but jobs
    with open_read(reference_db) as con:
        assert con.execute("SELECT bool_and(gaps_filled) FROM videos").fetchone()[0]


def _library_of(tmp_path, shared_videos, things: list[tuple[str, tuple, list[int]]]):
    """Like `library`, with each (phrase, region, chunks) stored as one object over its chunks (a phrase continues
    its own object only), on three 2-s chunks that overlap by 0.5 s, so neighbouring chunks share frames."""
    video = tmp_path / "cam.mp4"
    shutil.copy(shared_videos / "01_dog.mp4", video)
    db = tmp_path / "index.duckdb"
    writer = IndexWriter(db, embedder=fx.HashEmbedder())
    spans = [(0.0, 2.5), (2.0, 4.5), (4.0, 6.0)]
    plan = writer.begin_video(video, VideoFacts(duration_s=6.0, fps=30.0, width=1280, height=720), spans)
    ids: dict[str, int] = {}
    for k, (start, end) in enumerate(spans):
        times = _times(start, end)
        phrases = [GroundedPhrase(phrase=name, masklet=_masklet(name, times, region))
                   for name, region, chunks in things if k in chunks]
        analysis = ChunkAnalysis(video_path=str(video), chunk_index=k, start_s=start, end_s=end, frame_times=times,
                                 phrases=phrases)
        got = writer.commit_chunk(plan.video_id, analysis, links=[ids.get(p.phrase) for p in phrases])
        ids.update({p.phrase: oid for p, oid in zip(phrases, got)})
    return db, str(video), writer, ids


def test_the_pass_merges_stored_objects_that_are_one(tmp_path, shared_videos, monkeypatch):
    """Two objects with the same masks on the frames both stored are one object (index/object_merge.py): the one seen
    first keeps its id and takes the other's points and phrases. Same masks under
    clashing colours, or another object's masks, stay apart."""
    db, video, writer, ids = _library_of(tmp_path, shared_videos, [
        ("the red ball", LEFT, [0, 1]),
        ("the red toy", LEFT, [1, 2]),  # the red ball again, not linked: the same masks on chunks 1 and 2
        ("the red box", LEFT, [2]),  # and again: shares frames with "the red toy" only
        ("the green dog", RIGHT, [0, 1, 2]),
        ("the white dog", RIGHT, [2]),  # the green dog's masks, another colour: a mask over two objects
    ])
    # Where an object is missing from a chunk, its label finds nothing there: the pass adds no point.
    nothing = (slice(0, 0), slice(0, 0))
    _fake_tracker(monkeypatch, {name: nothing for name in ("the red ball", "the red toy", "the red box",
                                                           "the green dog", "the white dog")})
    # The views named before the pass (index/object_views.py) go with their object, and are named again after it.
    writer.close()
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO object_views VALUES (1, ?, 3.0, 0, 0, 1, 1, 'the red ball')", [ids["the red toy"]])
        con.execute("UPDATE videos SET views_named = TRUE")
    assert fill_gaps(lambda: None, writer, [video], _settings(db)) == (0, [])
    with open_read(db) as con:
        assert con.execute("SELECT object_id FROM object_views").fetchall() == [(ids["the red ball"],)]
        assert con.execute("SELECT views_named FROM videos").fetchall() == [(False,)]
    with open_read(db) as con:
        objects = dict(con.execute("SELECT object_id, label FROM objects").fetchall())
        points = con.execute("SELECT object_id, count(*), count(DISTINCT time_s), min(time_s), max(time_s) "
                             "FROM track_points GROUP BY 1").fetchall()
        phrases = con.execute("SELECT DISTINCT object_id FROM phrases WHERE phrase LIKE 'the red%'").fetchall()
        first_last = con.execute("SELECT first_seen_s, last_seen_s FROM objects WHERE object_id = ?",
                                 [ids["the red ball"]]).fetchone()
    red = ids["the red ball"]
    assert set(objects) == {red, ids["the green dog"], ids["the white dog"]}
    assert objects[red] == "the red ball" and phrases == [(red,)]
    by_object = {row[0]: row[1:] for row in points}
    # Every frame of the 6 s at 2 fps, and none of the others' points on a frame the red ball has: 13 points, since
    # the red ball's two chunks both stored their shared frame at 2.002 s (this fixture does not trim overlaps as the
    # committer does).
    assert by_object[red][1] == 12 and by_object[red][0] == 13
    assert first_last == (by_object[red][2], by_object[red][3]) == (0.002, 5.502)
    assert by_object[ids["the green dog"]][1] == 12 and by_object[ids["the white dog"]][1] == 4


def test_an_older_index_gets_its_objects_that_are_one_merged_when_opened(tmp_path, shared_videos):
    """Schema v17: a video that had the second pass before it merged anything has its objects that are one merged
    when the index is first opened (no model), and its events replayed over the merged tracks."""
    from index.schema import CURRENT_VERSION

    db, video, writer, ids = _library_of(tmp_path, shared_videos, [
        ("the red ball", LEFT, [0, 1]), ("the red toy", LEFT, [1, 2]), ("the green dog", RIGHT, [0, 1, 2])])
    writer.close()
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE videos SET gaps_filled = TRUE")  # as the pass left it before v17
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("INSERT INTO events SELECT video_id, ?, NULL, 'jump', 99.0, 100.0, 0.5, [99.0], 'older rules' "
                    "FROM videos", [ids["the red ball"]])  # what the events were before the merge
        con.execute("DROP TABLE object_views")  # v18
        con.execute("ALTER TABLE videos DROP COLUMN views_named")
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 16")
        assert con.execute("SELECT count(*) FROM objects").fetchone()[0] == 3
    assert IndexReader(db, linger_s=0, embedder=fx.HashEmbedder()).schema_version() == CURRENT_VERSION
    with open_read(db) as con:
        assert sorted(r[0] for r in con.execute("SELECT object_id FROM objects").fetchall()) == sorted(
            [ids["the red ball"], ids["the green dog"]])
        assert con.execute("SELECT count(*) FROM events WHERE rule = 'older rules'").fetchone()[0] == 0  # replayed
