"""Events read off object tracks (tools/track_events.py): jumps, entering and leaving the frame checked against
the synthetic world's ground truth over many worlds, clean and degraded; the other kinds on hand-made tracks
whose answers are known."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from agent.demo.metrics import match_events, temporal_iou
from sa2va_engine.synthetic.world import WorldConfig, generate_world
from tools.mask_parts import highest_part_bottom
from tools.track_event import PAIR_KINDS, STATE_KINDS, BoxPoint, ObjectTrack, TrackEvent
from tools.track_events import MAX_EVIDENCE
from tools.track_events import detect_events as detect_all

GRADED_KINDS = ("jump", "enters", "leaves")
# Default worlds (most have a jumper, some a leaver) and worlds where most objects leave and come back.
DEFAULT = WorldConfig(duration_s=25.0)
LEAVING = WorldConfig(duration_s=25.0, leave_probability=0.8)
WORLDS = [(seed, DEFAULT) for seed in range(30)] + [(seed, LEAVING) for seed in range(100, 130)]


# --- synthetic worlds -----------------------------------------------------------------------------------------


def detect_events(tracks: list[ObjectTrack], frame_times: list[float]) -> list[TrackEvent]:
    """The changes only: the states (moving, still, near, the sides) are tested in tests/test_track_states.py."""
    return [e for e in detect_all(tracks, frame_times) if e.kind not in STATE_KINDS]


@lru_cache(maxsize=None)
def _world(seed: int, config: WorldConfig):
    world = generate_world(seed, config)
    return world, world.masklets()


def _world_tracks(seed: int, config: WorldConfig, jitter_px: float = 0.0, drop: float = 0.0, every: int = 1,
                  ) -> tuple[list[ObjectTrack], list[float]]:
    """The world's ground-truth tracks (present samples only) and sampled times, optionally degraded like a
    tracker's: boxes jittered by up to `jitter_px` (kept in the frame), a share `drop` of samples lost, and
    only every `every`-th frame sampled."""
    world, masklets = _world(seed, config)
    height, width = world.config.height, world.config.width
    rng = np.random.default_rng(seed)
    tracks = []
    for object_id, masklet in masklets.items():
        points = []
        for point in masklet.points[::every]:
            if not point.present or (drop and rng.random() < drop):
                continue
            box = np.array(point.box, dtype=float)
            if jitter_px:
                box = np.clip(box + rng.uniform(-jitter_px, jitter_px, 4), 0, [width, height, width, height])
            points.append(BoxPoint(time_s=point.time_s, box=tuple(box)))
        tracks.append(ObjectTrack(object_id=object_id, frame_size=(height, width), points=points))
    return tracks, world.frame_times[::every]


def _grade(**degrade) -> dict[str, tuple[int, float, float]]:
    """kind -> (ground-truth events, recall, precision) over WORLDS, matched one to one at temporal IoU >= 0.5."""
    truth_n = {k: 0 for k in GRADED_KINDS}
    found_n = dict(truth_n)
    matched = dict(truth_n)
    for seed, config in WORLDS:
        world, _ = _world(seed, config)
        events = detect_events(*_world_tracks(seed, config, **degrade))
        for kind in GRADED_KINDS:
            for obj in world.objects:
                truth = [(e.start_s, e.end_s) for e in world.events_of(obj.object_id, kind)]
                found = [(e.start_s, e.end_s) for e in events if e.kind == kind and e.object_id == obj.object_id]
                truth_n[kind] += len(truth)
                found_n[kind] += len(found)
                matched[kind] += match_events(found, truth)
    return {k: (truth_n[k], matched[k] / max(truth_n[k], 1), matched[k] / max(found_n[k], 1)) for k in GRADED_KINDS}


# The targets for the product (recall >= 0.9, precision >= 0.8 per kind), held by the rules on tracks
# as good as the ground truth and on noisy 4-fps ones.
TARGET_RECALL, TARGET_PRECISION = 0.9, 0.8


def test_ground_truth_tracks_give_the_worlds_jumps_entries_and_exits():
    scores = _grade()
    for kind, (n, recall, precision) in scores.items():
        assert n >= 50, (kind, n)  # enough events that a rate means something
        assert recall >= TARGET_RECALL and precision >= TARGET_PRECISION, (kind, scores)


def test_jittery_tracks_with_lost_samples_keep_their_events():
    # 4 fps, boxes off by up to 2 px, 5% of samples lost.
    scores = _grade(jitter_px=2.0, drop=0.05)
    for kind in ("jump", "enters"):
        assert scores[kind][1] >= TARGET_RECALL and scores[kind][2] >= TARGET_PRECISION, scores
    # Leaves: recall 0.89 measured on 2026-12-03, just short of the target (an exit hidden by the pillar or a
    # lost sample at the edge reads as a disappearance); precision is held.
    assert scores["leaves"][2] >= TARGET_PRECISION, scores


def test_two_frames_a_second_keeps_jumps_and_most_entries_and_exits():
    # At 2 fps a synthetic exit (0.2-0.5 s) often falls wholly between two samples, with the object standing
    # still at the first: those cannot be told from a disappearance. Known short of the target (leaves recall
    # 0.67 when measured on 2026-12-03), so only precision is held there: what is found at 2 fps is right.
    scores = _grade(jitter_px=2.0, drop=0.05, every=2)
    assert scores["jump"][1] >= TARGET_RECALL and scores["jump"][2] >= TARGET_PRECISION, scores
    assert scores["enters"][1] >= TARGET_RECALL and scores["enters"][2] >= TARGET_PRECISION, scores
    assert scores["leaves"][2] >= TARGET_PRECISION, scores


def test_events_are_sorted_and_well_formed():
    for seed, config in WORLDS[:6]:
        events = detect_events(*_world_tracks(seed, config, jitter_px=2.0))
        assert events == sorted(events, key=lambda e: (e.start_s, e.object_id, e.kind))
        for e in events:
            assert e.start_s <= e.end_s and 0.0 <= e.score <= 1.0 and e.rule
            assert 0 < len(e.evidence_s) <= MAX_EVIDENCE and e.evidence_s == sorted(e.evidence_s)
            assert (e.other_object_id is not None) == (e.kind in PAIR_KINDS)
    assert detect_events([], [0.0, 0.25]) == []


# --- hand-made tracks -----------------------------------------------------------------------------------------

FPS = 4.0
FRAME = (240, 320)  # height, width


def _times(duration_s: float, fps: float = FPS) -> list[float]:
    return [i / fps for i in range(round(duration_s * fps))]


def _track(object_id: int, boxes: dict[float, tuple[float, float, float, float]]) -> ObjectTrack:
    """A track from time -> box (pixels); times without a box are absences."""
    return ObjectTrack(object_id=object_id, frame_size=FRAME,
                       points=[BoxPoint(time_s=t, box=b) for t, b in sorted(boxes.items())])


def _box(centre_x: float, bottom: float = 200.0, width: float = 30.0, height: float = 40.0):
    return (centre_x - width / 2, bottom - height, centre_x + width / 2, bottom)


def _walk(times: list[float], keyframes: list[tuple[float, float]]) -> dict[float, tuple]:
    """Boxes whose centre x follows the (time, x) keyframes linearly."""
    ts, xs = zip(*keyframes)
    return {t: _box(float(np.interp(t, ts, xs))) for t in times}


def _kinds(events: list[TrackEvent]) -> list[str]:
    return [e.kind for e in events]


def _contains(event: TrackEvent, time_s: float) -> bool:
    return event.start_s - 1e-9 <= time_s <= event.end_s + 1e-9


def test_walking_then_standing_then_walking_on_gives_one_stop_and_one_start():
    times = _times(16.0)
    # 40 px tall, 40 px/s: one object height a second. Stops at 5 s, sets off again at 10 s.
    track = _track(0, _walk(times, [(0.0, 40.0), (5.0, 240.0), (10.0, 240.0), (14.0, 80.0), (16.0, 80.0)]))
    events = detect_events([track], times)
    assert _kinds(events) == ["stops_moving", "starts_moving", "stops_moving"]
    stop, start, last_stop = events
    assert _contains(stop, 5.0) and stop.end_s - stop.start_s <= 0.5 + 1e-9
    assert _contains(start, 10.0) and start.end_s - start.start_s <= 0.5 + 1e-9
    assert _contains(last_stop, 14.0)
    assert "still" in start.rule and start.score > 0.5


def test_a_pause_shorter_than_a_second_is_not_a_stop():
    times = _times(12.0)
    track = _track(0, _walk(times, [(0.0, 40.0), (5.0, 240.0), (5.5, 240.0), (8.0, 290.0), (12.0, 290.0)]))
    assert _kinds(detect_events([track], times)) == ["stops_moving"]  # only the final stop, at 8 s


def test_a_jump_in_place_is_a_jump_and_not_a_start():
    times = _times(12.0)
    boxes = {t: _box(160.0) for t in times}
    for t in times:
        if 5.0 < t < 6.2:  # a parabolic hop of 60 px at the apex, 1.5 object heights
            boxes[t] = _box(160.0, bottom=200.0 - 240.0 * (t - 5.0) * (6.2 - t) / 1.44)
    events = detect_events([_track(0, boxes)], times)
    assert _kinds(events) == ["jump"]
    assert temporal_iou((events[0].start_s, events[0].end_s), (5.0, 6.2)) >= 0.7
    assert "resting line" in events[0].rule


def test_a_jump_is_sized_by_its_height_in_object_heights_and_a_motion_by_its_top_speed():
    """What "the highest jump" and "the fastest run" rank by: two hops of 1.5 and 3 object heights (40-px object) are
    stored with those heights at the sample nearest the apex; a walk at one object height a second, then at three,
    with its top speed. Other kinds have no size."""
    times = _times(20.0)
    boxes = {t: _box(160.0) for t in times}
    for (a, b), apex in (((4.0, 5.2), 60.0), ((12.0, 13.2), 120.0)):
        for t in times:
            if a < t < b:
                boxes[t] = _box(160.0, bottom=200.0 - 4 * apex * (t - a) * (b - t) / (b - a) ** 2)
    jumps = [e for e in detect_all([_track(0, boxes)], times) if e.kind == "jump"]
    assert len(jumps) == 2 and jumps[0].start_s < jumps[1].start_s
    assert 1.3 <= jumps[0].size <= 1.5 and 2.7 <= jumps[1].size <= 3.0, [j.size for j in jumps]
    walk = _walk(times, [(0.0, 40.0), (4.0, 200.0), (8.0, 200.0), (10.0, 440.0)])
    events = detect_all([_track(1, {t: b for t, b in walk.items() if b[2] <= 320})], times)
    moving = [e for e in events if e.kind == "moving"]
    assert [round(e.size) for e in moving] == [1, 3], [(e.start_s, e.end_s, e.size) for e in moving]
    assert all(e.size is None for e in events if e.kind in ("still", "visible", "on_left", "leaves"))


def test_a_top_that_rises_with_every_part_of_the_mask_on_the_ground_is_no_jump():
    """Standing up, raising the arms, a mask spreading upward over something behind the object: the top rises as in
    a hop (1.5 object heights), the bottom stays down, and the mask is one part: no jump. The same box over two
    objects, one of them a separate part in the air (a ball jumping beside its neighbour, both in one mask), is
    one; and so is a plain hop, bottom and all."""
    times = _times(12.0)
    stretch = {t: _box(160.0) for t in times}
    hop = dict(stretch)
    part_in_air: dict[float, float] = {}
    for t in times:
        if 5.0 < t < 6.2:
            rise = 240.0 * (t - 5.0) * (6.2 - t) / 1.44
            stretch[t] = _box(160.0, bottom=200.0, height=40.0 + rise)
            hop[t] = _box(160.0, bottom=200.0 - rise)
            part_in_air[t] = 200.0 - rise + 40.0 * 0.5  # a ball half the box's height, lifted as high
    assert "jump" not in _kinds(detect_events([_track(0, stretch)], times))
    assert _kinds(detect_events([_track(0, hop)], times)) == ["jump"]
    two_parts = ObjectTrack(object_id=0, frame_size=FRAME, points=[
        BoxPoint(time_s=t, box=b, part_bottom=part_in_air.get(t)) for t, b in sorted(stretch.items())])
    assert _kinds(detect_events([two_parts], times)) == ["jump"]


def test_the_highest_part_of_a_mask_is_read_off_its_connected_parts():
    mask = np.zeros((120, 160), dtype=bool)
    assert highest_part_bottom(mask) is None
    mask[60:90, 60:90] = True  # a box on the ground
    assert highest_part_bottom(mask) == 90.0
    mask[20:40, 30:50] = True  # a ball in the air, apart
    assert highest_part_bottom(mask) == 40.0
    mask[20:40, 30:50] = False
    mask[5:7, 5:7] = True  # a speck is no part
    assert highest_part_bottom(mask) == 90.0
    mask[50:60, 70:80] = True  # a part touching the box is the box
    assert highest_part_bottom(mask) == 90.0
    specks = np.zeros((120, 160), dtype=bool)
    specks[::4, ::4] = True  # noise: 1200 parts, none a tenth of the mask
    assert highest_part_bottom(specks) == 117.0


def test_a_jump_is_measured_from_a_local_resting_line():
    # The object climbs a long slope for a minute (its box rises 120 px, three of its heights): measured from
    # the whole video's median, its last quarter would be one long jump; a local resting line sees one hop.
    times = _times(60.0)
    boxes = {}
    for t in times:
        lift = 70.0 * 4 * (t - 40.0) * (41.0 - t) if 40.0 < t < 41.0 else 0.0
        boxes[t] = _box(160.0, bottom=200.0 - 2.0 * t - lift)
    events = detect_events([_track(0, boxes)], times)
    assert _kinds(events) == ["jump"]
    assert temporal_iou((events[0].start_s, events[0].end_s), (40.0, 41.0)) >= 0.5


def test_two_objects_walking_until_they_touch_meet_once():
    times = _times(14.0)
    standing = _track(3, {t: _box(60.0) for t in times})
    # The walker's left side reaches the stander's right side (x = 75) at 4 s, stays 3 s, walks off at 7 s.
    walker = _track(7, _walk(times, [(0.0, 250.0), (4.0, 90.0), (7.0, 90.0), (10.0, 290.0), (14.0, 290.0)]))
    meets = [e for e in detect_events([walker, standing], times) if e.kind == "meets"]
    assert len(meets) == 1
    meet = meets[0]
    assert (meet.object_id, meet.other_object_id) == (3, 7)
    # Touching within 2% of the width (6.4 px): from about 3.84 s to about 7.1 s.
    assert temporal_iou((meet.start_s, meet.end_s), (3.85, 7.1)) >= 0.85
    assert meet.score == 1.0


def test_boxes_grazing_in_and_out_of_contact_are_one_meeting_and_contact_from_the_start_is_none():
    times = _times(10.0)
    still = _track(0, {t: _box(100.0) for t in times})
    # Apart, then touching from 3 s to 7 s but for one sample at 5 s (8 px apart), then apart again.
    grazer = {t: _box(200.0 if t < 3.0 or t >= 7.0 else 130.0) for t in times}
    grazer[5.0] = _box(138.0)
    events = detect_events([still, _track(1, grazer)], times)
    assert [(round(e.start_s, 3), round(e.end_s, 3)) for e in events if e.kind == "meets"] == [(2.875, 6.875)]
    # Two objects side by side from the first frame to the last never met in view.
    side_by_side = detect_events([still, _track(1, {t: _box(130.0) for t in times})], times)
    assert "meets" not in _kinds(side_by_side)


def test_an_object_hidden_mid_frame_for_two_seconds_disappears_and_appears():
    times = _times(12.0)
    boxes = _walk(times, [(0.0, 60.0), (12.0, 260.0)])
    hidden = [t for t in times if 4.0 < t < 6.0]  # behind an occluder from 4.25 s to 5.75 s
    for t in hidden:
        del boxes[t]
    events = detect_events([_track(0, boxes)], times)
    assert _kinds(events) == ["disappears", "appears"]
    gone, back = events
    assert (gone.start_s, gone.end_s) == (4.0, 4.25)
    assert (back.start_s, back.end_s) == (5.75, 6.0)
    assert gone.evidence_s[-1] == 4.25 and back.evidence_s[0] == 5.75


def test_first_sighting_mid_frame_after_the_start_is_an_appearance():
    times = _times(8.0)
    track = _track(0, {t: _box(160.0) for t in times if t >= 3.0})
    events = detect_events([track], times)
    assert _kinds(events) == ["appears"]
    assert (events[0].start_s, events[0].end_s) == (2.75, 3.0)


def test_one_missed_sample_is_flicker_not_a_disappearance():
    times = _times(10.0)
    boxes = _walk(times, [(0.0, 60.0), (10.0, 260.0)])
    del boxes[4.0]
    del boxes[7.5], boxes[7.75]  # two samples: half a second at 4 fps, still flicker
    del boxes[0.0]  # the very first sample: it was there all along
    assert detect_events([_track(0, boxes)], times) == []
    # Three missed samples (0.75 s) are an absence.
    del boxes[2.0], boxes[2.25], boxes[2.5]
    assert _kinds(detect_events([_track(0, boxes)], times)) == ["disappears", "appears"]


def test_a_still_object_with_jittery_boxes_has_no_events():
    times = _times(30.0)
    rng = np.random.default_rng(0)
    boxes = {t: tuple(np.array(_box(160.0)) + rng.uniform(-2.0, 2.0, 4)) for t in times}
    assert detect_events([_track(0, boxes)], times) == []
    # The same at 2 fps, and a small object (12 px tall) in a corner-free spot.
    times_2fps = _times(30.0, fps=2.0)
    small = {t: tuple(np.array(_box(100.0, width=10.0, height=12.0)) + rng.uniform(-2.0, 2.0, 4)) for t in times_2fps}
    assert detect_events([_track(0, small)], times_2fps) == []


def test_an_object_present_the_whole_video_neither_enters_nor_leaves():
    times = _times(20.0)
    # Walks to the left edge (box touching it) and back, never out of view.
    track = _track(0, _walk(times, [(0.0, 160.0), (6.0, 15.0), (8.0, 15.0), (14.0, 200.0), (20.0, 200.0)]))
    kinds = _kinds(detect_events([track], times))
    assert not {"enters", "leaves", "appears", "disappears"} & set(kinds)


def _clipped(box: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """The visible part of a box in the frame, None when wholly outside."""
    x0, y0, x1, y1 = max(box[0], 0.0), box[1], min(box[2], FRAME[1]), box[3]
    return (x0, y0, x1, y1) if x1 > x0 else None


def test_walking_out_through_an_edge_and_back_leaves_and_enters():
    times = _times(14.0)
    # 30 px wide, 80 px/s: wholly inside until x centre 15 (at 3.44 s), wholly out past x -15 (3.81 s).
    keyframes = [(0.0, 200.0), (1.0, 200.0), (3.75, -20.0), (8.0, -20.0), (11.0, 220.0), (14.0, 220.0)]
    boxes = {}
    for t, b in _walk(times, keyframes).items():
        visible = _clipped(b)
        if visible is not None:
            boxes[t] = visible
    leave_s = (1.0 + (200.0 - 15.0) / 80.0, 1.0 + (200.0 + 15.0) / 80.0)
    enter_s = (8.0 + 5.0 / 80.0, 8.0 + 35.0 / 80.0)
    events = [e for e in detect_events([_track(0, boxes)], times) if e.kind in ("leaves", "enters")]
    assert _kinds(events) == ["leaves", "enters"]
    assert temporal_iou((events[0].start_s, events[0].end_s), leave_s) >= 0.7
    assert temporal_iou((events[1].start_s, events[1].end_s), enter_s) >= 0.7
    assert "left edge" in events[0].rule and events[0].score == 1.0


def _with_areas(boxes: dict[float, tuple], speck_times: set[float], speck: tuple[float, float, float, float]):
    """Points whose area is the box's, except at `speck_times`, where the tracker holds on to a few pixels."""
    points = [BoxPoint(time_s=t, box=b, area=(b[2] - b[0]) * (b[3] - b[1])) for t, b in boxes.items()]
    points += [BoxPoint(time_s=t, box=speck, area=4.0) for t in speck_times]
    return ObjectTrack(object_id=0, frame_size=FRAME, points=sorted(points, key=lambda p: p.time_s))


def test_specks_while_the_object_is_out_do_not_hide_its_leaving_and_coming_back():
    times = _times(14.0)
    keyframes = [(0.0, 200.0), (1.0, 200.0), (3.75, -20.0), (8.0, -20.0), (11.0, 220.0), (14.0, 220.0)]
    boxes = {t: v for t, b in _walk(times, keyframes).items() if (v := _clipped(b)) is not None}
    # While the object is out, the tracker keeps a few pixels mid-frame (a 2x2 speck of mask noise).
    out = {t for t in times if t not in boxes}
    track = _with_areas(boxes, out, (150.0, 150.0, 152.0, 152.0))
    kinds = _kinds([e for e in detect_events([track], times) if e.kind in ("leaves", "enters", "appears", "disappears")])
    assert kinds == ["leaves", "enters"]
    # Without areas the rule cannot tell a speck from the object: the track never goes absent, so no border event.
    blind = ObjectTrack(object_id=0, frame_size=FRAME, points=[p.model_copy(update={"area": None}) for p in track.points])
    assert not {"leaves", "enters"} & set(_kinds(detect_events([blind], times)))


YELLOW, RED = (97.1, -21.6, 94.5), (53.2, 80.1, 67.2)  # CIE Lab of sRGB yellow and red


def test_a_mask_slid_onto_a_neighbour_of_another_colour_does_not_hide_the_leaving():
    """A yellow ball walks out through the left edge and comes back; while it is out, its mask sits on a red box
    standing at that edge (what the demo model's tracker does, bench/README.md). By box and area alone the ball
    never left; the mask's colour says the samples on the box are no sighting of it. (The ball's usual colour is the
    local median: a neighbour holding the mask for most of +-5 s would become the usual one.)"""
    times = _times(14.0)
    keyframes = [(0.0, 200.0), (1.0, 200.0), (3.75, -20.0), (5.5, -20.0), (8.5, 220.0), (14.0, 220.0)]
    ball = {t: v for t, b in _walk(times, keyframes).items() if (v := _clipped(b)) is not None}
    red_box = (0.0, 150.0, 40.0, 200.0)
    points = [BoxPoint(time_s=t, box=b, area=(b[2] - b[0]) * (b[3] - b[1]), colour=YELLOW) for t, b in ball.items()]
    points += [BoxPoint(time_s=t, box=red_box, area=2000.0, colour=RED) for t in times if t not in ball]
    track = ObjectTrack(object_id=0, frame_size=FRAME, points=sorted(points, key=lambda p: p.time_s))
    border = ("leaves", "enters", "appears", "disappears")
    events = [e for e in detect_events([track], times) if e.kind in border]
    assert _kinds(events) == ["leaves", "enters"]
    assert _contains(events[0], 3.6) and _contains(events[1], 5.9)
    # Without colours the box at the edge is the ball: no border event at all.
    blind = track.model_copy(update={"points": [p.model_copy(update={"colour": None}) for p in track.points]})
    assert not set(border) & set(_kinds(detect_events([blind], times)))


def test_a_shadow_is_no_other_colour():
    """An object walking into shade keeps its hue and loses lightness (L 70 -> 35): still the same object, seen on
    every sample, so nothing disappears; lightness counts half in the distance (tools/mask_colour.py)."""
    times = _times(12.0)
    boxes = _walk(times, [(0.0, 60.0), (12.0, 260.0)])
    points = [BoxPoint(time_s=t, box=b, area=1200.0, colour=(70.0, 40.0, 30.0) if t < 6.0 else (35.0, 30.0, 22.0))
              for t, b in boxes.items()]
    kinds = _kinds(detect_events([ObjectTrack(object_id=0, frame_size=FRAME, points=points)], times))
    assert not {"appears", "disappears", "enters", "leaves"} & set(kinds)


def test_an_object_mostly_hidden_behind_another_colour_is_still_seen():
    """A yellow dog stands while a white one walks past in front of it: for a second its mask is a fifth of its size
    and half white. That is the dog partly hidden, not gone (nor a speck): nothing disappears."""
    times = _times(10.0)
    points = []
    for t in times:
        hidden = 4.0 <= t < 5.0
        points.append(BoxPoint(time_s=t, box=_box(160.0), area=20.0 if hidden else 100.0,
                               colour=(90.0, -3.0, 30.0) if hidden else YELLOW))
    track = ObjectTrack(object_id=0, frame_size=FRAME, points=points)
    assert not {"appears", "disappears"} & set(_kinds(detect_events([track], times)))


def test_a_mask_cut_by_the_border_is_small_and_still_a_sighting():
    times = _times(6.0)
    # Standing half out of the frame at the left edge: a small mask that is the object, not a speck.
    boxes = {t: (0.0, 160.0, 1.0 if t < 2.0 else 30.0, 200.0) for t in times}
    track = ObjectTrack(object_id=0, frame_size=FRAME, points=[
        BoxPoint(time_s=t, box=b, area=(b[2] - b[0]) * (b[3] - b[1])) for t, b in boxes.items()])
    assert not {"enters", "leaves", "appears", "disappears"} & set(_kinds(detect_events([track], times)))


def test_an_object_that_is_there_at_the_start_did_not_enter_nor_leave_at_the_end():
    times = _times(10.0)
    # Half out of the frame on the first sample, and half out again on the last.
    track = _track(0, {t: _clipped(b) for t, b in _walk(times, [(0.0, 5.0), (4.0, 160.0), (10.0, 310.0)]).items()})
    kinds = _kinds(detect_events([track], times))
    assert "enters" not in kinds and "leaves" not in kinds and "appears" not in kinds


@pytest.mark.parametrize("fps", [2.0, 4.0, 10.0])
def test_rules_hold_at_other_sampling_rates(fps):
    times = _times(20.0, fps=fps)
    track = _track(0, _walk(times, [(0.0, 60.0), (5.0, 260.0), (12.0, 260.0), (16.0, 100.0), (20.0, 100.0)]))
    events = detect_events([track], times)
    assert _kinds(events) == ["stops_moving", "starts_moving", "stops_moving"]
    assert _contains(events[0], 5.0) and _contains(events[1], 12.0) and _contains(events[2], 16.0)


def test_a_frame_stored_twice_counts_once():
    # Overlapping chunks decode the frames they share twice; the index may hold both boxes.
    times = _times(12.0)
    boxes = _walk(times, [(0.0, 40.0), (5.0, 240.0), (12.0, 240.0)])
    once = _track(0, boxes)
    twice = ObjectTrack(object_id=0, frame_size=FRAME,
                        points=sorted(once.points + [p for p in once.points if 4.0 <= p.time_s <= 6.0],
                                      key=lambda p: p.time_s))
    assert detect_events([twice], times) == detect_events([once], times)
    assert _kinds(detect_events([twice], times)) == ["stops_moving"]


def test_a_speck_far_from_the_object_does_not_move_its_crossing():
    """Masks as the tracker gives them: the object walks out through the left edge while a 2-pixel speck sits in
    the far corner of every mask. The stored box spans both; the rules read the box of the mask's sizeable parts,
    so the crossing is timed by the object's own width and speed."""
    from sa2va_engine.masklet import Masklet, TrackPoint
    from tools.mask_parts import mask_outline
    from tools.track_events import masklet_events

    times = _times(8.0)
    # 30 px wide, 80 px/s: wholly inside until x centre 15 (at 3.44 s), wholly out past x -15 (3.81 s).
    keyframes = [(0.0, 200.0), (1.0, 200.0), (3.75, -20.0), (8.0, -20.0)]
    points = []
    for t, box in _walk(times, keyframes).items():
        mask = np.zeros(FRAME, dtype=bool)
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        mask[y0:y1, max(x0, 0):max(x1, 0)] = True
        if mask.any():
            mask[5:7, 310:312] = True  # the speck
        points.append(TrackPoint.from_mask(t, mask, 0.9 if mask.any() else 0.1))
    masklet = Masklet(expression="the dog", points=points)
    seen = next(p for p in points if p.present)
    assert seen.box[2] == 312 and mask_outline(seen.mask.decode()).box[2] < 250
    events = [e for e in masklet_events(masklet) if e.kind not in STATE_KINDS]
    assert _kinds(events) == ["starts_moving", "leaves"]  # the speck's box would hide the start: its centre barely moves
    assert _contains(events[0], 1.0)
    assert temporal_iou((events[1].start_s, events[1].end_s), (1.0 + 185.0 / 80.0, 1.0 + 215.0 / 80.0)) >= 0.9


def test_a_masks_box_drops_its_specks_and_keeps_a_small_part_that_is_something():
    """A dog's mask (550 px of a 160 x 120 frame) with a sliver of the ball jumping beside it (40 px: under a tenth of
    the mask, the jump the rules must see) and a 2-pixel speck (no part of anything)."""
    from tools.mask_parts import mask_outline

    mask = np.zeros((120, 160), dtype=bool)
    mask[82:102, 60:88] = True  # the dog, 560 px
    mask[59:67, 31:36] = True  # the ball's sliver in the air, 40 px
    assert mask_outline(mask).box == (31, 59, 88, 102)
    mask[59:67, 31:36] = False
    mask[10:11, 150:152] = True  # a speck
    assert mask_outline(mask).box == (60, 82, 88, 102)
    assert mask_outline(mask).part_bottom == 102.0
    assert mask_outline(np.zeros((120, 160), dtype=bool)) is None
