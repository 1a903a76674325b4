"""Objects named on typical views of their whole track (agent/indexing/object_views.py, index/object_views.py): the
views are masks in one part, spread over the track, each the one nearest the median size of its stretch; the label is
what most views say; the pass runs once per video, stores nothing when it fails, and is done again after a re-index."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

import tests.index_fixtures as fx
from agent.indexing.object_views import name_object_views
from index.connection import open_read
from index.label_vote import vote_labels
from index.object_views import object_views
from index.video_plan import VideoFacts
from index.writer import IndexWriter
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase

H, W = 72, 128  # 01_dog.mp4 (1280x720) decoded at a long side of 128
SPANS = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
FACTS = VideoFacts(duration_s=6.0, fps=30.0, width=1280, height=720)
UNION_S = (1.0, 3.0, 5.0)  # the box's mask also holds the dog beside it (two parts)
SLIVER_S, SPREAD_S = 2.0, 4.0  # only a sliver of the box; the box's mask spread onto its neighbour (one part)


def _times(start: float, end: float) -> list[float]:
    return [round(start + j / 2, 3) for j in range(int((end - start) * 2))]


def _mask(t: float) -> np.ndarray:
    m = np.zeros((H, W), bool)
    if t == SLIVER_S:
        m[40:60, 20:26] = True
    elif t == SPREAD_S:
        m[40:60, 20:65] = True
    else:
        m[40:60, 20:40] = True
    if t in UNION_S:
        m[30:60, 80:110] = True
    return m


@pytest.fixture
def library(tmp_path, shared_videos):
    """One video of three 2-s chunks and one object, a box that every chunk named "the white dog"."""
    video = tmp_path / "cam.mp4"
    shutil.copy(shared_videos / "01_dog.mp4", video)
    db = tmp_path / "index.duckdb"
    writer = IndexWriter(db, embedder=fx.HashEmbedder())
    plan = writer.begin_video(video, FACTS, SPANS)
    oid = None
    for k, (start, end) in enumerate(SPANS):
        times = _times(start, end)
        masklet = Masklet(expression="the white dog", points=[TrackPoint.from_mask(t, _mask(t), 0.9) for t in times])
        analysis = ChunkAnalysis(video_path=str(video), chunk_index=k, start_s=start, end_s=end, frame_times=times,
                                 phrases=[GroundedPhrase(phrase="the white dog", masklet=masklet)])
        oid = writer.commit_chunk(plan.video_id, analysis, links=[oid])[0]
    return db, str(video), writer, oid


class Namer:
    """Stands in for the model's naming up close: a region as wide as the box is "the white box", a wider one (the
    box with its neighbour) "the white dog", a narrower one "the white ball"; keeps what it was asked."""

    def __init__(self) -> None:
        self.asked = []

    def region_names(self, items, max_new_tokens=16):
        self.asked += [(image.shape, box) for image, box in items]
        widths = [box[2] - box[0] for _, box in items]
        return ["the white dog" if w > 30 else "the white ball" if w < 10 else "The white box." for w in widths]


def _rows(db, sql: str) -> list[tuple]:
    with open_read(db) as con:
        return con.execute(sql).fetchall()


def test_views_are_one_part_masks_of_typical_size_spread_over_the_track(library):
    db, _, _, oid = library
    with open_read(db) as con:
        views = object_views(con, 1, views=3)
    # Nine one-part masks in three stretches of three; the sliver (2.0 s) and the spread mask (4.0 s) are in the
    # second and third stretch but far from the median size, and the masks over two objects are never picked.
    assert [v.time_s for v in views] == [0.0, 2.5, 4.5]
    assert {v.object_id for v in views} == {oid}
    assert all(v.box == (20, 40, 40, 60) and v.frame_size == (H, W) for v in views)


def test_an_object_is_labelled_by_what_most_of_its_views_say(library):
    db, video, writer, oid = library
    assert _rows(db, "SELECT label FROM objects") == [("the white dog",)]  # the chunks' vote
    namer = Namer()
    assert name_object_views(lambda: namer, writer, [video], sample_fps=2.0) == (7, [])
    # Seven views, each on the frame as the indexer decoded it: six of the box alone, one of the spread mask.
    assert len(namer.asked) == 7 and all(shape == (H, W, 3) for shape, _ in namer.asked)
    assert sorted(box for _, box in namer.asked).count((20, 40, 65, 60)) == 1
    assert _rows(db, "SELECT label FROM objects") == [("the white box",)]
    assert _rows(db, "SELECT count(*), count(DISTINCT time_s) FROM object_views WHERE object_id = "
                     f"{oid} AND name = 'the white box'") == [(6, 6)]
    assert _rows(db, "SELECT views_named FROM videos") == [(True,)]
    # Done once: a second run asks nothing.
    assert name_object_views(lambda: namer, writer, [video], sample_fps=2.0) == (0, [])
    assert len(namer.asked) == 7


def test_a_tie_among_views_goes_to_the_name_more_chunks_gave_then_the_one_seen_first(library):
    """No views leave the chunks' vote."""
    db, _, writer, oid = library
    writer.close()
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO object_views VALUES (1, ?, 3.0, 0, 0, 1, 1, 'the white ball'), "
                    "(1, ?, 1.0, 0, 0, 1, 1, 'the white box'), (1, ?, 2.0, 0, 0, 1, 1, 'the white ball'), "
                    "(1, ?, 4.0, 0, 0, 1, 1, 'the white box'), (1, ?, 5.0, 0, 0, 1, 1, NULL)", [oid] * 5)
        vote_labels(con, [oid])  # the chunks named neither: the box, seen first
        assert con.execute("SELECT label FROM objects").fetchall() == [("the white box",)]
        con.execute("INSERT INTO phrases SELECT video_id, 900, 0, 'the white ball', object_id FROM objects")
        vote_labels(con, [oid])  # a chunk called it the white ball
        assert con.execute("SELECT label FROM objects").fetchall() == [("the white ball",)]
        con.execute("DELETE FROM phrases WHERE chunk_index = 900")
        con.execute("DELETE FROM object_views")
        vote_labels(con, None)
        assert con.execute("SELECT label FROM objects").fetchall() == [("the white dog",)]


def test_a_pass_that_fails_keeps_the_labels_and_runs_again(library):
    db, video, writer, oid = library

    class Broken:
        def region_names(self, items, max_new_tokens=16):
            raise RuntimeError("CUDA error: an illegal memory access\nand more")

    named, errors = name_object_views(lambda: Broken(), writer, [video], sample_fps=2.0)
    assert named == 0 and errors == [f"{video}: naming objects on views of their tracks: RuntimeError: CUDA error: "
                                     "an illegal memory access"]
    assert _rows(db, "SELECT label FROM objects") == [("the white dog",)]
    assert _rows(db, "SELECT count(*) FROM object_views") == [(0,)]
    assert _rows(db, "SELECT views_named FROM videos") == [(False,)]
    assert name_object_views(lambda: Namer(), writer, [video], sample_fps=2.0) == (7, [])
    assert _rows(db, "SELECT label FROM objects") == [("the white box",)]


def test_a_video_indexed_again_loses_its_views_and_gets_the_pass_again(library):
    db, video, writer, _ = library
    name_object_views(lambda: Namer(), writer, [video], sample_fps=2.0)
    writer.begin_video(video, FACTS, [(0.0, 3.0), (3.0, 6.0)])  # other chunks: the video's rows start over
    assert _rows(db, "SELECT count(*) FROM object_views") == [(0,)]
    assert _rows(db, "SELECT views_named FROM videos") == [(False,)]


def test_an_older_index_keeps_its_labels_and_counts_as_viewed(library):
    """Schema v18 adds the views to an index made before them: its videos are marked as viewed (no model runs when it
    is opened or indexed again unchanged), and its labels stay the chunks' vote."""
    from index.reader import IndexReader
    from index.schema import CURRENT_VERSION

    db, video, writer, _ = library
    writer.close()
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE object_views")
        con.execute("ALTER TABLE videos DROP COLUMN views_named")
        con.execute("ALTER TABLE events DROP COLUMN size")  # v22
        con.execute("DROP TABLE crossing_names")  # v23
        con.execute("UPDATE schema_version SET version = 17")
    assert IndexReader(db, linger_s=0, embedder=fx.HashEmbedder()).schema_version() == CURRENT_VERSION
    assert _rows(db, "SELECT views_named FROM videos") == [(True,)]
    assert _rows(db, "SELECT count(*) FROM object_views") == [(0,)]
    assert _rows(db, "SELECT label FROM objects") == [("the white dog",)]
    namer = Namer()
    assert name_object_views(lambda: namer, IndexWriter(db, embedder=fx.HashEmbedder()), [video], 2.0) == (0, [])
    assert namer.asked == []
