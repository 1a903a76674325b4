"""Whose jump is it (agent/indexing/event_parts.py, index/part_names.py): a track whose mask holds two objects, one of
which jumps, reads as a jump of the track's object; the part off the ground is named up close, and a name in another
colour than the object's label leaves the jump out. The names are stored, so a replay without the model gives the
same events; the pass runs once per video, and one that fails stores nothing and is done again."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

import tests.index_fixtures as fx
from agent.indexing.event_parts import name_event_parts
from index.connection import open_read
from index.event_store import owned_events, replace_video_events
from index.video_plan import VideoFacts
from index.writer import IndexWriter
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tools.mask_parts import highest_part
from tools.track_event import TrackEvent

H, W = 72, 128  # 01_dog.mp4 (1280x720) decoded at a long side of 128
SPANS = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
DOG = (slice(50, 70), slice(10, 30))  # stays on the ground
BALL_DOWN, BALL_UP = (slice(55, 70), slice(60, 75)), (slice(20, 35), slice(60, 75))
IN_THE_AIR = (3.0, 3.5)  # seconds: the ball's part of the mask is up on these samples


def _times(start: float, end: float) -> list[float]:
    return [round(start + j / 2, 3) for j in range(int((end - start) * 2))]


def _union(t: float) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[DOG] = True
    m[BALL_UP if round(t, 1) in IN_THE_AIR else BALL_DOWN] = True
    return m


@pytest.fixture
def library(tmp_path, shared_videos):
    """One video of three 2-s chunks and one object, "the blue dog", whose mask also holds a ball that jumps."""
    video = tmp_path / "cam.mp4"
    shutil.copy(shared_videos / "01_dog.mp4", video)
    db = tmp_path / "index.duckdb"
    writer = IndexWriter(db, embedder=fx.HashEmbedder())
    plan = writer.begin_video(video, VideoFacts(duration_s=6.0, fps=30.0, width=1280, height=720), SPANS)
    oid = None
    for k, (start, end) in enumerate(SPANS):
        times = _times(start, end)
        masklet = Masklet(expression="the blue dog", points=[TrackPoint.from_mask(t, _union(t), 0.9) for t in times])
        analysis = ChunkAnalysis(video_path=str(video), chunk_index=k, start_s=start, end_s=end, frame_times=times,
                                 phrases=[GroundedPhrase(phrase="the blue dog", masklet=masklet)])
        oid = writer.commit_chunk(plan.video_id, analysis, links=[oid])[0]
    return db, str(video), writer, oid


class Namer:
    """Stands in for the model's naming up close: answers `name` for every region, and keeps what it was asked."""

    def __init__(self, name: str) -> None:
        self.name, self.asked = name, []

    def region_names(self, items, max_new_tokens=16):
        self.asked += [(image.shape, box) for image, box in items]
        return [self.name] * len(items)


def _rows(db, sql: str) -> list[tuple]:
    with open_read(db) as con:
        return con.execute(sql).fetchall()


def test_the_highest_part_of_a_mask_is_the_one_whose_bottom_is_highest():
    assert highest_part(np.zeros((H, W), bool)) is None
    up = highest_part(_union(3.0))
    assert up.box == (60, 20, 75, 35) and up.parts == 2
    one = np.zeros((H, W), bool)
    one[DOG] = True
    assert highest_part(one).parts == 1


def test_a_neighbours_jump_named_in_another_colour_is_not_the_objects(library):
    db, video, writer, oid = library
    jumps = _rows(db, "SELECT object_id, start_s, end_s FROM events WHERE kind = 'jump'")
    assert len(jumps) == 1 and jumps[0][0] == oid and jumps[0][1] < 3.0 and jumps[0][2] > 3.5  # the rule alone
    namer = Namer("The red ball.")
    assert name_event_parts(lambda: namer, writer, [video], sample_fps=2.0) == (1, [])
    # The ball's part, at its highest, on the frame as the indexer decoded it.
    assert namer.asked == [((H, W, 3), (60, 20, 75, 35))]
    assert _rows(db, "SELECT object_id, time_s, x0, y0, x1, y1, name FROM part_names") == [
        (oid, 3.0, 60.0, 20.0, 75.0, 35.0, "the red ball")]
    assert _rows(db, "SELECT count(*) FROM events WHERE kind = 'jump'") == [(0,)]
    assert _rows(db, "SELECT parts_named FROM videos") == [(True,)]
    # Done once: a second run asks nothing; a replay without the model keeps the jump out.
    assert name_event_parts(lambda: namer, writer, [video], sample_fps=2.0) == (0, [])
    assert len(namer.asked) == 1
    with duckdb.connect(str(db)) as con:
        replace_video_events(con, 1)
        assert con.execute("SELECT count(*) FROM events WHERE kind = 'jump'").fetchone() == (0,)


def test_a_part_named_in_the_objects_colour_keeps_the_jump_and_says_so(library):
    db, video, writer, oid = library
    assert name_event_parts(lambda: Namer("the blue dog"), writer, [video], sample_fps=2.0) == (1, [])
    (rule,) = _rows(db, "SELECT rule FROM events WHERE kind = 'jump'")[0]
    assert rule.endswith("the part off the ground, named up close: 'the blue dog'")


def test_a_pass_that_fails_keeps_the_events_and_runs_again(library):
    db, video, writer, oid = library

    class Broken:
        def region_names(self, items, max_new_tokens=16):
            raise RuntimeError("CUDA error: an illegal memory access\nand more")

    named, errors = name_event_parts(lambda: Broken(), writer, [video], sample_fps=2.0)
    assert named == 0 and errors == [f"{video}: naming the parts jumps hang on: RuntimeError: CUDA error: an illegal "
                                     "memory access"]
    assert _rows(db, "SELECT count(*) FROM events WHERE kind = 'jump'") == [(1,)]
    assert _rows(db, "SELECT parts_named FROM videos") == [(False,)]
    assert name_event_parts(lambda: Namer("the red ball"), writer, [video], sample_fps=2.0) == (1, [])
    assert _rows(db, "SELECT count(*) FROM events WHERE kind = 'jump'") == [(0,)]


def _event(kind: str, start: float, end: float) -> TrackEvent:
    return TrackEvent(object_id=7, kind=kind, start_s=start, end_s=end, score=0.8, evidence_s=[start, end], rule="r")


@pytest.mark.parametrize("name, kept", [
    ("the red ball", False),  # another colour: a neighbour's jump
    ("the blue ball", True),  # the label's colour: kinds are the model's weakest names, so a kind alone does not drop
    ("the ball", True),  # no colour: nothing to go by
])
def test_only_a_colour_the_label_does_not_have_drops_a_jump(name, kept):
    events = [_event("jump", 2.0, 3.0), _event("enters", 2.0, 3.0)]
    out = owned_events(events, {7: "the blue dog"}, {7: [(2.5, name)]})
    assert [e.kind for e in out] == (["jump", "enters"] if kept else ["enters"])


def test_a_name_outside_the_jump_is_not_its_part():
    out = owned_events([_event("jump", 2.0, 3.0)], {7: "the blue dog"}, {7: [(4.0, "the red ball")]})
    assert len(out) == 1 and out[0].rule == "r"
