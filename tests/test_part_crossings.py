"""Enters and leaves inside another object's mask (tools/part_crossings.py): a mask that holds a standing box and a
ball. When the ball goes out through the border, the mask keeps the box, so the track never goes absent and its own
border rules see no one leave; the parts of the mask, followed through time, do. The indexer names the part that
left (agent/indexing/event_parts.py) and the leave goes to the stored object of that name (index/crossing_names.py)."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

import tests.index_fixtures as fx
from agent.indexing.event_parts import name_event_parts
from index.connection import open_read, open_write
from index.event_store import replace_video_events
from index.schema import CURRENT_VERSION
from index.video_plan import VideoFacts
from index.writer import _DROP_VIDEO_ROWS, IndexWriter
from sa2va_engine.masklet import Masklet, TrackPoint
from tests.test_event_parts import Namer, _rows
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tools.mask_parts import mask_parts
from tools.part_crossings import PartSample, part_crossings, voted_name
from tools.track_event import ObjectTrack
from tools.track_events import box_point, detect_events

H, W = 96, 128
BOX = (slice(50, 70), slice(10, 30))  # stands still, well inside
BALL = 15  # px, a square
STEP = 0.25
TIMES = [round(k * STEP, 3) for k in range(int(8 / STEP))]


def _ball_x(t: float, speed: float, start_x: float) -> float:
    return start_x + speed * t


def _mask(t: float, ball_x: float | None, box: bool = True) -> np.ndarray:
    m = np.zeros((H, W), bool)
    if box:
        m[BOX] = True
    if ball_x is not None:
        x0, x1 = int(round(ball_x)), int(round(ball_x)) + BALL
        m[55:70, max(x0, 0):max(min(x1, W), 0)] = True
    return m


def _crossings(masks: dict[float, np.ndarray]):
    """part_crossings of one track whose masks are `masks` (empty ones are absent samples), with the track's own
    events as the indexer would have them."""
    present = {t: m for t, m in masks.items() if m.any()}
    points = [box_point(t, (0, 0, W, H), 0.9, m, float(m.sum())) for t, m in present.items()]
    own = detect_events([ObjectTrack(object_id=7, frame_size=(H, W), points=points)], TIMES)
    samples = [PartSample(t, mask_parts(m)) for t, m in present.items()]
    return own, part_crossings(7, (H, W), samples, TIMES, own)


def test_a_ball_leaving_while_the_box_in_its_mask_stays_is_a_part_leaving():
    # The ball runs right at 20 px/s from x = 60: its right side reaches the border at 2.65 s, and it is wholly out
    # at 3.4 s; the box stays, so the mask is never empty.
    masks = {t: _mask(t, _ball_x(t, 20.0, 60.0) if _ball_x(t, 20.0, 60.0) < W else None) for t in TIMES}
    own, crossings = _crossings(masks)
    assert not [e for e in own if e.kind in ("enters", "leaves")]  # the track alone sees no one leave
    assert len(crossings) == 1
    c = crossings[0]
    assert c.event.kind == "leaves" and c.event.object_id == 7
    assert 2.4 <= c.event.start_s <= 2.9 and 3.1 <= c.event.end_s <= 3.6
    assert "a part of the mask" in c.event.rule and "right edge" in c.event.rule
    # Named where the ball was last wholly inside, on its own box (not the box's), three views nearest the border first.
    assert c.views == [(2.5, (110, 55, 125, 70)), (2.25, (105, 55, 120, 70)), (2.0, (100, 55, 115, 70))]


def test_a_ball_coming_in_beside_the_box_is_a_part_entering():
    # From the right edge at 20 px/s, starting wholly out (x = 133 at 0 s), wholly in from 1 s, stopping at x = 80.
    masks = {t: _mask(t, max(x, 80.0) if (x := _ball_x(t, -20.0, 133.0)) < W else None) for t in TIMES}
    _, crossings = _crossings(masks)
    assert [c.event.kind for c in crossings] == ["enters"]
    (t, box), *_ = crossings[0].views
    assert box[2] < W - 2 and t >= crossings[0].event.end_s - 1e-6  # named once wholly inside, the first views first
    assert [v[0] for v in crossings[0].views] == sorted(v[0] for v in crossings[0].views)


def test_an_object_alone_in_its_mask_leaving_is_the_tracks_own_event_not_a_parts():
    masks = {t: _mask(t, x if (x := _ball_x(t, 20.0, 60.0)) < W else None, box=False) for t in TIMES}
    own, crossings = _crossings(masks)
    assert [e.kind for e in own if e.kind in ("enters", "leaves")] == ["leaves"]
    assert crossings == []


def test_a_ball_that_walks_into_the_box_and_merges_with_it_leaves_nothing():
    # The ball runs left into the box: the two parts become one mid-frame. Meeting is not leaving.
    masks = {t: _mask(t, max(_ball_x(t, -20.0, 90.0), 25.0)) for t in TIMES}
    _, crossings = _crossings(masks)
    assert crossings == []


def test_a_speckled_mask_has_no_part_crossings():
    # An untrained model's mask: noise in dozens of parts every sample, some of them at the border.
    rng = np.random.default_rng(0)
    masks = {t: rng.random((H, W)) > 0.7 for t in TIMES}
    _, crossings = _crossings(masks)
    assert crossings == []


def test_a_mask_in_one_part_throughout_has_no_part_crossings():
    masks = {t: _mask(t, None) for t in TIMES}
    _, crossings = _crossings(masks)
    assert crossings == []


# --- through the index: the pass names the part, and the leave goes to the object the name is ------------------------

IH, IW = 72, 128  # 01_dog.mp4 (1280x720) decoded at a long side of 128
SPANS = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
DOG = (slice(35, 55), slice(10, 30))


def _ball_box(t: float) -> tuple[int, int] | None:
    """The ball's columns at `t`: from x = 60 at 20 px/s, out through the right edge between 2.65 and 3.4 s."""
    x0 = int(round(60 + 20 * t))
    return (x0, min(x0 + BALL, IW)) if x0 < IW else None


def _dog_and_ball(t: float, dog: bool = True) -> np.ndarray:
    m = np.zeros((IH, IW), bool)
    if dog:
        m[DOG] = True
    if (cols := _ball_box(t)) is not None:
        m[40:55, cols[0]:cols[1]] = True
    return m


def _two_objects(tmp_path, shared_videos, tracked: str, with_dog: bool, alone: str):
    """One video of three chunks: `tracked`, whose mask holds the ball that runs out at the right (and the standing
    dog, `with_dog`), and `alone`, the ball tracked alone only for the first second (then lost mid-frame).
    (db, video, writer, tracked's object id, alone's)."""
    video = tmp_path / "cam.mp4"
    shutil.copy(shared_videos / "01_dog.mp4", video)
    db = tmp_path / "index.duckdb"
    writer = IndexWriter(db, embedder=fx.HashEmbedder())
    plan = writer.begin_video(video, VideoFacts(duration_s=6.0, fps=30.0, width=1280, height=720), SPANS)
    first = second = None
    for k, (start, end) in enumerate(SPANS):
        times = [round(start + j / 2, 3) for j in range(int((end - start) * 2))]
        phrases = [GroundedPhrase(phrase=tracked, masklet=Masklet(
            expression=tracked, points=[TrackPoint.from_mask(t, _dog_and_ball(t, dog=with_dog), 0.9) for t in times]))]
        if k == 0:
            phrases.append(GroundedPhrase(phrase=alone, masklet=Masklet(
                expression=alone,
                points=[TrackPoint.from_mask(t, _dog_and_ball(t, dog=False) & (t <= 1.0), 0.9) for t in times])))
        analysis = ChunkAnalysis(video_path=str(video), chunk_index=k, start_s=start, end_s=end, frame_times=times,
                                 phrases=phrases)
        ids = writer.commit_chunk(plan.video_id, analysis, links=[first, None][:len(phrases)])
        first, second = ids[0], ids[1] if k == 0 else second
    return db, str(video), writer, first, second


@pytest.fixture
def library(tmp_path, shared_videos):
    """"the white dog", whose mask holds the standing dog and a ball that runs out at the right, and "the white ball",
    tracked alone only for the first second."""
    return _two_objects(tmp_path, shared_videos, "the white dog", True, "the white ball")


def _leaves(db) -> list[tuple]:
    with open_read(db) as con:
        return con.execute("SELECT object_id, start_s, end_s, rule FROM events WHERE kind = 'leaves' "
                           "ORDER BY start_s").fetchall()


def test_the_part_that_left_is_named_and_its_leave_goes_to_the_object_of_that_name(library):
    db, video, writer, dog, ball = library
    assert not [r for r in _leaves(db) if r[1] > 2.0]  # the rules alone: the dog's mask never goes absent
    namer = Namer("The white ball.")
    assert name_event_parts(lambda: namer, writer, [video], sample_fps=2.0) == (3, [])
    # Asked about the ball's part on the last three samples it was wholly inside, on the frames as the indexer decoded
    # them.
    assert namer.asked == [((IH, IW, 3), (110, 40, 125, 55)), ((IH, IW, 3), (100, 40, 115, 55)),
                           ((IH, IW, 3), (90, 40, 105, 55))]
    assert _rows(db, "SELECT object_id, time_s, x0, y0, x1, y1, name FROM crossing_names ORDER BY time_s") == [
        (dog, 1.5, 90.0, 40.0, 105.0, 55.0, "the white ball"), (dog, 2.0, 100.0, 40.0, 115.0, 55.0, "the white ball"),
        (dog, 2.5, 110.0, 40.0, 125.0, 55.0, "the white ball")]
    (leave,) = [r for r in _leaves(db) if r[1] > 2.0]
    assert leave[0] == ball and 2.5 <= leave[1] < 3.0 and 3.0 < leave[2] <= 3.5
    assert "a part of the mask" in leave[3] and "named 'the white ball' up close, in the mask of 'the white dog'" \
        in leave[3]
    # A replay without the model (what a migration does) gives the same events.
    before = _rows(db, "SELECT object_id, kind, start_s, end_s FROM events ORDER BY ALL")
    with duckdb.connect(str(db)) as con:
        replace_video_events(con, 1)
    assert _rows(db, "SELECT object_id, kind, start_s, end_s FROM events ORDER BY ALL") == before


@pytest.mark.parametrize("name", ["the green cat", "the white box"])
def test_a_part_named_after_no_stored_object_gives_no_one_a_leave(library, name):
    db, video, writer, dog, ball = library
    assert name_event_parts(lambda: Namer(name), writer, [video], sample_fps=2.0) == (3, [])
    assert not [r for r in _leaves(db) if r[1] > 2.0]


def test_a_part_named_after_the_masks_own_object_is_its_leave(library):
    db, video, writer, dog, ball = library
    name_event_parts(lambda: Namer("the white dog"), writer, [video], sample_fps=2.0)
    (leave,) = [r for r in _leaves(db) if r[1] > 2.0]
    assert leave[0] == dog and leave[3].endswith("named 'the white dog' up close")


def test_a_video_indexed_again_drops_its_crossing_names(library):
    db, video, writer, dog, ball = library
    name_event_parts(lambda: Namer("the white ball"), writer, [video], sample_fps=2.0)
    with duckdb.connect(str(db)) as con:
        for statement in _DROP_VIDEO_ROWS:
            con.execute(statement, [1])
        assert con.execute("SELECT count(*) FROM crossing_names").fetchone() == (0,)


# --- at query time: the grounded track of a subject no stored object is ----------------------------------------------


@pytest.mark.parametrize("name, found", [("The white ball.", True), ("the white dog", False), ("Sure, [SEG].", False)])
def test_a_grounded_track_holding_the_subject_and_a_neighbour_leaves_when_its_part_is_named_the_subject(name, found):
    from agent.query.subject_crossings import subject_crossings
    from tools.clip import Clip
    from tools.video_decode import DecodedFrame

    times = [round(k * 0.5, 3) for k in range(8)]
    frames = [DecodedFrame(time_s=t, index=k, image=np.zeros((IH, IW, 3), np.uint8)) for k, t in enumerate(times)]
    clip = Clip(video_path="cam.mp4", start_s=0.0, end_s=4.0, frames=frames)
    masklet = Masklet(expression="the white ball", points=[TrackPoint.from_mask(t, _dog_and_ball(t), 0.9)
                                                          for t in times])
    own = detect_events([ObjectTrack(object_id=0, frame_size=(IH, IW), points=[
        box_point(p.time_s, p.box, p.score, p.mask.decode(), p.area) for p in masklet.points])], times)
    namer = Namer(name)
    events = subject_crossings(namer, clip, masklet, "the white ball", "leaves", own, fx.HashEmbedder())
    # The ball where it was last wholly inside, three views.
    assert namer.asked == [((IH, IW, 3), (110, 40, 125, 55)), ((IH, IW, 3), (100, 40, 115, 55)),
                           ((IH, IW, 3), (90, 40, 105, 55))]
    if found:
        (event,) = events
        assert event.kind == "leaves" and 2.5 <= event.start_s < 3.0 and 3.0 < event.end_s <= 3.5
        assert event.rule.endswith("named 'the white ball' up close")
    else:
        assert events == []
    assert subject_crossings(namer, clip, masklet, "the white ball", "enters", own, fx.HashEmbedder()) == []


@pytest.mark.parametrize("names, voted", [
    (["the white box", "the white ball", "the white ball"], "the white ball"),  # the majority
    (["the white box", "the white ball", None], "the white box"),  # a tie: the view nearest the crossing
    ([None, "the white ball", "the white box"], "the white ball"),
    ([None, None], None),
])
def test_what_crossed_is_the_name_most_of_its_views_got(names, voted):
    assert voted_name(names) == voted


@pytest.fixture
def slid(tmp_path, shared_videos):
    """"the red box", whose mask is on a ball from the start and follows it out at the right, and "the yellow ball",
    tracked alone only for the first second."""
    return _two_objects(tmp_path, shared_videos, "the red box", False, "the yellow ball")


@pytest.mark.parametrize("name, owner", [
    ("the yellow ball", "ball"),  # another colour than the label, and a stored object's name: its leave
    ("the yellow box", "ball"),  # ... or the one stored object of that colour: kinds are the model's weakest names
    ("the red ball", "box"),  # the label's colour: the track's own, as the rules said
    ("the green cat", "box"),  # another colour, but nothing stored is called so: left as it was
])
def test_a_tracks_own_leave_named_after_another_stored_object_of_another_colour_is_that_objects(slid, name, owner):
    db, video, writer, box, ball = slid
    (before,) = [r for r in _leaves(db) if r[1] > 2.0]
    assert before[0] == box  # the rules alone: the track left
    namer = Namer(name)
    name_event_parts(lambda: namer, writer, [video], sample_fps=2.0)
    # Named where the track was last wholly inside, within a second before it went out (at 2.65 s).
    assert namer.asked == [((IH, IW, 3), (110, 40, 125, 55)), ((IH, IW, 3), (100, 40, 115, 55))]
    (after,) = [r for r in _leaves(db) if r[1] > 2.0]
    assert after[0] == {"ball": ball, "box": box}[owner] and after[1:3] == before[1:3]
    if owner == "ball":
        assert after[3].endswith(f"named {name!r} up close, in the mask of 'the red box'")


def test_an_index_from_before_the_crossings_names_them_at_the_next_sva_index(library):
    """A v22 index (no crossing names; its videos' parts named as they were): opened by this sva, its events stay as
    they were and its finished videos are marked for the naming pass, which the next `sva index` over them runs."""
    db, video, writer, dog, ball = library
    name_event_parts(lambda: Namer("the white dog"), writer, [video], sample_fps=2.0)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE crossing_names")
        con.execute("UPDATE schema_version SET version = 22")
        replace_video_events(con, 1)  # its events as v22 stored them: no crossings
    before = _rows(db, "SELECT object_id, kind, start_s, end_s FROM events ORDER BY ALL")
    with open_write(db) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == CURRENT_VERSION
    assert _rows(db, "SELECT parts_named FROM videos") == [(False,)]
    assert _rows(db, "SELECT object_id, kind, start_s, end_s FROM events ORDER BY ALL") == before
    assert name_event_parts(lambda: Namer("the white ball"), writer, [video], sample_fps=2.0) == (3, [])
    (leave,) = [r for r in _leaves(db) if r[1] > 2.0]
    assert leave[0] == ball
