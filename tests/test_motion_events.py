"""Jump spans read off a masklet, checked against the synthetic world's ground-truth hops."""

from __future__ import annotations

import numpy as np

from agent.demo_metrics import temporal_iou
from agent.motion_events import is_jump_predicate, jump_spans
from sa2va_engine.masklet import Masklet, TrackPoint
from sa2va_engine.synthetic_world import WorldConfig, generate_world

FPS = 4.0


def _truth_masklet(world, object_id, start_s=0.0, end_s=None) -> Masklet:
    end_s = world.config.duration_s if end_s is None else end_s
    points = []
    for i in range(world.n_frames):
        t = i / world.config.fps
        if start_s <= t < end_s:
            mask = world.masks(i).get(object_id, np.zeros((world.config.height, world.config.width), bool))
            points.append(TrackPoint.from_mask(t, mask, 1.0))
    return Masklet(expression="x", points=points)


def _worlds_with_jumps(n):
    config = WorldConfig(duration_s=8.0, fps=FPS)
    found = []
    seed = 500
    while len(found) < n:
        world = generate_world(seed, config)
        seed += 1
        jumpers = [o for o in world.objects if world.events_of(o.object_id, "jump")]
        if jumpers:
            found.append(world)
    return found


def test_spans_of_true_tracks_match_the_hops_and_grounded_objects_have_none():
    matched = hops = false_spans = 0
    for world in _worlds_with_jumps(6):
        for obj in world.objects:
            events = [(e.start_s, e.end_s) for e in world.events_of(obj.object_id, "jump")]
            spans = jump_spans(_truth_masklet(world, obj.object_id))
            hops += len(events)
            matched += sum(any(temporal_iou(s, e) >= 0.5 for s in spans) for e in events)
            false_spans += sum(not any(temporal_iou(s, e) > 0 for e in events) for s in spans)
    assert hops >= 6
    assert matched == hops
    assert false_spans == 0


def test_a_jump_cut_by_the_clip_edge_ends_at_the_edge():
    world = _worlds_with_jumps(1)[0]
    obj = next(o for o in world.objects if world.events_of(o.object_id, "jump"))
    hop = world.events_of(obj.object_id, "jump")[0]
    middle = (hop.start_s + hop.end_s) / 2
    before = jump_spans(_truth_masklet(world, obj.object_id, 0.0, middle))
    after = jump_spans(_truth_masklet(world, obj.object_id, middle, world.config.duration_s))
    assert before and before[-1][1] >= middle - 1 / FPS - 1e-9
    assert after and after[0][0] == np.ceil(middle * FPS) / FPS
    assert temporal_iou((before[-1][0], after[0][1]), (hop.start_s, hop.end_s)) >= 0.5


def test_jump_predicates():
    assert is_jump_predicate("jumps") and is_jump_predicate("is jumping over the fence") and is_jump_predicate("Hops")
    assert not is_jump_predicate("is parked") and not is_jump_predicate(None) and not is_jump_predicate("jumpsuit")


def _box_masklet(tops, bottoms, height=120, width=160, fps=FPS) -> Masklet:
    points = []
    for i, (top, bottom) in enumerate(zip(tops, bottoms)):
        mask = np.zeros((height, width), bool)
        mask[top:bottom, 40:60] = True
        points.append(TrackPoint.from_mask(i / fps, mask, 1.0))
    return Masklet(expression="x", points=points)


def test_a_mask_that_bleeds_into_the_ground_still_shows_the_jump():
    # The subject rises (its top edge) while its mask keeps reaching the ground line (its bottom).
    tops = [80, 80, 80, 62, 45, 42, 55, 80, 80, 80]
    spans = jump_spans(_box_masklet(tops, [100] * len(tops)))
    assert spans == [(2.5 / FPS, 6.5 / FPS)]


def test_an_occluded_lower_part_is_not_a_jump():
    bottoms = [100, 100, 100, 85, 82, 84, 100, 100]
    assert jump_spans(_box_masklet([80] * len(bottoms), bottoms)) == []


def test_carried_frames_that_sit_higher_than_key_frames_are_not_a_jump():
    # Key frames (every third) prompted, the rest carried by memory with masks reaching 11 px higher: on a
    # 120-px frame that is past the lift threshold, so measured from the lowest frame every carried frame
    # would read as airborne.
    tops = [91 if i % 3 == 0 else 80 for i in range(16)]
    assert jump_spans(_box_masklet(tops, [110] * 16)) == []
    # A real jump in the same track still shows.
    tops[7:11] = [60, 45, 48, 62]
    assert jump_spans(_box_masklet(tops, [110] * 16)) == [(6.5 / FPS, 10.5 / FPS)]


def test_one_low_frame_does_not_turn_the_rest_into_a_jump():
    tops = [80] * 12
    tops[5] = 95  # one frame whose mask lost its upper part
    assert jump_spans(_box_masklet(tops, [110] * 12)) == []
